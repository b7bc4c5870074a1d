import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Authenticator, type ApiKeyStore } from '../auth/authenticator.js';
import { AuthGuard } from '../auth/guard.js';
import { JwtVerifier } from '../auth/jwt.js';
import { opsRefusal } from './routes.js';

const log = pino({ level: 'silent' });
/** Keys named after their scopes: `osk_ops:read` holds ops:read. */
const apiKeys = { authenticate: async (key: string) => ({ clientId: 'desk', scopes: key.slice(4).split('+'), kind: 'api-key' as const }) } as ApiKeyStore;
const enforced = (publicScopes: string[] = []) =>
  new AuthGuard({ mode: 'enforce', authenticator: new Authenticator({ apiKeys, jwt: new JwtVerifier({}), publicScopes }) }, log);

describe('who may read the ops figures', () => {
  it('everyone with AUTH_MODE=off, like /graphql', async () => {
    expect(await opsRefusal(new AuthGuard({ mode: 'off' }, log), {})).toBeNull();
  });

  it('a caller with ops:read or admin', async () => {
    expect(await opsRefusal(enforced(), { 'x-api-key': 'osk_ops:read' })).toBeNull();
    expect(await opsRefusal(enforced(), { authorization: 'Bearer osk_admin' })).toBeNull();
    expect(await opsRefusal(enforced(['ops:read']), {})).toBeNull();
  });

  it('refuses anonymous callers with 401 and others without the scope with 403', async () => {
    expect(await opsRefusal(enforced(['availability:read']), {})).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', details: { reason: 'CREDENTIALS_REQUIRED' } });
    expect(await opsRefusal(enforced(), { 'x-api-key': 'osk_availability:read+inventory:read' })).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      details: { requiredScopes: ['ops:read', 'admin'] },
    });
    expect(await opsRefusal(enforced(), { authorization: 'Basic abc' })).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', details: { reason: 'MALFORMED' } });
  });
});
