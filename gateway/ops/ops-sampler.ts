import type { Logger } from 'pino';
import { marketplaceChannels, reconciliationRuns, type ChannelFigures, type OpsExecutor, type ReconciliationFigures } from './graph-figures.js';
import type { RefusalFigures, RefusalRates } from './refusals.js';
import type { StockRate, StockRateReader } from './stock-rate.js';

/** A panel's figures, or why its source could not be read this tick (the other panels are unaffected). */
export type Panel<T> = { ok: true; data: T } | { ok: false; error: string };

/** What every open ops page shows; one is gathered per tick and shared by all viewers. */
export interface OpsSnapshot {
  /** When it was gathered (ISO-8601). */
  at: string;
  /** Milliseconds between ticks. */
  refreshMs: number;
  stock: Panel<StockRate>;
  channels: Panel<ChannelFigures[]>;
  reconciliation: Panel<ReconciliationFigures>;
  refusals: Panel<RefusalFigures>;
}

export interface OpsSources {
  stock: StockRateReader;
  refusals: RefusalRates;
  execute: OpsExecutor;
}

type Listener = (snapshot: OpsSnapshot) => void;

/** Ticks a poller's request keeps the sampler running for without another request. */
const POLL_DEMAND_TICKS = 3;

/**
 * Gathers the ops figures once per tick for every open page, not once per viewer: ticks run while
 * a stream is open (or a poller asked within the last few ticks), one at a time, and each source is
 * read on its own so one failing shows as that panel unavailable.
 */
export class OpsSampler {
  private readonly listeners = new Set<Listener>();
  private latest: OpsSnapshot | null = null;
  private latestAt = 0;
  private ticking: Promise<OpsSnapshot> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private demandUntil = 0;
  private closed = false;
  private readonly failing = new Set<string>();

  constructor(
    private readonly sources: OpsSources,
    private readonly refreshMs: number,
    private readonly log: Logger,
  ) {}

  /** Streams every snapshot to `listener`, the latest one at once; returns how to stop. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest);
    this.schedule(0);
    return () => void this.listeners.delete(listener);
  }

  /** The latest snapshot, gathered now when it is older than a tick (pollers of /ops/data). */
  async current(): Promise<OpsSnapshot> {
    this.demandUntil = Date.now() + POLL_DEMAND_TICKS * this.refreshMs;
    const snapshot = this.latest && Date.now() - this.latestAt < this.refreshMs ? this.latest : await this.tick();
    this.schedule(this.refreshMs);
    return snapshot;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private get wanted(): boolean {
    return !this.closed && (this.listeners.size > 0 || Date.now() < this.demandUntil);
  }

  private schedule(delayMs: number): void {
    if (this.timer || !this.wanted) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick().finally(() => this.schedule(this.refreshMs));
    }, delayMs);
    this.timer.unref();
  }

  /** One gathering at a time: a poller arriving mid-tick waits for that tick. */
  private tick(): Promise<OpsSnapshot> {
    return (this.ticking ??= this.gather().finally(() => {
      this.ticking = null;
    }));
  }

  private async gather(): Promise<OpsSnapshot> {
    const [stock, channels, reconciliation, refusals] = await Promise.all([
      this.panel('stock', () => this.sources.stock.sample()),
      this.panel('channels', () => marketplaceChannels(this.sources.execute)),
      this.panel('reconciliation', () => reconciliationRuns(this.sources.execute)),
      this.panel('refusals', () => this.sources.refusals.sample()),
    ]);
    const snapshot: OpsSnapshot = { at: new Date().toISOString(), refreshMs: this.refreshMs, stock, channels, reconciliation, refusals };
    this.latest = snapshot;
    this.latestAt = Date.now();
    for (const listener of this.listeners) listener(snapshot);
    return snapshot;
  }

  private async panel<T>(name: string, read: () => Promise<T>): Promise<Panel<T>> {
    try {
      const data = await read();
      if (this.failing.delete(name)) this.log.info({ panel: name }, 'ops page source readable again');
      return { ok: true, data };
    } catch (err) {
      // Logged when a source starts failing, not on every tick while it stays down.
      if (!this.failing.has(name)) this.log.warn({ err, panel: name }, 'ops page source unavailable');
      this.failing.add(name);
      return { ok: false, error: (err as Error).message };
    }
  }
}
