import { Queue } from 'bullmq';
import type { Config } from '../lib/config.js';
import { bullmqConnection, redisTarget } from '../lib/redis.js';
import { bullmqPrefix } from '../lib/redis-keys.js';

/**
 * A BullMQ queue of the stack's Redis as the services open it (a single server, or the cluster of
 * REDIS_CLUSTER_NODES with the hash-tagged prefix); close() also closes a cluster client it opened.
 */
export function openQueue(cfg: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_KEY_PREFIX'>, name: string): Queue {
  const { connection, close } = bullmqConnection(redisTarget(cfg));
  const queue = new Queue(name, { connection, prefix: bullmqPrefix(cfg.REDIS_KEY_PREFIX) });
  const closeQueue = queue.close.bind(queue);
  queue.close = async () => {
    await closeQueue();
    await close();
  };
  return queue;
}
