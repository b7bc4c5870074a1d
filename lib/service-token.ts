import { readFileSync } from 'node:fs';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTVerifyGetKey, type KeyObject } from 'jose';
import { z } from 'zod';
import type { Config } from './config.js';
import { CredentialCache } from './credential-cache.js';
import { UnauthenticatedError } from './errors.js';

/**
 * The tokens with which services prove who calls them. Every request the gateway sends a subgraph
 * (queries, `_entities`, subscriptions) carries one it signed, naming the caller's client and
 * scopes; services calling each other (orders → inventory, marketplace sync → inventory) sign as
 * themselves. A subgraph refuses a request without a valid one before executing anything.
 *
 * Tokens are EdDSA (Ed25519) JWTs with a key id: the first-party services share the private keys
 * (SERVICE_TOKEN_KEYS or SERVICE_TOKEN_KEYS_FILE, a JWK set); a partner's subgraph needs only the
 * public half, which the gateway serves at SERVICE_KEYS_PATH, so it can check our tokens but not
 * make them. The audience is the subgraph a token is for: one a subgraph received cannot be replayed
 * to another.
 */

/** The header that carries a service token (beside, never instead of, a caller's own credentials). */
export const SERVICE_TOKEN_HEADER = 'x-service-token';

/** Where the gateway serves the public keys, for partner subgraphs that want to check its tokens. */
export const SERVICE_KEYS_PATH = '/.well-known/omnistock-service-keys.json';

/** Who signs: the gateway for its callers, or a first-party service for itself. */
export type ServiceIssuer = 'gateway' | 'orders' | 'marketplaces' | 'registry' | 'jobs';
const ISSUERS: readonly ServiceIssuer[] = ['gateway', 'orders', 'marketplaces', 'registry', 'jobs'];

/** What a verified token says about the request it came with. */
export interface ServiceClaims {
  issuer: ServiceIssuer;
  /** The client the request is made for (recorded as the actor); null for an anonymous caller or a shared subscription. */
  clientId: string | null;
  scopes: string[];
  /** The gateway's caller had no credentials (AUTH_PUBLIC_SCOPES only). */
  anonymous: boolean;
}

const keySchema = z.looseObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().min(40),
  d: z.string().min(40).optional(),
  kid: z.string().min(1).max(100),
});
const keySetSchema = z.object({ keys: z.array(keySchema).min(1) }).refine((set) => set.keys[0]!.d, 'the first key signs, so it must hold its private part (d)');

/** A parsed key set: the first key signs, every key verifies (rotation: add a key, sign with it, then drop the old one). */
export interface ServiceKeySet {
  signing: JWK & { kid: string };
  /** The public halves, as a JWK set. */
  publicKeys: { keys: JWK[] };
}

/**
 * The key set from SERVICE_TOKEN_KEYS (a JWK set as JSON) or SERVICE_TOKEN_KEYS_FILE (a file holding one).
 * @throws Error naming what is missing or wrong
 */
export function readServiceKeys(settings: { keys?: string; file?: string }): ServiceKeySet {
  const source = settings.keys ? 'SERVICE_TOKEN_KEYS' : settings.file ? `SERVICE_TOKEN_KEYS_FILE (${settings.file})` : null;
  if (!source) {
    throw new Error(
      'No service token keys: set SERVICE_TOKEN_KEYS_FILE (or SERVICE_TOKEN_KEYS) to the JWK set every service shares; `npm run omnistock -- service-keys create --file <path>` makes one, and npm start makes its own',
    );
  }
  let parsed: z.infer<typeof keySetSchema>;
  try {
    parsed = keySetSchema.parse(JSON.parse(settings.keys ?? readFileSync(settings.file!, 'utf8')));
  } catch (err) {
    const why = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.') || 'key set'}: ${i.message}`).join('; ') : (err as Error).message;
    throw new Error(`${source} is not an Ed25519 JWK set: ${why}`);
  }
  return {
    signing: parsed.keys[0] as JWK & { kid: string },
    publicKeys: { keys: parsed.keys.map(({ d: _, ...pub }) => ({ ...pub, alg: 'EdDSA', use: 'sig' })) },
  };
}

/** A new Ed25519 key as a JWK with its private part, for `omnistock service-keys` and npm start. */
export async function newServiceKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA', use: 'sig' };
}

/** What a service token says; `expiresAt`: seconds since 1970, or a lifetime such as `60s`. */
export interface ServiceTokenClaims {
  issuer: string;
  /** The subgraph it is for (an array only for tools that call several). */
  audience: string | string[];
  clientId: string | null;
  scopes: readonly string[];
  anonymous?: boolean;
  expiresAt: number | string;
}

