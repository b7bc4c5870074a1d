import { describe, expect, it } from 'vitest';
import { UnauthenticatedError } from '../../lib/errors.js';
import { Authenticator, type ApiKeyStore } from './authenticator.js';
import { JwtVerifier } from './jwt.js';

/** Bearer tokens that are not API keys never reach the key store: it is not needed here. */
const noKeys = {} as ApiKeyStore;

async function refusal(authenticator: Authenticator, authorization: string): Promise<UnauthenticatedError> {
  const err = await authenticator.identify({ authorization }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UnauthenticatedError);
  return err as UnauthenticatedError;
}

describe('bearer tokens', () => {
  it('a token that is neither an API key nor a JWT says so, whether or not JWTs are accepted', async () => {
    for (const jwt of [new JwtVerifier({}), new JwtVerifier({ secret: 'a-secret-of-at-least-thirty-two-characters' })]) {
      const err = await refusal(new Authenticator({ apiKeys: noKeys, jwt, publicScopes: [] }), 'Bearer xyz');
      expect(err.message).toMatch(/neither an API key .* nor a JWT/);
      expect(err.details.reason).toBe('TOKEN_MALFORMED');
    }
  });

  it('a JWT where none are accepted says that JWTs are not accepted', async () => {
    const err = await refusal(new Authenticator({ apiKeys: noKeys, jwt: new JwtVerifier({}), publicScopes: [] }), 'Bearer aaa.bbb.ccc');
    expect(err.details.reason).toBe('JWT_DISABLED');
  });
});
