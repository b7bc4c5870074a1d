import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError } from '../../lib/errors.js';
import type { Identity } from '../../contracts/identity.js';
import type { CredentialCache } from '../../lib/credential-cache.js';

export interface JwtSettings {
  /** HS256 shared secret; HS256 tokens are refused without it. */
  secret?: string;
  /** JWKS URL for RS256/ES256 tokens; those are refused without it. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Longest lifetime a token may have (`exp` after `iat`, or after now without `iat`), in seconds. */
  maxLifetimeS?: number;
}

const ASYMMETRIC = ['RS256', 'ES256'];

/** Verifies JWTs with jose: HS256 with the configured secret, RS256/ES256 against the JWKS (fetched and cached by jose). */
export class JwtVerifier {
  private readonly getKey: JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(
    private readonly settings: JwtSettings,
    /** Identities of tokens verified lately, each until the token expires at the latest. */
    private readonly cache?: CredentialCache<Identity>,
  ) {
    const secret = settings.secret ? new TextEncoder().encode(settings.secret) : null;
    const jwks = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : null;
    this.algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])];
    this.getKey = async (header, token) => {
      if (header.alg === 'HS256' && secret) return secret;
      if (jwks && ASYMMETRIC.includes(header.alg)) return jwks(header, token);
      throw new errors.JOSEAlgNotAllowed(`"${header.alg}" tokens are not accepted`);
    };
  }

  get enabled(): boolean {
    return this.algorithms.length > 0;
  }

  /**
   * The identity a JWT stands for: its client from `client_id`, `azp` or `sub`; its scopes from
   * `scope` (space-separated) or `scp` (a list or a space-separated string); the contract it sees
   * from `contract`.
   * @throws UnauthenticatedError when the token is malformed, badly signed, expired, not yet valid, or of another issuer or audience
   */
  async verify(token: string): Promise<Identity> {
    if (!this.enabled) throw new UnauthenticatedError('JWTs are not accepted by this gateway (no AUTH_JWT_SECRET or AUTH_JWKS_URL)', { reason: 'JWT_DISABLED' });
    const cached = this.cache?.get(token);
    if (cached) return cached;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        ...(this.settings.issuer ? { issuer: this.settings.issuer } : {}),
        ...(this.settings.audience ? { audience: this.settings.audience } : {}),
        // A token that never expires cannot be taken back: one without `exp` is refused.
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw jwtError(err);
    }
    const max = this.settings.maxLifetimeS;
    const lifetime = payload.exp! - (payload.iat ?? Math.floor(Date.now() / 1000));
    if (max !== undefined && lifetime > max) {
      throw new UnauthenticatedError(`The token lives ${lifetime} s; this gateway accepts at most ${max} s (AUTH_JWT_MAX_LIFETIME_S)`, { reason: 'JWT_LIFETIME_TOO_LONG' });
    }
    const clientId = [payload['client_id'], payload['azp'], payload.sub].find((v): v is string => typeof v === 'string' && v.length > 0);
    if (!clientId) throw new UnauthenticatedError('The token names no client (client_id, azp or sub)', { reason: 'JWT_NO_CLIENT' });
    const contract = payload['contract'];
    if (contract !== undefined && (typeof contract !== 'string' || !contract)) {
      throw new UnauthenticatedError('The token\'s contract claim must be a contract name', { reason: 'JWT_CLAIM_INVALID', claim: 'contract' });
    }
    const identity: Identity = { clientId, scopes: scopesOf(payload), kind: 'jwt', ...(contract ? { contract } : {}) };
    this.cache?.set(token, identity, Date.now(), payload.exp === undefined ? Infinity : payload.exp * 1000);
    return identity;
  }
}

function scopesOf(payload: JWTPayload): string[] {
  const raw = payload['scope'] ?? payload['scp'];
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw.filter((s): s is string => typeof s === 'string') : [];
  return [...new Set(list.filter(Boolean))];
}

function jwtError(err: unknown): UnauthenticatedError {
  if (err instanceof errors.JWTExpired) return new UnauthenticatedError('The token expired', { reason: 'JWT_EXPIRED' });
  if (err instanceof errors.JWTClaimValidationFailed) return new UnauthenticatedError(`The token was refused: ${err.message}`, { reason: 'JWT_CLAIM_INVALID', claim: err.claim });
  if (err instanceof errors.JWSSignatureVerificationFailed) return new UnauthenticatedError('The token signature is invalid', { reason: 'JWT_SIGNATURE_INVALID' });
  if (err instanceof errors.JOSEError) return new UnauthenticatedError(`The token was refused: ${err.message}`, { reason: err.code });
  return new UnauthenticatedError('The token was refused', { reason: 'JWT_INVALID' });
}
