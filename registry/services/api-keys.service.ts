import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { writeTransaction } from '../../lib/db.js';
import { BadUserInputError, NotFoundError, parseInput, UnauthenticatedError } from '../../lib/errors.js';
import { hashToken, newToken } from '../domain/principal.js';
import type { ApiKeyEntity } from '../data/api-key.entity.js';
import { apiKeyStore } from '../data/api-key.store.js';
import { API_KEY_PREFIX, type Identity } from '../../contracts/identity.js';
import type { CredentialCache } from '../../lib/credential-cache.js';
import type { KeyRevocations } from '../feeds/key-revocations.js';
import { contractStore } from '../data/contract.store.js';
import { contractNameSchema } from '../domain/contracts.js';

/**
 * A scope: `area`, `area:action` or `area:action:target`, e.g. `admin`, `availability:read`,
 * `registry:publish:pricing`, `registry:publish:*`; a target may be a client id (`registry:documents:web.storefront`).
 */
const scope = z.string().regex(/^[a-z][a-z0-9_-]*(:[a-z0-9_*-]+){0,2}(:[A-Za-z0-9._*-]+)?$/, 'like availability:read or registry:publish:pricing');

const createSchema = z.object({
  clientId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, . _ : - (at most 128)'),
  /** Owner of what the key publishes in the registry (a registry team name). */
  team: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, _ and -, starting with a letter; at most 64').nullish(),
  description: z.string().min(1).max(200).nullish(),
  /** The contract its caller sees (an existing one); none: the whole API schema. */
  contract: contractNameSchema.nullish(),
  scopes: z.array(scope).min(1, 'at least one scope').max(100),
  /** Milliseconds until it expires; null never. */
  expiresInMs: z.number().int().min(60_000).nullable(),
  createdBy: z.string().min(1).max(200),
});

export type CreateApiKeyInput = z.input<typeof createSchema>;

/** API key rows by key hash. */
export type ApiKeyCache = CredentialCache<ApiKeyEntity>;

export interface ApiKeyServiceOptions {
  /** Keys looked up recently; without it every authentication reads the database. */
  cache?: ApiKeyCache;
  /**
   * Hashes looked up recently and not found, kept apart from `cache`: a flood of made-up keys
   * evicts only its own entries, never a real key's (which would send every request to the database).
   */
  unknown?: CredentialCache<true>;
  /** Announces revocations to every gateway and, with a cache, drops the keys other processes revoke. */
  revocations?: KeyRevocations;
}

/** API keys of client applications: issued (shown once), listed, revoked, and checked on every request. */
export class ApiKeyService {
  constructor(
    private readonly ds: DataSource,
    private readonly opts: ApiKeyServiceOptions = {},
  ) {}

  /** Starts dropping the keys other processes revoke from the cache (resolves once listening). */
  async start(): Promise<void> {
    const { cache, revocations } = this.opts;
    if (cache && revocations) await revocations.listen((hash) => cache.drop(hash));
  }

  async close(): Promise<void> {
    await this.opts.revocations?.close();
  }

  /**
   * Issues a key; the key itself is returned once, only its sha256 is kept.
   * @throws BadUserInputError for an invalid client id, team, scope or expiry, or a contract the registry does not hold
   */
  async create(input: CreateApiKeyInput, now = new Date()): Promise<{ key: string; record: ApiKeyEntity }> {
    const parsed = parseInput(createSchema, input, 'API key');
    if (parsed.contract && !(await contractStore.contract(this.ds.manager, parsed.contract))) {
      throw new BadUserInputError(`No contract "${parsed.contract}" in the registry (registry contracts lists them)`, [{ path: 'contract', message: 'unknown contract' }]);
    }
    const { token, hash, prefix } = newToken(API_KEY_PREFIX);
    const record: ApiKeyEntity = {
      id: randomUUID(),
      clientId: parsed.clientId,
      team: parsed.team ?? null,
      contract: parsed.contract ?? null,
      scopes: [...new Set(parsed.scopes)].sort(),
      description: parsed.description ?? null,
      keyHash: hash,
      keyPrefix: prefix,
      expiresAt: parsed.expiresInMs === null ? null : new Date(now.getTime() + parsed.expiresInMs),
      revokedAt: null,
      createdBy: parsed.createdBy,
      createdAt: now,
      lastUsedAt: null,
    };
    await writeTransaction(this.ds, (tx) => apiKeyStore.insert(tx, record));
    return { key: token, record };
  }

  /** Every key, newest first (hashes stay out of it). */
  list(): Promise<ApiKeyEntity[]> {
    return apiKeyStore.list(this.ds.manager);
  }

  /**
   * Revokes a key at once, on every gateway (announced through Redis); revoking again changes nothing.
   * @throws NotFoundError when there is no such key
   */
  async revoke(id: string, now = new Date()): Promise<ApiKeyEntity> {
    const revoked = await writeTransaction(this.ds, async (tx) => {
      if (!(await apiKeyStore.byId(tx, id))) throw new NotFoundError('API key', id);
      await apiKeyStore.revoke(tx, id, now);
      return (await apiKeyStore.byId(tx, id))!;
    });
    this.opts.cache?.drop(revoked.keyHash);
    await this.opts.revocations?.announce(revoked.keyHash);
    return revoked;
  }

  /**
   * The identity an API key stands for: from the cache when it holds the key, else one indexed lookup
   * (which also records when the key was last used). A revocation takes effect on the next request
   * (see revoke); expiry is checked on every request.
   * @throws UnauthenticatedError when the key is unknown, expired or revoked
   */
  async authenticate(key: string, now = new Date()): Promise<Identity> {
    const hash = hashToken(key);
    const unknown = () => new UnauthenticatedError('Unknown API key', { reason: 'UNKNOWN_KEY' });
    if (this.opts.unknown?.get(hash, now.getTime())) throw unknown();
    let row: ApiKeyEntity | null | undefined = this.opts.cache?.get(hash, now.getTime());
    const cached = row !== undefined;
    if (!cached) {
      row = await apiKeyStore.byHash(this.ds.manager, hash);
      if (row) this.opts.cache?.set(hash, row, now.getTime());
      else this.opts.unknown?.set(hash, true, now.getTime());
    }
    if (!row) throw unknown();
    if (row.revokedAt) throw new UnauthenticatedError('This API key was revoked', { reason: 'REVOKED' });
    if (row.expiresAt && row.expiresAt <= now) throw new UnauthenticatedError(`This API key expired at ${row.expiresAt.toISOString()}`, { reason: 'EXPIRED' });
    // Bookkeeping only, once per cache lifetime of the key: a failed write must not fail the request.
    if (!cached) void apiKeyStore.touch(this.ds.manager, row.id, now).catch(() => {});
    return { clientId: row.clientId, scopes: row.scopes, kind: 'api-key', key: { id: row.id, prefix: row.keyPrefix }, team: row.team, contract: row.contract };
  }
}
