import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { MarketplaceKind } from '../connectors/types.js';
import { bindingProblem } from '../domain/connection-rules.js';

const secretSchema = z.record(z.string(), z.string());
/** Re-read after this long, so a rotated secret is picked up without a restart. */
const TTL_MS = 30_000;

/**
 * Why a connection's pushes cannot go out: no secret file, a file that cannot be read as a secret,
 * a secret issued for another channel or account, or a base URL that may not receive credentials.
 */
export const connectionProblemCodeSchema = z.enum(['SECRET_MISSING', 'SECRET_UNREADABLE', 'SECRET_MISMATCH', 'BASE_URL_NOT_ALLOWED']);
export type ConnectionProblemCode = z.infer<typeof connectionProblemCodeSchema>;

export class UnusableConnectionError extends Error {
  constructor(
    message: string,
    readonly code: ConnectionProblemCode,
  ) {
    super(message);
    this.name = 'UnusableConnectionError';
  }
}

const unavailable = (name: string, why: string, code: ConnectionProblemCode) => new UnusableConnectionError(`marketplace secret ${JSON.stringify(name)} unavailable: ${why}`, code);

/**
 * Marketplace credentials by secret name: `<dir>/<name>.json`, a JSON object of strings (the
 * layout of a mounted Kubernetes or Docker secret). The database only ever holds the name.
 * Only readable secrets are cached: one that appears is found on the next read.
 */
export class SecretStore {
  private readonly cache = new Map<string, { value: Record<string, string>; until: number }>();

  constructor(private readonly dir: string) {}

  /**
   * The credentials of a connection: its secret, which must have been issued for its channel and
   * account (`kind`, `accountId`, `channel` in the secret).
   * @throws UnusableConnectionError SECRET_MISSING, SECRET_UNREADABLE, or SECRET_MISMATCH when issued for another
   */
  async forConnection(connection: { secretName: string; kind: MarketplaceKind; accountId: string; channelCode: string }): Promise<Record<string, string>> {
    const secret = await this.get(connection.secretName);
    const mismatch = bindingProblem(secret, connection);
    if (mismatch) throw unavailable(connection.secretName, `${mismatch}`, 'SECRET_MISMATCH');
    return secret;
  }

  /** @throws UnusableConnectionError when the file is missing (SECRET_MISSING) or not a readable JSON object of strings (SECRET_UNREADABLE) */
  async get(name: string): Promise<Record<string, string>> {
    const cached = this.cache.get(name);
    if (cached && cached.until > Date.now()) return cached.value;
    let raw: string;
    try {
      raw = await readFile(join(this.dir, `${name}.json`), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw unavailable(name, code ?? (err as Error).message, code === 'ENOENT' ? 'SECRET_MISSING' : 'SECRET_UNREADABLE');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw unavailable(name, 'not JSON', 'SECRET_UNREADABLE');
    }
    const value = secretSchema.safeParse(parsed);
    if (!value.success) throw unavailable(name, 'not a JSON object of strings', 'SECRET_UNREADABLE');
    this.cache.set(name, { value: value.data, until: Date.now() + TTL_MS });
    return value.data;
  }
}
