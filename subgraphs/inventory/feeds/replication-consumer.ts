import type { RedisClient } from '../../../lib/redis.js';
import { ZodError } from 'zod';
import { TOPICS } from '../../../contracts/events.js';
import { failureLogLevel } from '../../../lib/db.js';
import { logger } from '../../../lib/logger.js';
import { StreamConsumer, type TopicEntry } from '../../../lib/stream-consumer.js';
import type { ReplicaService } from '../services/replica.service.js';

/** The topics inventory keeps replicas of. */
const REPLICATED_TOPICS = [TOPICS.channel, TOPICS.setAside, TOPICS.location];
const READ_COUNT = 100;

export interface ReplicationConsumerOptions {
  /** A client of its own: XREADGROUP BLOCK holds the connection while it waits. */
  redis: RedisClient;
  replicas: ReplicaService;
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  /** Has the channels and locations subgraphs append a snapshot of every row (see republishAll). */
  resync: () => Promise<unknown>;
  /** An entry delivered this long ago and still not acknowledged is taken over and applied again. */
  claimIdleMs: number;
  group?: string;
  consumer?: string;
}

/**
 * Feeds inventory's replicas of channel rules, set-asides and location states from the `channel`, `set-aside` and `location`
 * streams through a consumer group (a new group asks for a resync, since it starts at the streams'
 * ends and the replica may be empty). Snapshots carry versions and the replica ignores any version
 * it already has, so redelivery, duplicates (the relay sends at least once) and reordering are
 * harmless and no (source, seq) bookkeeping is needed here.
 */
export class ReplicationConsumer {
  private readonly consumer: StreamConsumer;

  constructor(opts: ReplicationConsumerOptions) {
    const group = opts.group ?? 'inventory-replica';
    const log = logger().child({ component: 'replication-consumer', group });
    this.consumer = new StreamConsumer({
      redis: opts.redis,
      keyPrefix: opts.keyPrefix,
      topics: REPLICATED_TOPICS,
      group,
      ...(opts.consumer ? { consumer: opts.consumer } : {}),
      count: READ_COUNT,
      claimIdleMs: opts.claimIdleMs,
      onGroupCreated: opts.resync,
      log,
      // One entry at a time: an entry that fails stays pending without holding back the ones applied.
      handle: async (entries: TopicEntry[]) => {
        const applied: string[] = [];
        for (const { topic, id, entry } of entries) {
          const { source, seq, key, payload } = entry;
          try {
            const fresh = await opts.replicas.apply(topic, payload);
            log.debug({ topic, id, source, seq, key, applied: fresh }, 'replica event');
          } catch (err) {
            if (!(err instanceof ZodError)) {
              log[failureLogLevel(err)]({ err, topic, id, source, seq, key }, 'applying a replica event failed; it stays pending and will be retried');
              continue;
            }
            log.warn({ topic, id, source, seq, key, issues: err.issues }, 'skipping an event whose payload is not a snapshot');
          }
          applied.push(id);
        }
        return applied;
      },
    });
  }

  /**
   * Creates the consumer group where missing, asking for a resync when it does, then consumes in the background.
   * @throws when Redis is unreachable or the resync fails (the new groups are removed again, so the next start retries)
   */
  start(): Promise<void> {
    return this.consumer.start();
  }

  /** Finishes the entries in hand and stops reading. */
  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
