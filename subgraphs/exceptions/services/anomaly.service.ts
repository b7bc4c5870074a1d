import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { StockChanged } from '../../../contracts/events.js';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { parseInput } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { ledgerStore, type AnnouncementRow } from '../data/ledger.store.js';
import {
  ANOMALY_KINDS,
  isAnomalyKind,
  DEFAULT_SETTINGS,
  TREND_KINDS,
  denseSeries,
  detectLedgerAnomalies,
  detectTrends,
  ledgerContext,
  type AnomalyFeedback,
  type AnomalyFinding,
  type AnomalyKind,
  type AnomalyThresholds,
  type DetectionSettings,
  type TrendFinding,
  type TrendKind,
} from '../domain/anomaly-rules.js';
import { dayNumber, ledgerDeltas, mergeDeltas } from '../domain/ledger-rules.js';

/** A stock change as the feed read it: (source, seq) names it across redeliveries. */
export interface SourcedStockChange {
  source: string;
  seq: number;
  change: StockChanged;
}

export interface DetectOptions {
  /** Days read, the detection window's included (default: the service's). */
  windowDays?: number;
  thresholds?: Partial<AnomalyThresholds>;
  settings?: Partial<DetectionSettings>;
  /** Only these SKUs (and no trends). */
  skus?: readonly string[];
  /** Told after each read of SKUs, with the SKUs examined so far. */
  onProgress?: (skus: number) => void;
}

export interface DetectionResult {
  findings: AnomalyFinding[];
  trends: TrendFinding[];
  stats: {
    /** Series (SKU at a location) examined. */
    series: number;
    /** Wall time of the run. */
    ms: number;
  };
}

/** How many days back a redelivered stock event may come from (the streams keep a day). */
const REDELIVERY_DAYS = 2;
/** Attempts of a batch that lost a race to sum in the same event. */
const RECORD_ATTEMPTS = 3;

const isTrendKind = (kind: AnomalyKind): kind is TrendKind => (TREND_KINDS as readonly string[]).includes(kind);

const promotionSchema = z
  .object({
    sku: skuSchema,
    locationId: idSchema.nullish(),
    from: z.coerce.date(),
    to: z.coerce.date(),
    note: z.string().max(500).nullish(),
  })
  .refine((p) => p.to >= p.from, { path: ['to'], message: 'must not be before from' })
  .refine((p) => p.to.getTime() - p.from.getTime() <= 366 * 86_400_000, { path: ['to'], message: 'a promotion lasts a year at most' });

const dismissalSchema = z
  .object({
    kind: z.enum(ANOMALY_KINDS),
    sku: z.string().max(64).nullable(),
    locationId: z.string().max(64).nullable(),
    channelId: z.string().max(64).nullable(),
    score: z.number().finite(),
    day: z.date(),
    by: z.string().max(200).nullable(),
    note: z.string().max(2000).nullable(),
  })
  .refine((d) => (isTrendKind(d.kind) ? d.channelId !== null : d.sku !== null && d.locationId !== null), {
    message: 'a ledger finding names its SKU and location, a trend its channel',
  });

/**
 * Anomaly detection's use cases: summing stock changes and sync figures into the daily ledger,
 * promotions announced in advance, dismissed findings, and detection itself over the window
 * (domain/anomaly-rules.ts). Findings are returned, not stored: the detection service turns them
 * into exceptions.
 */
export class AnomalyService {
  private readonly windowDays: number;
  private readonly thresholds: Partial<AnomalyThresholds>;

  /** @throws Error naming a threshold of a kind detection does not have (ANOMALY_THRESHOLDS) */
  constructor(
    private readonly ds: DataSource,
    opts: { windowDays?: number; thresholds?: Record<string, number> } = {},
  ) {
    this.windowDays = opts.windowDays ?? 90;
    const unknown = Object.keys(opts.thresholds ?? {}).filter((k) => !isAnomalyKind(k));
    if (unknown.length) throw new Error(`ANOMALY_THRESHOLDS names kinds detection does not have: ${unknown.join(', ')} (kinds: ${ANOMALY_KINDS.join(', ')})`);
    this.thresholds = opts.thresholds ?? {};
  }

  /**
   * Sums stock changes into the ledger's days in one transaction. A change already summed in (the
   * same source and seq, redelivered) is skipped, so a batch may be retried whole.
   * @returns how many changes were summed in, and how many were skipped as already there
   */
  async recordStockChanges(changes: readonly SourcedStockChange[]): Promise<{ recorded: number; skipped: number }> {
    // Reservation changes add nothing: no need to remember them.
    const counted = changes.map((c) => ({ ...c, deltas: ledgerDeltas(c.change) })).filter((c) => c.deltas.length > 0);
    if (counted.length === 0) return { recorded: 0, skipped: changes.length };
    for (let attempt = 1; ; attempt++) {
      try {
        const recorded = await writeTransaction(this.ds, async (tx) => {
          const done = await ledgerStore.applied(tx, counted);
          const fresh = new Map<string, (typeof counted)[number]>();
          for (const c of counted) {
            const key = `${c.source}\u0000${c.seq}`;
            if (!done.has(key) && !fresh.has(key)) fresh.set(key, c);
          }
          if (fresh.size === 0) return 0;
          await ledgerStore.markApplied(tx, [...fresh.values()].map((c) => ({ source: c.source, seq: c.seq, day: dayNumber(c.change.at) })));
          await ledgerStore.addDailyFigures(tx, mergeDeltas([...fresh.values()].flatMap((c) => c.deltas)));
          return fresh.size;
        });
        return { recorded, skipped: changes.length - recorded };
      } catch (err) {
        // Another consumer summed in one of these events meanwhile: run again, it is skipped now.
        if (!isDuplicateKey(err) || attempt >= RECORD_ATTEMPTS) throw err;
      }
    }
  }

