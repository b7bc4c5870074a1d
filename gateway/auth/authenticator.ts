import { UnauthenticatedError } from '../../lib/errors.js';
import { isApiKey, type Caller, type Identity } from '../../contracts/identity.js';
import type { JwtVerifier } from './jwt.js';

/** The credentials of a request: its headers, or a graphql-ws connection_init payload. */
export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
}

/** A JWS compact serialisation: header.payload.signature, each base64url. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Where API keys are checked: the registry's key store (the one identity store), through its public interface. */
export interface ApiKeyStore {
  /** @throws UnauthenticatedError when the key is unknown, expired or revoked */
  authenticate(key: string): Promise<Identity>;
}

/** Turns credentials into a caller: an API key's or JWT's identity, or an anonymous caller with the public scopes. */
export class Authenticator {
  constructor(
    private readonly opts: { apiKeys: ApiKeyStore; jwt: JwtVerifier; publicScopes: string[] },
  ) {}

  get publicScopes(): readonly string[] {
    return this.opts.publicScopes;
  }

  /**
   * @throws UnauthenticatedError for malformed, unknown, expired or revoked credentials (never for none)
   */
  async identify(credentials: Credentials): Promise<Caller> {
    const { authorization, apiKey } = credentials;
    if (authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw new UnauthenticatedError('Malformed Authorization header: send "Authorization: Bearer <token>"', { reason: 'MALFORMED' });
      const token = match[1]!;
      // API keys may come as bearer tokens too; their prefix (osk_, or a migrated registry token's osr_) tells them from JWTs.
      if (isApiKey(token)) return this.opts.apiKeys.authenticate(token);
      if (!JWT_SHAPE.test(token)) {
        throw new UnauthenticatedError('The bearer token is neither an API key (osk_…) nor a JWT (three base64url parts separated by dots)', { reason: 'TOKEN_MALFORMED' });
      }
      return this.opts.jwt.verify(token);
    }
    if (apiKey) return this.opts.apiKeys.authenticate(apiKey.trim());
    return { clientId: null, scopes: [...this.opts.publicScopes], kind: 'anonymous' };
  }
}

/** The credentials in HTTP headers (one value each). */
export function credentialsFromHeaders(headers: Record<string, string | string[] | undefined>): Credentials {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? null;
  return { authorization: first(headers['authorization']), apiKey: first(headers['x-api-key']) };
}

/** The credentials in a connection_init payload: the same names as the HTTP headers, in any case. */
export function credentialsFromParams(params: Readonly<Record<string, unknown>>): Credentials {
  const lower = Object.fromEntries(Object.entries(params).map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? v : undefined]));
  return { authorization: lower['authorization'] ?? null, apiKey: lower['x-api-key'] ?? null };
}

export function isIdentity(caller: Caller | null): caller is Identity {
  return !!caller && caller.kind !== 'anonymous';
}
