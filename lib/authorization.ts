import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  Kind,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ConstDirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/** Whom a requirement is checked against: a caller with its scopes (`kind: 'anonymous'` without credentials). */
export interface ScopeHolder {
  kind: string;
  scopes: readonly string[];
}

/** What a field (or every field returning a type) demands: a caller with credentials, or one of the scope sets. */
export type Requirement = { kind: 'authenticated' } | { kind: 'scopes'; anyOf: string[][] };

/** A field the caller may not select, and why. */
export interface Denial {
  /** Schema coordinate, e.g. `Mutation.receiveStock`. */
  field: string;
  requirement: Requirement;
}

const AUTHENTICATED_SPEC = 'https://specs.apollo.dev/authenticated/';
const REQUIRES_SCOPES_SPEC = 'https://specs.apollo.dev/requiresScopes/';

/**
 * A schema's authorization: its @authenticated and @requiresScopes (under the names its @link gives
 * them), on fields and types. The gateway reads the supergraph's (composition carries the
 * subgraphs' into it), each subgraph its own, to check again what a service token allows. A field
 * without either is open to every caller, anonymous ones included.
 */
export class AuthPolicy {
  private constructor(
    private readonly fields: Map<string, Requirement[]>,
    private readonly types: Map<string, Requirement[]>,
  ) {}

  static fromSdl(sdl: string): AuthPolicy {
    const doc = parse(sdl);
    const names = directiveNames(doc);
    const fields = new Map<string, Requirement[]>();
    const types = new Map<string, Requirement[]>();
    const requirementsOf = (directives: readonly ConstDirectiveNode[] | undefined) =>
      (directives ?? []).flatMap((d): Requirement[] => {
        if (d.name.value === names.authenticated) return [{ kind: 'authenticated' }];
        if (d.name.value === names.requiresScopes) {
          const arg = d.arguments?.find((a) => a.name.value === 'scopes');
          return arg ? [{ kind: 'scopes', anyOf: scopeSets(arg.value) }] : [];
        }
        return [];
      });
    for (const def of doc.definitions) {
      if (!('name' in def) || !def.name || !('directives' in def)) continue;
      const typeName = def.name.value;
      const own = requirementsOf(def.directives as readonly ConstDirectiveNode[]);
      if (own.length && def.kind !== Kind.DIRECTIVE_DEFINITION) types.set(typeName, own);
      if ('fields' in def && def.fields) {
        for (const field of def.fields) {
          const reqs = requirementsOf(field.directives as readonly ConstDirectiveNode[]);
          if (reqs.length) fields.set(`${typeName}.${field.name.value}`, reqs);
        }
      }
    }
    return new AuthPolicy(fields, types);
  }

  /** The requirements of one field: its own and its return type's. */
  requirements(typeName: string, fieldName: string, returnType?: string): Requirement[] {
    return [...(this.fields.get(`${typeName}.${fieldName}`) ?? []), ...((returnType && this.types.get(returnType)) || [])];
  }

  /** Guarded fields per operation, by schema and document (Apollo Server hands the same DocumentNode for a known query). */
  private readonly guarded = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Denial[]>>>();

  /**
   * Every field of the operation (its fragments included) the caller may not select. Directives
   * such as @skip are not evaluated: a field that might run must be allowed.
   */
  check(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, caller: ScopeHolder): Denial[] {
    const denials = new Map<string, Denial>();
    for (const guard of this.guardedFields(schema, document, operationName)) {
      if (!denials.has(guard.field) && !satisfies(caller, guard.requirement)) denials.set(guard.field, guard);
    }
    return [...denials.values()];
  }

