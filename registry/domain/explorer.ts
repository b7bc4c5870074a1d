import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  type DirectiveNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { removalDateOf } from './lint.js';

/**
 * The schema explorer's view of a supergraph: every client-facing type and field (the API schema)
 * with the subgraphs that own it (read from the supergraph's join directives), its description and
 * its deprecation with the removal date its reason gives (`Removal: YYYY-MM-DD`).
 */

export type ExplorerKind = 'OBJECT' | 'INTERFACE' | 'INPUT_OBJECT' | 'ENUM' | 'UNION' | 'SCALAR';

export interface ExplorerField {
  /** The field's (or enum value's) name. */
  name: string;
  /** `Type.field`: what usage is recorded under. */
  coordinate: string;
  /** Its type as SDL (`[StockLevel!]!`); null for an enum value. */
  type: string | null;
  description: string | null;
  /** The subgraphs that resolve it (or define it, for input fields and enum values). */
  subgraphs: string[];
  deprecationReason: string | null;
  removalDate: string | null;
}

export interface ExplorerType {
  name: string;
  kind: ExplorerKind;
  description: string | null;
  /** The subgraphs that define it. */
  subgraphs: string[];
  fields: ExplorerField[];
}

const argOf = (d: DirectiveNode, name: string) => d.arguments?.find((a) => a.name.value === name)?.value;
const enumArg = (d: DirectiveNode, name: string) => {
  const v = argOf(d, name);
  return v?.kind === Kind.ENUM ? v.value : undefined;
};
const isTrue = (d: DirectiveNode, name: string) => {
  const v = argOf(d, name);
  return v?.kind === Kind.BOOLEAN && v.value;
};

/** Type name → its subgraphs, and `Type.field` → the subgraphs that resolve it, from a supergraph's join directives. */
export function ownersOf(supergraphSdl: string): { types: Map<string, string[]>; fields: Map<string, string[]> } {
  const doc = parse(supergraphSdl);
  const graphs = new Map<string, string>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== 'join__Graph') continue;
    for (const value of def.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = directive && argOf(directive, 'name');
      if (name?.kind === Kind.STRING) graphs.set(value.name.value, name.value);
    }
  }
  const subgraphsOf = (directives: readonly DirectiveNode[]) => [
    ...new Set(directives.flatMap((d) => {
      const g = enumArg(d, 'graph');
      return g && graphs.has(g) ? [graphs.get(g)!] : [];
    })),
  ].sort();
  const types = new Map<string, string[]>();
  const fields = new Map<string, string[]>();
  for (const def of doc.definitions) {
    if (!('name' in def) || !def.name || !('directives' in def)) continue;
    const name = def.name.value;
    const typeGraphs = subgraphsOf((def.directives ?? []).filter((d) => d.name.value === 'join__type'));
    if (!typeGraphs.length) continue;
    types.set(name, typeGraphs);
    const members = 'fields' in def && def.fields ? def.fields : [];
    for (const field of members) {
      const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
      const resolving = joins.filter((d) => !isTrue(d, 'external') && !isTrue(d, 'usedOverridden'));
      // A field with no join__field is resolved by every subgraph that defines its type.
      fields.set(`${name}.${field.name.value}`, joins.length ? subgraphsOf(resolving) : typeGraphs);
    }
  }
  return { types, fields };
}

function kindOf(type: GraphQLNamedType): ExplorerKind {
  if (isObjectType(type)) return 'OBJECT';
  if (isInterfaceType(type)) return 'INTERFACE';
  if (isInputObjectType(type)) return 'INPUT_OBJECT';
  if (isEnumType(type)) return 'ENUM';
  if (isUnionType(type)) return 'UNION';
  if (!isScalarType(type)) throw new Error(`unknown kind of type ${(type as GraphQLNamedType).name}`);
  return 'SCALAR';
}

const BUILT_IN = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);

/** Every client-facing type of the API schema (built-in scalars and introspection types left out), by name. */
export function explorerTypes(supergraphSdl: string, apiSchema: GraphQLSchema): ExplorerType[] {
  const owners = ownersOf(supergraphSdl);
  const deprecation = (reason: string | null | undefined) => ({ deprecationReason: reason ?? null, removalDate: reason ? removalDateOf(reason) : null });
  return Object.values(apiSchema.getTypeMap())
    .filter((t) => !t.name.startsWith('__') && !BUILT_IN.has(t.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((type): ExplorerType => {
      const typeOwners = owners.types.get(type.name) ?? [];
      let fields: ExplorerField[] = [];
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        fields = Object.values(type.getFields()).map((f) => ({
          name: f.name,
          coordinate: `${type.name}.${f.name}`,
          type: String(f.type),
          description: f.description ?? null,
          subgraphs: owners.fields.get(`${type.name}.${f.name}`) ?? typeOwners,
          ...deprecation(f.deprecationReason),
        }));
      } else if (isEnumType(type)) {
        fields = type.getValues().map((v) => ({
          name: v.name,
          coordinate: `${type.name}.${v.name}`,
          type: null,
          description: v.description ?? null,
          subgraphs: typeOwners,
          ...deprecation(v.deprecationReason),
        }));
      }
      return { name: type.name, kind: kindOf(type), description: type.description ?? null, subgraphs: typeOwners, fields };
    });
}
