import { findBinary, RedisServer } from '../scripts/local-services.js';
import { freePort } from './ports.js';

/**
 * A Redis server of a test's own (npm start's RedisServer, keeping nothing on disk), so that a test
 * can kill and restart it, losing every key, without disturbing any other test file.
 */
export class PrivateRedis extends RedisServer {
  static async create(): Promise<PrivateRedis> {
    const binary = findBinary(['redis-server']);
    if (!binary) throw new Error('no redis-server installed');
    const redis = new PrivateRedis(await freePort(), { binary });
    await redis.start();
    return redis;
  }

  /** SIGKILLs it: every key is gone. */
  override stop(): Promise<void> {
    return super.stop('SIGKILL');
  }
}
