import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const secretSchema = z.record(z.string(), z.string());
/** Re-read after this long, so a rotated secret is picked up without a restart. */
const TTL_MS = 30_000;

export class MissingSecretError extends Error {
  constructor(name: string, why: string) {
    super(`marketplace secret ${JSON.stringify(name)} unavailable: ${why}`);
    this.name = 'MissingSecretError';
  }
}

/**
 * Marketplace credentials by secret name: `<dir>/<name>.json`, a JSON object of strings (the
 * layout of a mounted Kubernetes or Docker secret). The database only ever holds the name.
 */
export class SecretStore {
  private readonly cache = new Map<string, { value: Record<string, string>; until: number }>();

  constructor(private readonly dir: string) {}

  /** @throws MissingSecretError when the file is missing or not a JSON object of strings */
  async get(name: string): Promise<Record<string, string>> {
    const cached = this.cache.get(name);
    if (cached && cached.until > Date.now()) return cached.value;
    let raw: string;
    try {
      raw = await readFile(join(this.dir, `${name}.json`), 'utf8');
    } catch (err) {
      throw new MissingSecretError(name, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new MissingSecretError(name, 'not JSON');
    }
    const value = secretSchema.safeParse(parsed);
    if (!value.success) throw new MissingSecretError(name, 'not a JSON object of strings');
    this.cache.set(name, { value: value.data, until: Date.now() + TTL_MS });
    return value.data;
  }
}
