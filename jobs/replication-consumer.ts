import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z, ZodError } from 'zod';
import { eventKeys, parseStreamEntry, TOPICS } from '../lib/events.js';
import { logger } from '../lib/logger.js';
import type { ReplicaService } from '../subgraphs/inventory/replica.service.js';

/** The topics inventory keeps replicas of. */
const REPLICATED_TOPICS = [TOPICS.channel, TOPICS.location];
const READ_COUNT = 100;
/** How long one XREADGROUP waits for entries; also the longest stop() waits for it. */
const BLOCK_MS = 1000;
/** Pause after a failed read before trying again (Redis down). */
const RETRY_MS = 1000;

const entriesSchema = z.array(z.tuple([z.string(), z.array(z.string())]));
const readReplySchema = z.array(z.tuple([z.string(), entriesSchema])).nullable();
const claimReplySchema = z.tuple([z.string(), entriesSchema], z.unknown());

export interface ReplicationConsumerOptions {
  /** A client of its own: XREADGROUP BLOCK holds the connection while it waits. */
  redis: Redis;
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
 * Feeds inventory's replicas of channel rules and location states from the `channel` and `location`
 * streams through a consumer group, so several jobs processes share the work and an entry is only
 * acknowledged once applied. Entries of a consumer that died mid-apply stay pending and are claimed
 * by a live one after `claimIdleMs`. Snapshots carry versions and the replica ignores any version it
 * already has, so redelivery, duplicates (the relay sends at least once) and reordering are harmless
 * and no (source, seq) bookkeeping is needed here.
 */
export class ReplicationConsumer {
  private readonly log: Logger;
  private readonly group: string;
  private readonly consumer: string;
  private readonly topicByStream: Map<string, string>;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private nextClaimAt = 0;

  constructor(private readonly opts: ReplicationConsumerOptions) {
    this.group = opts.group ?? 'inventory-replica';
    this.consumer = opts.consumer ?? `${hostname()}:${process.pid}`;
    this.topicByStream = new Map(REPLICATED_TOPICS.map((t) => [eventKeys.stream(opts.keyPrefix, t), t]));
    this.log = logger().child({ component: 'replication-consumer', group: this.group, consumer: this.consumer });
  }

  /**
   * Creates the consumer group where missing (asking for a resync when it does, since the new group
   * starts at the streams' ends and the replica may be empty), then consumes in the background.
   * @throws when Redis is unreachable or the resync fails (the new groups are removed again, so the next start retries)
   */
  async start(): Promise<void> {
    if (this.loop) return;
    const created = await this.ensureGroups();
    if (created.length) {
      this.log.info({ streams: created }, 'consumer group created; asking for a resync of every snapshot');
      try {
        await this.opts.resync();
      } catch (err) {
        await Promise.all(created.map((stream) => this.opts.redis.xgroup('DESTROY', stream, this.group)));
        throw err;
      }
    }
    this.loop = this.run();
  }

  /** Finishes the entries in hand and stops reading. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  /** @returns the streams the group was created on */
  private async ensureGroups(): Promise<string[]> {
    const created: string[] = [];
    for (const stream of this.topicByStream.keys()) {
      try {
        // `$`: what is in the stream already is covered by the resync that follows a creation.
        await this.opts.redis.xgroup('CREATE', stream, this.group, '$', 'MKSTREAM');
        created.push(stream);
      } catch (err) {
        if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
      }
    }
    return created;
  }

  private async run(): Promise<void> {
    const streams = [...this.topicByStream.keys()];
    while (!this.stopping.signal.aborted) {
      try {
        if (Date.now() >= this.nextClaimAt) {
          for (const stream of streams) await this.claimStale(stream);
          this.nextClaimAt = Date.now() + this.opts.claimIdleMs;
        }
        const reply = readReplySchema.parse(
          await this.opts.redis.xreadgroup(
            'GROUP', this.group, this.consumer,
            'COUNT', READ_COUNT, 'BLOCK', BLOCK_MS,
            'STREAMS', ...streams, ...streams.map(() => '>'),
          ),
        );
        for (const [stream, entries] of reply ?? []) {
          for (const [id, fields] of entries) await this.handle(stream, id, fields);
        }
      } catch (err) {
        this.log.error({ err }, 'reading the replication streams failed');
        await sleep(RETRY_MS, undefined, { signal: this.stopping.signal }).catch(() => {});
      }
    }
  }

  /** Takes over and applies entries another consumer (or this one) was given but never acknowledged. */
  private async claimStale(stream: string): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = claimReplySchema.parse(
        await this.opts.redis.xautoclaim(stream, this.group, this.consumer, this.opts.claimIdleMs, cursor, 'COUNT', READ_COUNT),
      );
      if (entries.length) this.log.warn({ stream, count: entries.length }, 'retrying entries left unacknowledged');
      for (const [id, fields] of entries) await this.handle(stream, id, fields);
      cursor = next;
    } while (cursor !== '0-0' && !this.stopping.signal.aborted);
  }

  /**
   * Applies one entry and acknowledges it. An entry that can never apply (malformed, or a payload
   * that is not a snapshot) is logged and acknowledged; any other failure leaves it pending, to be
   * claimed and retried.
   */
  private async handle(stream: string, id: string, fields: string[]): Promise<void> {
    const topic = this.topicByStream.get(stream)!;
    const entry = parseStreamEntry(fields);
    if (!entry.success) {
      this.log.warn({ stream, id, issues: entry.error.issues }, 'skipping a malformed stream entry');
    } else {
      const { source, seq, key, payload } = entry.data;
      try {
        const applied = await this.opts.replicas.apply(topic, payload);
        this.log.debug({ topic, id, source, seq, key, applied }, 'replica event');
      } catch (err) {
        if (!(err instanceof ZodError)) {
          this.log.error({ err, stream, id, source, seq, key }, 'applying a replica event failed; it stays pending and will be retried');
          return;
        }
        this.log.warn({ stream, id, source, seq, key, issues: err.issues }, 'skipping an event whose payload is not a snapshot');
      }
    }
    await this.opts.redis.xack(stream, this.group, id);
  }
}
