import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StopWhileAway, type RedisClient } from './redis.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { eventKeys, parseStreamEntry, type StreamEntry } from './event-stream.js';

/** How long one XREADGROUP waits for entries; also the longest stop() waits for it. */
const BLOCK_MS = 1000;
/** Pause after a failed read before trying again (Redis down). */
const RETRY_MS = 1000;

const entriesSchema = z.array(z.tuple([z.string(), z.array(z.string())]));
const readReplySchema = z.array(z.tuple([z.string(), entriesSchema])).nullable();
const claimReplySchema = z.tuple([z.string(), entriesSchema], z.unknown());

/** One well-formed entry of a topic's stream. */
export interface TopicEntry {
  topic: string;
  /** The stream id: the relay's publish order. */
  id: string;
  entry: StreamEntry;
}

export interface StreamConsumerOptions {
  /** A client of its own: XREADGROUP BLOCK holds the connection while it waits. */
  redis: RedisClient;
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  topics: readonly string[];
  group: string;
  consumer?: string;
  /** Entries per read. */
  count: number;
  /** An entry delivered this long ago and still not acknowledged is taken over and handled again. */
  claimIdleMs: number;
  /**
   * Handles entries in stream order and returns the ids to acknowledge; the others stay pending,
   * to be claimed and handled again. Throwing leaves them all pending.
   */
  handle(entries: TopicEntry[]): Promise<Iterable<string>>;
  /**
   * Called when the group had to be created (first start, or Redis lost it): the group starts at the
   * streams' ends, so whatever the consumer derives from the events must be rebuilt another way.
   */
  onGroupCreated(): Promise<unknown>;
  log: Logger;
}

/**
 * A consumer-group reader of the relay's topic streams: several processes share the work, an entry
 * is acknowledged only once handled, and entries of a consumer that died mid-handling are claimed by
 * a live one after `claimIdleMs`. Malformed entries are logged and acknowledged. When the group is
 * gone (Redis restarted without persistence) it is created again and `onGroupCreated` runs.
 */
export class StreamConsumer {
  readonly consumer: string;
  private readonly topicByStream: Map<string, string>;
  private readonly stopping = new AbortController();
  private readonly commands: StopWhileAway;
  private loop: Promise<void> | undefined;
  private nextClaimAt = 0;

  constructor(private readonly opts: StreamConsumerOptions) {
    this.consumer = opts.consumer ?? `${hostname()}:${process.pid}`;
    this.commands = new StopWhileAway(opts.redis);
    this.topicByStream = new Map(opts.topics.map((t) => [eventKeys.stream(opts.keyPrefix, t), t]));
  }

  /**
   * Creates the group where missing (running onGroupCreated when it does), then consumes in the background.
   * @throws when Redis is unreachable or onGroupCreated fails (the new groups are removed again, so the next start retries)
   */
  async start(): Promise<void> {
    if (this.loop) return;
    await this.ensureGroups();
    this.loop = this.run();
  }

  /**
   * Finishes the entries in hand and stops reading. While Redis is away (or once it goes away
   * meanwhile), the command the loop waits on is given up (StopWhileAway): what was read and not
   * acknowledged is delivered again (claimStale).
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.commands.stopping(this.loop);
  }

  private async ensureGroups(): Promise<void> {
    const created: string[] = [];
    for (const stream of this.topicByStream.keys()) {
      try {
        // `$`: what is in the stream already is covered by onGroupCreated.
        await this.opts.redis.xgroup('CREATE', stream, this.opts.group, '$', 'MKSTREAM');
        created.push(stream);
      } catch (err) {
        if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
      }
    }
    if (!created.length) return;
    this.opts.log.info({ streams: created, group: this.opts.group }, 'consumer group created; rebuilding what the events feed');
    try {
      await this.opts.onGroupCreated();
    } catch (err) {
      await Promise.all(created.map((stream) => this.opts.redis.xgroup('DESTROY', stream, this.opts.group)));
      throw err;
    }
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
          await this.commands.command(
            this.opts.redis.xreadgroup(
              'GROUP', this.opts.group, this.consumer,
              'COUNT', this.opts.count, 'BLOCK', BLOCK_MS,
              'STREAMS', ...streams, ...streams.map(() => '>'),
            ),
          ),
        );
        for (const [stream, entries] of reply ?? []) await this.handle(stream, entries);
      } catch (err) {
        if (this.commands.abandoned) return;
        if (String((err as Error).message).startsWith('NOGROUP')) {
          this.opts.log.warn({ group: this.opts.group }, 'consumer group gone (Redis lost its data?); creating it again');
          await this.ensureGroups().catch((e: unknown) => this.opts.log.error({ err: e }, 'recreating the consumer group failed'));
          continue;
        }
        this.opts.log.error({ err, group: this.opts.group }, 'reading the event streams failed');
        await sleep(RETRY_MS, undefined, { signal: this.stopping.signal }).catch(() => {});
      }
    }
  }

  /** Takes over and handles entries another consumer (or this one) was given but never acknowledged. */
  private async claimStale(stream: string): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = claimReplySchema.parse(
        await this.commands.command(this.opts.redis.xautoclaim(stream, this.opts.group, this.consumer, this.opts.claimIdleMs, cursor, 'COUNT', this.opts.count)),
      );
      if (entries.length) this.opts.log.warn({ stream, count: entries.length }, 'retrying entries left unacknowledged');
      await this.handle(stream, entries);
      cursor = next;
    } while (cursor !== '0-0' && !this.stopping.signal.aborted);
  }

  private async handle(stream: string, raw: [string, string[]][]): Promise<void> {
    if (!raw.length) return;
    const topic = this.topicByStream.get(stream)!;
    const malformed: string[] = [];
    const entries: TopicEntry[] = [];
    for (const [id, fields] of raw) {
      const parsed = parseStreamEntry(fields);
      if (parsed.success) entries.push({ topic, id, entry: parsed.data });
      else {
        this.opts.log.warn({ stream, id, issues: parsed.error.issues }, 'skipping a malformed stream entry');
        malformed.push(id);
      }
    }
    let handled: Iterable<string> = [];
    try {
      if (entries.length) handled = await this.opts.handle(entries);
    } catch (err) {
      this.opts.log.error({ err, stream, count: entries.length }, 'handling events failed; they stay pending and will be retried');
    }
    const ack = [...malformed, ...handled];
    if (ack.length) await this.commands.command(this.opts.redis.xack(stream, this.opts.group, ...ack));
  }
}
