import { createHash } from 'node:crypto';
import { Kind, parse, type ConstDirectiveNode, type ConstValueNode } from 'graphql';

/**
 * Who resolves what in a supergraph, read from its join directives: the fields of root types and
 * entities, each with the subgraphs the query planner may send it to. A subgraph that starts
 * resolving a field another subgraph resolved (`@override`, or a `@shareable` copy on an entity)
 * takes over that field's requests: the callers' arguments and the answers they get.
 */

const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);

const arg = (d: ConstDirectiveNode, name: string): ConstValueNode | undefined => d.arguments?.find((a) => a.name.value === name)?.value;
const enumArg = (d: ConstDirectiveNode, name: string) => {
  const v = arg(d, name);
  return v?.kind === Kind.ENUM ? v.value : undefined;
};
const trueArg = (d: ConstDirectiveNode, name: string) => {
  const v = arg(d, name);
  return v?.kind === Kind.BOOLEAN && v.value;
};

/** Field coordinate (`Query.order`, `Order.total`) → the subgraphs resolving it, for root types and entities. */
export function fieldResolvers(supergraphSdl: string): Map<string, Set<string>> {
  const doc = parse(supergraphSdl);
  const graphs = new Map<string, string>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== 'join__Graph') continue;
    for (const value of def.values ?? []) {
      const name = value.directives?.find((d) => d.name.value === 'join__graph');
      const subgraph = name && arg(name, 'name');
      if (subgraph?.kind === Kind.STRING) graphs.set(value.name.value, subgraph.value);
    }
  }
  const out = new Map<string, Set<string>>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeDirectives = (def.directives ?? []).filter((d) => d.name.value === 'join__type');
    const entity = typeDirectives.some((d) => arg(d, 'key') !== undefined);
    if (!ROOTS.has(def.name.value) && !entity) continue;
    const typeGraphs = typeDirectives.map((d) => enumArg(d, 'graph')).filter((g): g is string => !!g);
    // Key fields identify the entity in every subgraph that defines it: resolving them takes nothing.
    const keyFields = new Set(typeDirectives.flatMap((d) => {
      const key = arg(d, 'key');
      return key?.kind === Kind.STRING ? topLevelFields(key.value) : [];
    }));
    for (const field of def.fields ?? []) {
      if (keyFields.has(field.name.value)) continue;
      const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
      const resolving = joins.length
        ? joins.filter((d) => !trueArg(d, 'external') && !trueArg(d, 'usedOverridden')).map((d) => enumArg(d, 'graph'))
        : typeGraphs;
      const subgraphs = new Set(resolving.flatMap((g) => (g && graphs.has(g) ? [graphs.get(g)!] : [])));
      if (subgraphs.size) out.set(`${def.name.value}.${field.name.value}`, subgraphs);
    }
  }
  return out;
}

/** The top-level field names of a key's field set (`id`, `sku location { id }` → sku, location). */
function topLevelFields(fieldSet: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (const token of fieldSet.match(/[A-Za-z_][A-Za-z0-9_]*|[{}]/g) ?? []) {
    if (token === '{') depth++;
    else if (token === '}') depth--;
    else if (depth === 0) names.push(token);
  }
  return names;
}

/** A field a proposal would take from the subgraphs that resolve it today. */
export interface Takeover {
  /** What an approval names. */
  fingerprint: string;
  coordinate: string;
  /** The subgraphs that resolve it today. */
  from: string[];
  /** An approval of the owning team lets it through. */
  approved: boolean;
}

/**
 * The fields `subgraph` resolves in `after` that only other subgraphs resolved in `before`, where
 * one of those belongs to another team (a team moving its own fields between its subgraphs needs
 * nobody's approval).
 */
export function takeoversOf(
  before: Map<string, Set<string>>,
  after: Map<string, Set<string>>,
  subgraph: string,
  teamOf: (subgraph: string) => string | null,
): Omit<Takeover, 'approved'>[] {
  const team = teamOf(subgraph);
  const out: Omit<Takeover, 'approved'>[] = [];
  for (const [coordinate, resolvers] of after) {
    if (!resolvers.has(subgraph)) continue;
    const was = before.get(coordinate);
    if (!was?.size || was.has(subgraph)) continue;
    const from = [...was].sort();
    if (team !== null && from.every((s) => teamOf(s) === team)) continue;
    const fingerprint = createHash('sha256').update(`TAKEOVER\n${subgraph}\n${coordinate}\n${from.join(',')}`).digest('hex').slice(0, 16);
    out.push({ fingerprint, coordinate, from });
  }
  return out.sort((a, b) => a.coordinate.localeCompare(b.coordinate));
}
