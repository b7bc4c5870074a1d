import { describe, expect, it } from 'vitest';
import { tokenScopes } from './1736000000000-unify-identity.js';

describe('the migration of registry tokens', () => {
  it('turns admin into registry:admin and actions × subgraphs into scopes', () => {
    expect(tokenScopes(true, ['CHECK'], ['pricing'])).toEqual(['registry:admin']);
    expect(tokenScopes(false, ['CHECK', 'PUBLISH'], ['pricing', '*'])).toEqual([
      'registry:check:*',
      'registry:check:pricing',
      'registry:publish:*',
      'registry:publish:pricing',
    ]);
  });
});
