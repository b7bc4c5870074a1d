import { sleepUnlessAborted } from './abort.js';
import type { Result } from 'ioredis';
import { StopWhileAway, type RedisClient } from './redis.js';
import type { Logger } from 'pino';
import type { DataSource, QueryRunner } from 'typeorm';
import type { Config } from './config.js';
import { isDatabaseUnavailable, getNamedLock, releaseNamedLock } from './db.js';
import { eventKeys } from './event-stream.js';
import { logger } from './logger.js';
import { outboxStore, type OutboxRow } from './outbox.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    relayOutboxEvent(
      stream: string,
      liveChannel: string,
      minId: number,
      source: string,
      seq: number,
      key: string,
      payload: string,
      liveMessageHead: string,
    ): Result<string, Context>;
  }
}

/**
 * XADD then PUBLISH in one script, because the live message carries the id the stream just gave
 * the entry (a subscriber that falls behind resumes from the stream at that id). The live message
 * arrives without its closing brace and gets `,"streamId":"<id>"}` appended.
 */
const RELAY_EVENT_LUA = `
local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], '*', 'source', ARGV[3], 'seq', ARGV[4], 'key', ARGV[5], 'payload', ARGV[6])
redis.call('PUBLISH', ARGV[1], ARGV[7] .. ',"streamId":"' .. id .. '"}')
return id`;

/** Pause between a standby's attempts to take the lock, and after a failure. */
const LOCK_RETRY_MS = 1000;
/** How often the active relay deletes published rows older than the retention, and how many per statement. */
const CLEANUP_EVERY_MS = 60_000;
const CLEANUP_BATCH = 1000;

export interface OutboxRelayOptions {
  /** The subgraph whose database this relay drains; every event carries it as `source`. */
  source: string;
  dataSource: DataSource;
  /** A non-blocking client; several relays may share it. */
  redis: RedisClient;
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  /** Rows per read and per Redis transaction. */
  batchSize: number;
  /** Pause between reads that found nothing, unless a writer's nudge (wake()) ends it sooner. */
  pollMs: number;
  /** How long published events stay, in the streams and in the outbox table. */
  retentionMs: number;
}

/** The relay settings the configuration holds. */
export function relaySettings(cfg: Config): Pick<OutboxRelayOptions, 'keyPrefix' | 'batchSize' | 'pollMs' | 'retentionMs'> {
  return {
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    batchSize: cfg.OUTBOX_BATCH_SIZE,
    pollMs: cfg.OUTBOX_POLL_MS,
    retentionMs: cfg.OUTBOX_RETENTION_MS,
  };
}

/**
 * Publishes one database's outbox to Redis: each row, in `seq` order, goes to its topic's stream and
 * live channel, then is marked published. A crash between the two steps means the batch is sent
 * again (at least once; consumers de-duplicate by source and seq), never lost.
 *
 * Only one relay per database is active: the one holding a MySQL named lock on a connection it keeps
 * open. Its reads and marks run on that same connection, so if the connection dies, the relay learns
 * it with its next statement, by which time the server has released the lock to a standby.
 *
 * Order is kept per key: the writers of one key serialise on its row lock, so its rows get
 * increasing seqs and are visible in that order. Across keys it is not: a transaction that took a
 * lower seq but commits later is published after higher ones. A consumer must therefore not use
 * the highest seq it has seen as a watermark; (source, seq) identifies an event, not a position.
 * A time is one: each read that leaves the outbox drained records when it began
 * (`eventKeys.drained`), set after the events it published, so whoever sees that time finds in the
 * streams every event committed before it.
 */
