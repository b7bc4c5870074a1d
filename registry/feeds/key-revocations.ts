import type { Logger } from 'pino';
import { closeRedis, createRedis, type RedisClient, type RedisTarget } from '../../lib/redis.js';

/**
 * Announces revoked keys on a Redis channel (`<REDIS_KEY_PREFIX>:auth:revoked`, the key hash as
 * message) and listens for them, so that every gateway forgets a revoked key at once, whichever
 * process (a gateway, the CLI) revoked it. Connections are opened on first use.
 */
export class KeyRevocations {
  private publisher: RedisClient | null = null;
  private subscriber: RedisClient | null = null;

  constructor(
    private readonly redis: RedisTarget | string,
    keyPrefix: string,
    private readonly log: Logger,
  ) {
    this.channel = `${keyPrefix}:auth:revoked`;
  }

  private readonly channel: string;

  /** Tells every gateway that the key with this hash was revoked; a failure is logged, not thrown (the cache's time to live still applies). */
  async announce(hash: string): Promise<void> {
    try {
      this.publisher ??= createRedis(this.redis, { maxRetriesPerRequest: 1 });
      await this.publisher.publish(this.channel, hash);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not announce a key revocation: gateways drop the key when their cache entry expires (AUTH_KEY_CACHE_MS)');
    }
  }

  /** Calls `onRevoked` with the hash of every key revoked from now on; resolves once subscribed. */
  async listen(onRevoked: (hash: string) => void): Promise<void> {
    if (this.subscriber) return;
    const subscriber = (this.subscriber = createRedis(this.redis));
    subscriber.on('message', (channel: string, hash: string) => {
      if (channel === this.channel) onRevoked(hash);
    });
    await subscriber.subscribe(this.channel);
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].map((c) => c && closeRedis(c)));
    this.publisher = this.subscriber = null;
  }
}