/** Signs one service token with the key set's signing key: the only place the token's shape is written. */
export async function signServiceToken(keys: ServiceKeySet, claims: ServiceTokenClaims, key?: CryptoKey | KeyObject | Uint8Array): Promise<string> {
  const jwt = new SignJWT({ scp: claims.scopes, ...(claims.anonymous ? { anon: true } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', kid: keys.signing.kid, typ: 'omnistock-service+jwt' })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setIssuedAt(typeof claims.expiresAt === 'number' ? Math.min(Math.floor(Date.now() / 1000), claims.expiresAt - 60) : undefined)
    .setExpirationTime(claims.expiresAt);
  if (claims.clientId) jwt.setSubject(claims.clientId);
  return jwt.sign(key ?? (await importJWK(keys.signing, 'EdDSA')));
}

/**
 * Signs service tokens for one issuer, each kept until half its lifetime has passed: the gateway
 * signs once per (subgraph, client, scopes) and that period, not once per request.
 */
export class ServiceTokenSigner {
  private key: Promise<CryptoKey | KeyObject | Uint8Array> | null = null;
  private readonly tokens: CredentialCache<string>;

  constructor(
    private readonly keys: ServiceKeySet,
    readonly issuer: ServiceIssuer,
    private readonly ttlSeconds: number,
  ) {
    this.tokens = new CredentialCache((ttlSeconds * 1000) / 2);
  }

  /** A token for `audience` (the subgraph called) on behalf of `clientId` with `scopes`. */
  async token(audience: string, who: { clientId: string | null; scopes: readonly string[]; anonymous?: boolean }): Promise<string> {
    const cacheKey = `${audience}\n${who.clientId ?? ''}\n${who.anonymous ? 1 : 0}\n${who.scopes.join(' ')}`;
    const cached = this.tokens.get(cacheKey);
    if (cached) return cached;
    this.key ??= importJWK(this.keys.signing, 'EdDSA');
    const token = await signServiceToken(this.keys, { issuer: this.issuer, audience, ...who, expiresAt: `${this.ttlSeconds}s` }, await this.key);
    this.tokens.set(cacheKey, token);
    return token;
  }
}

/** Checks service tokens for one audience (this subgraph); a token already checked costs a map lookup until it expires. */
export class ServiceTokenVerifier {
  private readonly getKey: JWTVerifyGetKey;
  private readonly verified = new CredentialCache<ServiceClaims>(3_600_000, 50_000);

  constructor(
    keys: ServiceKeySet,
    readonly audience: string,
  ) {
    this.getKey = createLocalJWKSet(keys.publicKeys);
  }

  /**
   * The claims of a token.
   * @throws UnauthenticatedError (reason SERVICE_TOKEN_MISSING or SERVICE_TOKEN_INVALID) for none, or one that is expired, for another audience, or not ours
   */
  async verify(token: string | undefined): Promise<ServiceClaims> {
    if (!token) {
      throw new UnauthenticatedError(`Only the gateway and Omnistock's services may call this subgraph: the request carries no ${SERVICE_TOKEN_HEADER}`, { reason: 'SERVICE_TOKEN_MISSING' });
    }
    const cached = this.verified.get(token);
    if (cached) return cached;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, { audience: this.audience, algorithms: ['EdDSA'], typ: 'omnistock-service+jwt', requiredClaims: ['exp', 'iss'], clockTolerance: 5 }));
    } catch (err) {
      throw new UnauthenticatedError(`The ${SERVICE_TOKEN_HEADER} is not valid for this subgraph: ${(err as Error).message}`, { reason: 'SERVICE_TOKEN_INVALID' });
    }
    if (!ISSUERS.includes(payload.iss as ServiceIssuer) || !Array.isArray(payload['scp']) || !payload['scp'].every((s) => typeof s === 'string')) {
      throw new UnauthenticatedError(`The ${SERVICE_TOKEN_HEADER} names no known issuer or scopes`, { reason: 'SERVICE_TOKEN_INVALID' });
    }
    const claims: ServiceClaims = {
      issuer: payload.iss as ServiceIssuer,
      clientId: typeof payload.sub === 'string' && payload.sub ? payload.sub : null,
      scopes: payload['scp'] as string[],
      anonymous: payload['anon'] === true,
    };
    this.verified.set(token, claims, Date.now(), payload.exp! * 1000);
    return claims;
  }
}

/** A process's signers (one per issuer) and verifiers (one per audience), over one key set. */
export class ServiceAuth {
  private readonly signers = new Map<ServiceIssuer, ServiceTokenSigner>();
  private readonly verifiers = new Map<string, ServiceTokenVerifier>();

  constructor(
    readonly keys: ServiceKeySet,
    private readonly ttlSeconds: number,
  ) {}

  signer(issuer: ServiceIssuer): ServiceTokenSigner {
    let signer = this.signers.get(issuer);
    if (!signer) this.signers.set(issuer, (signer = new ServiceTokenSigner(this.keys, issuer, this.ttlSeconds)));
    return signer;
  }

  verifier(audience: string): ServiceTokenVerifier {
    let verifier = this.verifiers.get(audience);
    if (!verifier) this.verifiers.set(audience, (verifier = new ServiceTokenVerifier(this.keys, audience)));
    return verifier;
  }
}

const byConfig = new WeakMap<Config, ServiceAuth | null>();

/**
 * The configuration's service tokens (its key set read once); null under SERVICE_AUTH=off.
 * @throws Error when SERVICE_AUTH=enforce and no usable key set is configured
 */
export function serviceAuth(cfg: Config): ServiceAuth | null {
  if (!byConfig.has(cfg)) {
    byConfig.set(cfg, cfg.SERVICE_AUTH === 'off' ? null : new ServiceAuth(readServiceKeys({ keys: cfg.SERVICE_TOKEN_KEYS, file: cfg.SERVICE_TOKEN_KEYS_FILE }), cfg.SERVICE_TOKEN_TTL_S));
  }
  return byConfig.get(cfg)!;
}