export class OutboxRelay {
  private readonly log: Logger;
  private readonly lockName: string;
  private readonly stopping = new AbortController();
  private readonly commands: StopWhileAway;
  /** The connection holding the lock; set exactly while this relay is the active one. */
  private lockRunner: QueryRunner | undefined;
  /** Set while its database is unreachable: the outage is logged once, not on every retry. */
  private databaseUnreachable = false;
  private loop: Promise<void> | undefined;
  private nextCleanupAt = 0;
  /** Ends the current pause between reads (wake()); null while not pausing. */
  private waking: AbortController | null = null;
  /** A nudge came while it was reading or publishing: read again at once. */
  private woken = false;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.log = logger().child({ component: 'outbox-relay', source: opts.source });
    this.lockName = relayLockName(opts.dataSource.driver.database ?? '');
    this.commands = new StopWhileAway(opts.redis);
    opts.redis.defineCommand('relayOutboxEvent', { numberOfKeys: 1, lua: RELAY_EVENT_LUA });
  }

  /** True while this instance holds the lock and publishes; false on a standby. */
  get active(): boolean {
    return this.lockRunner !== undefined;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * A writer committed outbox rows (its nudge, lib/outbox.ts's nudgeRelayOnCommit): the active
   * relay reads at once rather than at the end of its pause. A standby ignores it.
   */
  wake(): void {
    this.woken = true;
    this.waking?.abort();
  }

  /** Lets the current batch finish (unless Redis is away: StopWhileAway), releases the lock and the connection. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.commands.stopping(this.loop);
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        if (!this.lockRunner && !(await this.tryBecomeActive())) {
          this.markReachable();
          await this.pause(LOCK_RETRY_MS);
          continue;
        }
        await this.cleanUpWhenDue(this.lockRunner!);
        // A nudge from now on may be for rows this read does not see: the pause after it then ends at once.
        this.woken = false;
        const published = await this.publishBatch(this.lockRunner!);
        this.markReachable();
        if (published === 0) await this.pause(this.opts.pollMs, true);
      } catch (err) {
        // Given up at a stop: the batch stays unpublished in the outbox, for the next relay.
        if (this.commands.abandoned) break;
        if (!isDatabaseUnavailable(err)) this.log.error({ err }, 'outbox relay failed; standing down');
        else if (!this.databaseUnreachable) this.log.warn({ err }, 'outbox relay database unreachable; standing down and retrying every second');
        this.databaseUnreachable = isDatabaseUnavailable(err);
        await this.standDown();
        await this.pause(LOCK_RETRY_MS);
      }
    }
    await this.standDown();
  }

  private markReachable(): void {
    if (this.databaseUnreachable) this.log.info('outbox relay database reachable again');
    this.databaseUnreachable = false;
  }

  private async tryBecomeActive(): Promise<boolean> {
    const runner = this.opts.dataSource.createQueryRunner();
    await runner.connect();
    try {
      if (await getNamedLock(runner.manager, this.lockName, 0)) {
        this.lockRunner = runner;
        this.nextCleanupAt = 0;
        this.log.info({ lock: this.lockName }, 'outbox relay active');
        return true;
      }
    } catch (err) {
      await runner.release();
      throw err;
    }
    await runner.release();
    return false;
  }

  /** Gives up the lock; if the connection is already gone, so is the lock. */
  private async standDown(): Promise<void> {
    const runner = this.lockRunner;
    if (!runner) return;
    this.lockRunner = undefined;
    try {
      await releaseNamedLock(runner.manager, this.lockName);
    } catch (err) {
      this.log.warn({ err }, 'could not release the relay lock; its connection is gone, and the lock with it');
    } finally {
      await runner.release();
    }
  }

  /** @returns how many rows it published */
  private async publishBatch(runner: QueryRunner): Promise<number> {
    // Every row committed before the read is among those it returns, unless the batch is full.
    const readAt = Date.now();
    const rows = await outboxStore.unpublished(runner.manager, this.opts.batchSize);
    const drained = rows.length < this.opts.batchSize;
    const drainedKey = eventKeys.drained(this.opts.keyPrefix, this.opts.source);
    if (!rows.length) {
      await this.commands.command(this.opts.redis.set(drainedKey, String(readAt), 'PX', this.opts.retentionMs));
      return 0;
    }
    const minId = Date.now() - this.opts.retentionMs;
    const tx = this.opts.redis.multi();
    for (const row of rows) {
      tx.relayOutboxEvent(
        eventKeys.stream(this.opts.keyPrefix, row.topic),
        eventKeys.live(this.opts.keyPrefix, row.topic),
        minId,
        this.opts.source,
        row.seq,
        row.key,
        row.payload,
        this.liveMessageHead(row),
      );
    }
    // After the events, in the same transaction: a reader that sees it finds them in the streams.
    if (drained) tx.set(drainedKey, String(readAt), 'PX', this.opts.retentionMs);
    const results = await this.commands.command(tx.exec());
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis discarded the relay transaction');
    await outboxStore.markPublished(runner.manager, rows.map((r) => r.seq), new Date());
    this.log.debug({ count: rows.length, lastSeq: rows.at(-1)!.seq }, 'published outbox rows');
    return rows.length;
  }

  /** `{source, seq, key, payload` of the live message; the payload is spliced in as the JSON text it is stored as. */
  private liveMessageHead(row: OutboxRow): string {
    return `${JSON.stringify({ source: this.opts.source, seq: row.seq, key: row.key }).slice(0, -1)},"payload":${row.payload}`;
  }

  /** One bounded DELETE per loop turn until the backlog is gone, so clean-up never holds publishing up for long. */
  private async cleanUpWhenDue(runner: QueryRunner): Promise<void> {
    if (Date.now() < this.nextCleanupAt) return;
    const before = new Date(Date.now() - this.opts.retentionMs);
    const deleted = await outboxStore.deletePublishedBefore(runner.manager, before, CLEANUP_BATCH);
    if (deleted) this.log.debug({ deleted }, 'deleted published outbox rows past retention');
    if (deleted < CLEANUP_BATCH) this.nextCleanupAt = Date.now() + CLEANUP_EVERY_MS;
  }

  /**
   * Sleeps, waking early when stop() is called, and when `wakeable`, at a nudge (one that came since
   * the last read began included: run() clears it before each read).
   */
  private async pause(ms: number, wakeable = false): Promise<void> {
    if (wakeable && this.woken) return;
    this.waking = wakeable ? new AbortController() : null;
    // Tens of pauses a second, each on `stopping`, which lives as long as the relay (lib/abort.ts).
    await sleepUnlessAborted(ms, this.waking ? [this.stopping.signal, this.waking.signal] : [this.stopping.signal]);
    this.waking = null;
  }
}

/** Named locks are server-wide: one name per database lets the relays of several databases run side by side. */
export function relayLockName(database: string): string {
  return `omnistock_outbox_relay:${database}`;
}
