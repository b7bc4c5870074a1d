import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from './db.js';
import { logger } from './logger.js';

export class RedisUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Cannot reach Redis at ${redactUrl(url)}: ${(cause as Error)?.message ?? cause}`);
  }
}

/**
 * A Redis client that reconnects by itself and logs its connection errors (an unhandled 'error'
 * event would otherwise be printed for every reconnection attempt while Redis is away).
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, { lazyConnect: false, enableReadyCheck: true, ...options });
  client.on('error', (err) => logger().warn({ err: err.message, redis: redactUrl(url) }, 'redis connection error'));
  return client;
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

/** Deletes every key under `prefix:` (SCAN, never KEYS: the server keeps answering others). */
export async function dropKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
