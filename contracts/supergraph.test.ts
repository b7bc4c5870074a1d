import { describe, expect, it } from 'vitest';
import { servableSupergraph } from './supergraph.js';

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

describe('servableSupergraph', () => {
  it('drops only the enforced features\' `for: SECURITY`', () => {
    const out = servableSupergraph(SUPERGRAPH);
    expect(out).not.toContain('for: SECURITY');
    expect(out).toContain('@requiresScopes(scopes: [["availability:read"]])');
    const policyFeature = SUPERGRAPH.replace('requiresScopes/v0.1', 'policy/v0.1');
    expect(servableSupergraph(policyFeature)).toContain('for: SECURITY');
  });
});