  /** Adds a channel's sync figure to its day: SYNC_LAG_TREND keeps the day's longest lag (seconds), DRIFT_TREND sums the drift lines. */
  async recordProblemSample(kind: TrendKind, channelId: string, at: Date, value: number): Promise<void> {
    if (!Number.isFinite(value)) return;
    await ledgerStore.addProblemSample(this.ds.manager, kind, channelId, dayNumber(at), value);
  }

  /**
   * A promotion announced in advance: a spike of the SKU (at the location, or anywhere) between
   * `from` and `to` is expected, and those days are no baseline.
   * @throws BadUserInputError for invalid input
   */
  async announcePromotion(input: unknown, by: string | null): Promise<AnnouncementRow> {
    const p = parseInput(promotionSchema, input);
    return ledgerStore.insertAnnouncement(this.ds.manager, {
      sku: p.sku,
      locationId: p.locationId ?? null,
      fromDay: dayNumber(p.from),
      toDay: dayNumber(p.to),
      note: p.note ?? null,
      createdBy: by,
      createdAt: new Date(),
    });
  }

  /**
   * Someone said a finding was not an anomaly: for `feedbackDays` its series (or channel) fires
   * for that kind only above `feedbackMargin` × this score.
   * @throws BadUserInputError for an unknown kind, or a finding that does not name its series
   */
  async markNotAnomaly(input: { kind: string; sku: string | null; locationId: string | null; channelId: string | null; score: number; day: Date; by: string | null; note: string | null }): Promise<void> {
    const d = parseInput(dismissalSchema, input, 'dismissal');
    const trend = isTrendKind(d.kind);
    await ledgerStore.insertFeedback(this.ds.manager, {
      kind: d.kind,
      sku: trend ? null : d.sku,
      locationId: trend ? null : d.locationId,
      channelId: trend ? d.channelId : null,
      score: d.score,
      day: dayNumber(d.day),
      createdBy: d.by,
      note: d.note,
      createdAt: new Date(),
    });
  }

  /**
   * Runs detection over the complete days before `now`: the window's last day is yesterday (UTC),
   * since today's figures are still coming in. Reads the window a hundred SKUs at a time, the next
   * read under way while the rules run on the last.
   */
  async detect(now: Date, opts: DetectOptions = {}): Promise<DetectionResult> {
    const started = performance.now();
    const windowDays = opts.windowDays ?? this.windowDays;
    const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
    const lastDay = dayNumber(now) - 1;
    const firstDay = lastDay - windowDays + 1;
    const manager = this.ds.manager;
    const [announcements, stored] = await Promise.all([
      ledgerStore.announcements(manager, firstDay, lastDay, opts.skus),
      ledgerStore.feedback(manager, lastDay - settings.feedbackDays),
    ]);
    const feedback = stored.filter((f): f is AnomalyFeedback => isAnomalyKind(f.kind));
    const thresholds = { ...this.thresholds, ...opts.thresholds };
    const ctx = ledgerContext({ lastDay, windowDays, announcements, feedback, thresholds, settings });

    const findings: AnomalyFinding[] = [];
    let series = 0;
    let skus = 0;
    const runner = this.ds.createQueryRunner();
    try {
      await runner.connect();
      const reads = ledgerStore.readWindow(runner.manager, { fromDay: firstDay, toDay: lastDay, skus: opts.skus });
      let next = reads.next();
      for (;;) {
        const read = await next;
        if (read.done) break;
        next = reads.next();
        for (const { sku, series: sparse } of read.value) {
          const locations = sparse.map((s) => denseSeries(firstDay, windowDays, s));
          series += locations.length;
          for (const f of detectLedgerAnomalies({ sku, firstDay, days: windowDays, locations }, ctx)) findings.push(f);
        }
        skus += read.value.length;
        opts.onProgress?.(skus);
      }
    } finally {
      await runner.release();
    }

    const trends = opts.skus
      ? []
      : detectTrends(await ledgerStore.problemSeries(manager, firstDay, lastDay), thresholds, feedback, { settings, lastDay });
    findings.sort((a, b) => b.score / b.threshold - a.score / a.threshold);
    return { findings, trends, stats: { series, ms: performance.now() - started } };
  }

  /**
   * Forgets what detection no longer reads: ledger and sync days older than the window (and a week),
   * and the keys of stock events too old to be redelivered. Reads the whole ledger: run it daily.
   */
  async prune(now: Date): Promise<void> {
    const today = dayNumber(now);
    await writeTransaction(this.ds, (tx) => ledgerStore.pruneApplied(tx, today - REDELIVERY_DAYS));
    await writeTransaction(this.ds, (tx) => ledgerStore.pruneFigures(tx, today - this.windowDays - 7));
  }
}
