import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AuthPolicy, describeRequirement, missingScopes } from './authorization.js';

const SUPERGRAPH = `
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "authn", for: SECURITY)
{ query: Query mutation: Mutation }
type Query { open: Int stock: Stock @requiresScopes(scopes: [["availability:read"]]) me: String @authn node: Node }
type Mutation { receive: Int @requiresScopes(scopes: [["inventory:write"], ["orders:write", "inventory:read"]]) }
type Stock { qty: Int secret: Secret }
type Secret @requiresScopes(scopes: [["admin"]]) { x: Int }
interface Node { id: ID }
type A implements Node { id: ID @requiresScopes(scopes: [["a:read"]]) }
`;
const schema = buildSchema(`
type Query { open: Int stock: Stock me: String node: Node }
type Mutation { receive: Int }
type Stock { qty: Int secret: Secret }
type Secret { x: Int }
interface Node { id: ID }
type A implements Node { id: ID }
`);
const policy = AuthPolicy.fromSdl(SUPERGRAPH);
const anonymous = { kind: 'anonymous' as const, clientId: null, scopes: ['availability:read'] };
const client = (...scopes: string[]) => ({ kind: 'api-key' as const, clientId: 'c', scopes });
const denied = (query: string, caller: Parameters<AuthPolicy['check']>[3]) => policy.check(schema, parse(query), undefined, caller).map((d) => d.field);

describe('AuthPolicy', () => {
  it('allows unannotated fields to anyone and checks scopes and @authenticated (renamed by `as:`)', () => {
    expect(denied('{ open stock { qty } }', anonymous)).toEqual([]);
    expect(denied('{ me }', anonymous)).toEqual(['Query.me']);
    expect(denied('{ me }', client())).toEqual([]);
    expect(denied('{ stock { qty } }', client('orders:read'))).toEqual(['Query.stock']);
  });

  it('accepts any one of the scope sets, each set in full', () => {
    expect(denied('mutation { receive }', client('inventory:write'))).toEqual([]);
    expect(denied('mutation { receive }', client('orders:write', 'inventory:read'))).toEqual([]);
    expect(denied('mutation { receive }', client('orders:write'))).toEqual(['Mutation.receive']);
    const [requirement] = policy.requirements('Mutation', 'receive');
    expect(describeRequirement(requirement!)).toBe('inventory:write or orders:write and inventory:read');
    expect(missingScopes(client('orders:write'), requirement!)).toEqual(['inventory:write']);
  });

  it('applies a type requirement to fields returning it, through fragments and on interface implementations', () => {
    expect(denied('{ ...F } fragment F on Query { stock { secret { x } } }', client('availability:read'))).toEqual(['Stock.secret']);
    expect(denied('{ node { id } }', client())).toEqual(['A.id']);
    expect(denied('{ node { id } }', client('a:read'))).toEqual([]);
  });

});
