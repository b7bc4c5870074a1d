import { describe, expect, it } from 'vitest';
import { servableSupergraph } from './supergraph.js';

const SUPERGRAPH = `
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
{ query: Query }
type Query { stock: Int @requiresScopes(scopes: [["availability:read"]]) }
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