  /** Each requirement of each field the operation selects, in document order: walked once per (schema, document, operation). */
  private guardedFields(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): Denial[] {
    let bySchema = this.guarded.get(schema);
    if (!bySchema) this.guarded.set(schema, (bySchema = new WeakMap()));
    let byOperation = bySchema.get(document);
    if (!byOperation) bySchema.set(document, (byOperation = new Map()));
    const cached = byOperation.get(operationName ?? '');
    if (cached) return cached;
    const guarded: Denial[] = [];
    byOperation.set(operationName ?? '', guarded);
    const operation = getOperationAST(document, operationName);
    if (!operation) return guarded;
    const fragments = new Map(
      document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
    );
    const visited = new Set<string>();
    const pending: (typeof operation | FragmentDefinitionNode)[] = [operation];
    while (pending.length) {
      const node = pending.pop()!;
      const typeInfo = new TypeInfo(schema);
      visit(
        node,
        visitWithTypeInfo(typeInfo, {
          Field: () => {
            const parent = typeInfo.getParentType();
            const def = typeInfo.getFieldDef();
            if (!parent || !def) return;
            const returnType = getNamedType(def.type).name;
            // On an interface or union, what any implementation demands of the field applies.
            const owners = isAbstractType(parent) ? [parent.name, ...schema.getPossibleTypes(parent).map((t) => t.name)] : [parent.name];
            for (const owner of owners) {
              for (const requirement of this.requirements(owner, def.name, returnType)) guarded.push({ field: `${owner}.${def.name}`, requirement });
            }
          },
          FragmentSpread: (spread) => {
            const fragment = fragments.get(spread.name.value);
            if (fragment && !visited.has(fragment.name.value)) {
              visited.add(fragment.name.value);
              pending.push(fragment);
            }
          },
        }),
      );
    }
    return guarded;
  }
}

export function satisfies(caller: ScopeHolder, requirement: Requirement): boolean {
  if (requirement.kind === 'authenticated') return caller.kind !== 'anonymous';
  const held = new Set(caller.scopes);
  return requirement.anyOf.some((set) => set.every((s) => held.has(s)));
}

/** The scopes a caller lacks for a requirement: those of the alternative it is closest to. */
export function missingScopes(caller: ScopeHolder, requirement: Requirement): string[] {
  if (requirement.kind === 'authenticated') return [];
  const held = new Set(caller.scopes);
  const gaps = requirement.anyOf.map((set) => set.filter((s) => !held.has(s)));
  return gaps.sort((a, b) => a.length - b.length)[0] ?? [];
}

/** "inventory:write", or "inventory:write or orders:write", or "a and b or c". */
export function describeRequirement(requirement: Requirement): string {
  if (requirement.kind === 'authenticated') return 'an authenticated client';
  return requirement.anyOf.map((set) => set.join(' and ')).join(' or ');
}

/** The names the supergraph's @link gives the two directives (`as:` renames them; an import alias too). */
function directiveNames(doc: DocumentNode): { authenticated: string; requiresScopes: string } {
  const names = { authenticated: 'authenticated', requiresScopes: 'requiresScopes' };
  for (const def of doc.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const d of def.directives ?? []) {
      if (d.name.value !== 'link') continue;
      const url = d.arguments?.find((a) => a.name.value === 'url')?.value;
      const as = d.arguments?.find((a) => a.name.value === 'as')?.value;
      if (url?.kind !== Kind.STRING) continue;
      const alias = as?.kind === Kind.STRING ? as.value : undefined;
      if (url.value.startsWith(AUTHENTICATED_SPEC)) names.authenticated = alias ?? 'authenticated';
      if (url.value.startsWith(REQUIRES_SCOPES_SPEC)) names.requiresScopes = alias ?? 'requiresScopes';
    }
  }
  return names;
}

function scopeSets(value: ValueNode): string[][] {
  if (value.kind !== Kind.LIST) return [];
  return value.values.map((inner) =>
    inner.kind === Kind.LIST ? inner.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : inner.kind === Kind.STRING ? [inner.value] : [],
  );
}

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/**
 * Whether the operation (its fragments followed) selects `__schema` or `__type` anywhere, or with
 * `federation`, also `_service` (a subgraph's SDL).
 */
export function selectsIntrospection(document: DocumentNode, operationName: string | null | undefined, federation = false): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const ops = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
  if (!op) return false;
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode): boolean =>
    set.selections.some((s) => {
      if (s.kind === Kind.FIELD) return INTROSPECTION_FIELDS.has(s.name.value) || (federation && s.name.value === '_service') || (!!s.selectionSet && visit(s.selectionSet));
      if (s.kind === Kind.INLINE_FRAGMENT) return visit(s.selectionSet);
      const f = fragments.get(s.name.value);
      if (!f || seen.has(f.name.value)) return false;
      seen.add(f.name.value);
      return visit(f.selectionSet);
    });
  return visit(op.selectionSet);
}
