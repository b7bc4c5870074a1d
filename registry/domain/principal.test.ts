import { describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthenticatedError } from '../../lib/errors.js';
import { authorize, OPERATOR, principalOf, requireAdmin, type Principal } from './principal.js';

const key = (scopes: string[], team: string | null = 'pricing'): Principal =>
  principalOf({ clientId: 'pricing-ci', scopes, kind: 'api-key', key: { id: 'k1', prefix: 'osk_AbCdEfGh' }, team });

describe('principalOf', () => {
  it('names an API key by team and prefix, a JWT by its client; admin is registry:admin', () => {
    expect(key(['registry:check:pricing'])).toEqual({
      name: 'pricing/osk_AbCdEfGh',
      clientId: 'pricing-ci',
      team: 'pricing',
      admin: false,
      scopes: ['registry:check:pricing'],
      tokenId: 'k1',
    });
    expect(key(['registry:admin'], null)).toMatchObject({ name: 'pricing-ci/osk_AbCdEfGh', team: 'pricing-ci', admin: true });
    expect(principalOf({ clientId: 'ci', scopes: ['registry:publish:*'], kind: 'jwt' })).toMatchObject({ name: 'ci', team: 'ci', admin: false, tokenId: null });
  });

  it('refuses an anonymous caller: the registry always requires credentials', () => {
    expect(() => principalOf({ clientId: null, scopes: ['registry:admin'], kind: 'anonymous' })).toThrow(UnauthenticatedError);
  });
});

describe('authorize', () => {
  it('maps an action to registry:<action lowercased>:<target>, with * for any target', () => {
    const p = key(['registry:publish:pricing', 'registry:check:*', 'registry:documents:web.storefront']);
    expect(() => authorize(p, 'PUBLISH', 'pricing')).not.toThrow();
    expect(() => authorize(p, 'CHECK', 'inventory')).not.toThrow();
    expect(() => authorize(p, 'DOCUMENTS', 'web.storefront')).not.toThrow();
    expect(() => authorize(p, 'PUBLISH', 'inventory')).toThrow(ForbiddenError);
    expect(() => authorize(p, 'APPROVE', 'pricing')).toThrow(/registry:approve:pricing/);
    expect(() => authorize(p, 'DOCUMENTS', 'pos')).toThrow(ForbiddenError);
    // Gateway scopes grant nothing in the registry.
    expect(() => authorize(key(['availability:read', 'admin']), 'CHECK', 'pricing')).toThrow(ForbiddenError);
  });

  it('lets registry:admin and the operator do everything', () => {
    for (const p of [key(['registry:admin']), OPERATOR]) {
      expect(() => authorize(p, 'APPROVE', 'inventory')).not.toThrow();
      expect(() => requireAdmin(p, 'manage webhooks')).not.toThrow();
    }
    expect(() => requireAdmin(key(['registry:publish:*']), 'manage webhooks')).toThrow(/registry:admin/);
  });
});
