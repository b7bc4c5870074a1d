import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from './db.js';

export class RedisUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Cannot reach Redis at ${redactUrl(url)}: ${(cause as Error)?.message ?? cause}`);
  }
}

/**
 * A Redis client. `maxRetriesPerRequest: null` is what BullMQ workers require; other users pass
 * their own options.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { lazyConnect: false, enableReadyCheck: true, ...options });
}

/** Pings Redis once with a short timeout and no retries; throws RedisUnreachableError. */
export async function checkRedis(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new RedisUnreachableError(url, err);
  } finally {
    client.disconnect();
  }
}
