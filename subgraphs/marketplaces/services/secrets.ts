import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const secretSchema = z.record(z.string(), z.string());
/** Re-read after this long, so a rotated secret is picked up without a restart. */
const TTL_MS = 30_000;

/** Why a connection's credentials cannot be used: no file, or a file that cannot be read as a secret. */
export const secretProblemCodeSchema = z.enum(['SECRET_MISSING', 'SECRET_UNREADABLE']);
export type SecretProblemCode = z.infer<typeof secretProblemCodeSchema>;

export class MissingSecretError extends Error {
  constructor(
    name: string,
    why: string,
    readonly code: SecretProblemCode,
  ) {
    super(`marketplace secret ${JSON.stringify(name)} unavailable: ${why}`);
    this.name = 'MissingSecretError';
  }
}

/**
 * Marketplace credentials by secret name: `<dir>/<name>.json`, a JSON object of strings (the
 * layout of a mounted Kubernetes or Docker secret). The database only ever holds the name.
 * Only readable secrets are cached: one that appears is found on the next read.
 */
export class SecretStore {
  private readonly cache = new Map<string, { value: Record<string, string>; until: number }>();

  constructor(private readonly dir: string) {}

  /** @throws MissingSecretError when the file is missing (SECRET_MISSING) or not a readable JSON object of strings (SECRET_UNREADABLE) */
  async get(name: string): Promise<Record<string, string>> {
    const cached = this.cache.get(name);
    if (cached && cached.until > Date.now()) return cached.value;
    let raw: string;
    try {
      raw = await readFile(join(this.dir, `${name}.json`), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new MissingSecretError(name, code ?? (err as Error).message, code === 'ENOENT' ? 'SECRET_MISSING' : 'SECRET_UNREADABLE');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new MissingSecretError(name, 'not JSON', 'SECRET_UNREADABLE');
    }
    const value = secretSchema.safeParse(parsed);
    if (!value.success) throw new MissingSecretError(name, 'not a JSON object of strings', 'SECRET_UNREADABLE');
    this.cache.set(name, { value: value.data, until: Date.now() + TTL_MS });
    return value.data;
  }
}
