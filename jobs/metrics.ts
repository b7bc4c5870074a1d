import { Queue } from 'bullmq';
import type { RedisClient } from '../lib/redis.js';
import { bullmqPrefix } from '../lib/redis-keys.js';
import type { Logger } from 'pino';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { outboxStore } from '../lib/outbox.js';
import type { OversoldByCause } from '../subgraphs/marketplaces/services/intake.service.js';
import type { SyncSummary } from '../subgraphs/marketplaces/services/marketplace.service.js';

/** The BullMQ job states omnistock_queue_jobs reports. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;
type QueueState = (typeof QUEUE_STATES)[number];

export interface JobsMetricsOptions {
  /** The outbox databases the relays drain, by service. */
  outboxes: Record<string, DataSource>;
  /** Every BullMQ queue the jobs process owns, asked on each scrape (push queues come and go with accounts). */
  queueNames: () => string[];
  /** Per connected marketplace channel: its sync figures. */
  channelSummaries: () => Promise<{ channelId: string; summary: SyncSummary; oversold: OversoldByCause[] }[]>;
  /** A non-blocking connection the queue counts are read on (one for every queue). */
  redis: RedisClient;
  /** REDIS_KEY_PREFIX, BullMQ's key prefix. */
  prefix: string;
  log: Logger;
  /** How long one reading serves scrapes; default 2 s, so frequent scrapes do not hammer MySQL and Redis. */
  cacheMs?: number;
}

interface Snapshot {
  outbox: { service: string; backlog: number; lagSeconds: number }[];
  queues: { queue: string; counts: Record<QueueState, number> }[];
  channels: { channelId: string; summary: SyncSummary; oversold: OversoldByCause[] }[];
}

/**
 * The jobs process's metrics, read when scraped: outbox backlog and lag per service, BullMQ job
 * counts per queue and state, and marketplace sync figures per channel (from MarketplaceService's
 * summaries, the same figures the channel's `marketplaceSync` field shows). A reading is cached
 * for `cacheMs`; a part that cannot be read (MySQL or Redis away) is logged and left out of that
 * scrape, and /metrics still answers with the rest.
 */
export class JobsMetrics {
  private readonly queues = new Map<string, Queue>();
  private cached: { at: number; snapshot: Promise<Snapshot> } | null = null;
  private readonly metrics: Metric[];

  constructor(private readonly opts: JobsMetricsOptions) {
    const read = () => this.snapshot();
    this.metrics = [
      new Gauge({
        name: 'omnistock_outbox_backlog',
        help: 'Outbox rows not published yet, by service',
        labelNames: ['service'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const o of s.outbox) this.set({ service: o.service }, o.backlog);
        },
      }),
      new Gauge({
        name: 'omnistock_outbox_lag_seconds',
        help: 'Age of the oldest outbox row not published yet (0 when none waits), by service',
        labelNames: ['service'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const o of s.outbox) this.set({ service: o.service }, o.lagSeconds);
        },
      }),
      new Gauge({
        name: 'omnistock_queue_jobs',
        help: 'Jobs of each BullMQ queue the jobs process owns, by state',
        labelNames: ['queue', 'state'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const q of s.queues) for (const state of QUEUE_STATES) this.set({ queue: q.queue, state }, q.counts[state]);
        },
      }),
      new Gauge({
        name: 'omnistock_marketplace_backlog',
        help: 'SKUs of a marketplace channel waiting for a push',
        labelNames: ['channel'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const c of s.channels) this.set({ channel: c.channelId }, c.summary.backlog);
        },
      }),
      new Gauge({
        name: 'omnistock_marketplace_lag_seconds',
        help: "95th percentile of a marketplace channel's push lag (stock change to accepted push) over the pushes of the last 15 minutes; absent without pushes",
        labelNames: ['channel'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const c of s.channels) if (c.summary.lagP95Ms !== null) this.set({ channel: c.channelId }, c.summary.lagP95Ms / 1000);
        },
      }),
      new Gauge({
        name: 'omnistock_marketplace_dead_letters',
        help: 'Open (not replayed) dead letters of a marketplace channel',
        labelNames: ['channel'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const c of s.channels) this.set({ channel: c.channelId }, c.summary.deadLetters);
        },
      }),
      new Counter({
        name: 'omnistock_marketplace_throttles_total',
        help: "Times a marketplace answered a channel's push with 429 (its throttle count)",
        labelNames: ['channel'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const c of s.channels) this.inc({ channel: c.channelId }, c.summary.throttleCount);
        },
      }),
      new Counter({
        name: 'omnistock_marketplace_oversold_units_total',
        help: 'Units a marketplace sold that the channel had no stock for, by measured cause (order intake)',
        labelNames: ['channel', 'cause'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const c of s.channels) for (const o of c.oversold) this.inc({ channel: c.channelId, cause: o.cause }, o.units);
        },
      }),
      new Counter({
        name: 'omnistock_marketplace_oversold_orders_total',
        help: 'Marketplace orders that could not be reserved in full, by measured cause (order intake)',
        labelNames: ['channel', 'cause'] as const,
        registers: [],
        async collect() {
          const s = await read();
          this.reset();
          for (const c of s.channels) for (const o of c.oversold) this.inc({ channel: c.channelId, cause: o.cause }, o.orders);
        },
      }),
    ];
  }

  register(registry: Registry): void {
    for (const metric of this.metrics) registry.registerMetric(metric);
  }

  /** The current reading, at most cacheMs old. */
  snapshot(): Promise<Snapshot> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= (this.opts.cacheMs ?? 2000)) this.cached = { at: now, snapshot: this.read() };
    return this.cached.snapshot;
  }

  private async read(): Promise<Snapshot> {
    const [outbox, queues, channels] = await Promise.all([
      this.readOutboxes(),
      this.part('queues', () => this.readQueues()),
      this.part('marketplace channels', () => this.opts.channelSummaries()),
    ]);
    return { outbox, queues, channels };
  }

  /** A part that fails is logged and left out of this reading. */
  private async part<T>(what: string, read: () => Promise<T[]>): Promise<T[]> {
    try {
      return await read();
    } catch (err) {
      this.opts.log.warn({ err, part: what }, 'metrics: could not read; left out of this scrape');
      return [];
    }
  }

  /** Each database on its own: one that cannot be read leaves only its own service out. */
  private async readOutboxes(): Promise<Snapshot['outbox']> {
    const now = Date.now();
    const entries = await Promise.all(
      Object.entries(this.opts.outboxes).map(([service, ds]) =>
        this.part(`outbox of ${service}`, async () => {
          const { count, oldestAt } = await outboxStore.backlog(ds.manager);
          return [{ service, backlog: count, lagSeconds: oldestAt ? Math.max(0, (now - oldestAt.getTime()) / 1000) : 0 }];
        }),
      ),
    );
    return entries.flat();
  }

  private async readQueues(): Promise<Snapshot['queues']> {
    return Promise.all(
      this.opts.queueNames().map(async (name) => {
        const counts = await this.queue(name).getJobCounts(...QUEUE_STATES);
        return { queue: name, counts: Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])) as Record<QueueState, number> };
      }),
    );
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      // On the shared connection: a queue per account must not mean a connection per account.
      queue = new Queue(name, { connection: this.opts.redis, prefix: bullmqPrefix(this.opts.prefix) });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Closes the queue handles (not the shared connection, which its owner closes). */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
