import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { figureColumns, type AnomalyFeedback, type AnomalyKind, type Announcement, type SparseSeries, type TrendKind, type TrendSeries } from '../domain/anomaly-rules.js';
import type { DailyFigures, LedgerDelta } from '../domain/ledger-rules.js';

/** One row of `ledger_daily` as the benchmark writes it: a whole day of one series. */
export interface LedgerRow extends DailyFigures {
  sku: string;
  locationId: string;
}

/** Every series of one SKU that has figures in a window. */
export interface SkuFigures {
  sku: string;
  series: SparseSeries[];
}

/** A dismissal as stored: its kind is checked against the kinds this version knows by the service. */
export type FeedbackRow = Omit<AnomalyFeedback, 'kind'> & { kind: string };

export interface AnnouncementRow extends Announcement {
  id: string;
  note: string | null;
  createdBy: string | null;
  createdAt: Date;
}

/** Rows per multi-row statement: a few hundred KB, far below max_allowed_packet. */
const CHUNK = 2000;
/** Enough for 400 days of figures per series (ANOMALY_WINDOW_DAYS at most), about 30 characters a day. */
const GROUP_CONCAT_MAX = 1 << 20;

const seriesRow = z.object({ sku: z.string(), location_id: z.string(), n: z.coerce.number().int(), figures: z.string() });
const skuRow = z.object({ sku: z.string() });
const trendKind: z.ZodType<TrendKind> = z.enum(['SYNC_LAG_TREND', 'DRIFT_TREND']);
const problemRow = z.object({ kind: trendKind, channel_id: z.string(), day: z.number().int(), value: z.number() });
const announcementRow = z.object({
  id: z.string(),
  sku: z.string(),
  location_id: z.string().nullable(),
  from_day: z.number().int(),
  to_day: z.number().int(),
  note: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.date(),
});
const feedbackRow = z.object({
  kind: z.string(),
  sku: z.string().nullable(),
  location_id: z.string().nullable(),
  channel_id: z.string().nullable(),
  score: z.number(),
  day: z.number().int(),
});
const appliedRow = z.object({ source: z.string(), seq: z.coerce.number() });

const appliedKey = (source: string, seq: number) => `${source}\u0000${seq}`;

function chunks<T>(rows: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * Parses the figures `readWindow` packs per series ("day,sold,shrink,corrections,correctionUnits,
 * received,movements,onHandEnd" per day, days joined by ';', on-hand empty when unknown) straight
 * into typed arrays: the window is millions of figures, and splitting it into strings would be
 * millions of allocations.
 */
export function parseFigures(locationId: string, packed: string, days: number): SparseSeries {
  const s: SparseSeries = { locationId, length: days, day: new Int32Array(days), ...figureColumns(days) };
  const columns = [s.day, s.sold, s.shrink, s.corrections, s.correctionUnits, s.received, s.movements];
  let row = 0;
  let field = 0;
  let value = 0;
  let digits = 0;
  let negative = false;
  const end = () => {
    if (row >= days) throw new Error(`ledger figures of ${locationId}: more days than the ${days} counted`);
    if (field < 7) {
      if (!digits) throw new Error(`ledger figures of ${locationId}: an empty figure on day ${row + 1}`);
      columns[field]![row] = negative ? -value : value;
    } else if (field === 7) s.onHandEnd[row] = digits ? (negative ? -value : value) : NaN;
    else throw new Error(`ledger figures of ${locationId}: more than 8 figures on day ${row + 1}`);
    value = 0;
    digits = 0;
    negative = false;
  };
  for (let i = 0; i < packed.length; i++) {
    const c = packed.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else if (c === 45 && !digits && !negative) negative = true;
    else if (c === 44) {
      end();
      field++;
    } else if (c === 59) {
      end();
      if (field !== 7) throw new Error(`ledger figures of ${locationId}: ${field + 1} figures on day ${row + 1}, not 8`);
      field = 0;
      row++;
    } else throw new Error(`ledger figures of ${locationId}: unexpected character ${JSON.stringify(packed[i])}`);
  }
  end();
  if (field !== 7 || row + 1 !== days) throw new Error(`ledger figures of ${locationId}: ${row + 1} days of figures, ${days} counted`);
  return s;
}

/** SQL of anomaly detection's tables (see migration 1740000001000-anomaly-ledger). */
export const ledgerStore = {
  /** Of these stock events, the ones already summed into the ledger, as `source\0seq`. */
  async applied(tx: EntityManager, events: readonly { source: string; seq: number }[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks(events, 500)) {
      const rows = await tx.query(`SELECT source, seq FROM ledger_applied_events WHERE (source, seq) IN (${part.map(() => '(?, ?)').join(', ')})`, part.flatMap((e) => [e.source, e.seq]));
      for (const r of z.array(appliedRow).parse(rows)) out.add(appliedKey(r.source, r.seq));
    }
    return out;
  },

  /** Records stock events as summed in. @throws a duplicate-key error when another transaction summed one in meanwhile */
  async markApplied(tx: EntityManager, events: readonly { source: string; seq: number; day: number }[]): Promise<void> {
    for (const part of chunks(events)) {
      await tx.query('INSERT INTO ledger_applied_events (source, seq, day) VALUES ?', [part.map((e) => [e.source, e.seq, e.day])]);
    }
  },

  /**
   * Adds deltas to their days in one statement per chunk, atomically in SQL (a day's figures are
   * never read into JavaScript and written back). The on-hand of a day is the one of the newest
   * stock level version seen: MySQL applies the assignments left to right, so `on_hand_end` is
   * decided before `on_hand_version` moves.
   */
  async addDailyFigures(tx: EntityManager, deltas: readonly LedgerDelta[]): Promise<void> {
    // Primary-key order: concurrent batches lock the rows they share in the same order.
    const sorted = [...deltas].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : a.day - b.day));
    for (const part of chunks(sorted)) {
      await tx.query(
        `INSERT INTO ledger_daily (sku, location_id, day, sold, shrink, corrections, correction_units, received, movements, on_hand_end, on_hand_version)
         VALUES ?
         ON DUPLICATE KEY UPDATE
           sold = sold + VALUES(sold),
           shrink = shrink + VALUES(shrink),
           corrections = corrections + VALUES(corrections),
           correction_units = correction_units + VALUES(correction_units),
           received = received + VALUES(received),
           movements = movements + VALUES(movements),
           on_hand_end = IF(VALUES(on_hand_end) IS NOT NULL AND VALUES(on_hand_version) > on_hand_version, VALUES(on_hand_end), on_hand_end),
           on_hand_version = IF(VALUES(on_hand_end) IS NOT NULL AND VALUES(on_hand_version) > on_hand_version, VALUES(on_hand_version), on_hand_version)`,
        [
          part.map((d) => [
            d.sku,
            d.locationId,
            d.day,
            d.sold,
            d.shrink,
            d.corrections,
            d.correctionUnits,
            d.received,
            d.movements,
            d.onHandEnd,
            d.onHandEnd === null ? 0 : d.onHandVersion,
          ]),
        ],
      );
    }
  },

  /** Writes whole days that are not there yet (the benchmark's ledger), in multi-row statements. */
  async bulkInsert(tx: EntityManager, rows: readonly LedgerRow[]): Promise<void> {
    for (const part of chunks(rows)) {
      await tx.query(
        'INSERT INTO ledger_daily (sku, location_id, day, sold, shrink, corrections, correction_units, received, movements, on_hand_end) VALUES ?',
        [part.map((r) => [r.sku, r.locationId, r.day, r.sold, r.shrink, r.corrections, r.correctionUnits, r.received, r.movements, r.onHandEnd])],
      );
    }
  },

  /**
   * The window's figures, `skusPerRead` SKUs at a time in SKU order, each series packed into one
   * row by the server: a 90-day window of 2,000 SKUs at 28 locations is some 50,000 rows instead of
   * millions, and the caller holds one read's SKUs at a time.
   * `manager` must hold one connection (a QueryRunner's): the packing's length limit is a session setting.
   */
  async *readWindow(manager: EntityManager, opts: { fromDay: number; toDay: number; skus?: readonly string[]; skusPerRead?: number }): AsyncGenerator<SkuFigures[]> {
    const perRead = opts.skusPerRead ?? 100;
    await manager.query(`SET SESSION group_concat_max_len = ${GROUP_CONCAT_MAX}`);
    const wanted = opts.skus ? [...new Set(opts.skus)].sort() : null;
    let after = '';
    for (let offset = 0; ; offset += perRead) {
      let skus: string[];
      if (wanted) skus = wanted.slice(offset, offset + perRead);
      else {
        // The SKUs in key order: an index-only walk of the primary key's first column.
        const rows = await manager.query('SELECT DISTINCT sku FROM ledger_daily WHERE sku > ? ORDER BY sku LIMIT ?', [after, perRead]);
        skus = z.array(skuRow).parse(rows).map((r) => r.sku);
      }
      if (skus.length === 0) return;
      after = skus[skus.length - 1]!;
      const rows = await manager.query(
        `SELECT sku, location_id, COUNT(*) AS n,
           GROUP_CONCAT(CONCAT_WS(',', day, sold, shrink, corrections, correction_units, received, movements, IFNULL(on_hand_end, '')) ORDER BY day SEPARATOR ';') AS figures
         FROM ledger_daily
         WHERE sku IN (?) AND day BETWEEN ? AND ?
         GROUP BY sku, location_id
         ORDER BY sku, location_id`,
        [skus, opts.fromDay, opts.toDay],
      );
      const out: SkuFigures[] = [];
      for (const r of z.array(seriesRow).parse(rows)) {
        const series = parseFigures(r.location_id, r.figures, r.n);
        const last = out[out.length - 1];
        if (last?.sku === r.sku) last.series.push(series);
        else out.push({ sku: r.sku, series: [series] });
      }
      yield out;
      if (skus.length < perRead) return;
    }
  },

  /** Adds one sample to a channel's day: the longest lag of the day, or the drift lines summed. */
  async addProblemSample(tx: EntityManager, kind: TrendKind, channelId: string, day: number, value: number): Promise<void> {
    const merge = kind === 'SYNC_LAG_TREND' ? 'GREATEST(value, VALUES(value))' : 'value + VALUES(value)';
    await tx.query(`INSERT INTO problem_daily (kind, channel_id, day, value) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE value = ${merge}`, [kind, channelId, day, value]);
  },

  /** Writes many channels' days at once (the benchmark), replacing what they held. */
  async bulkProblemDays(tx: EntityManager, rows: readonly { kind: TrendKind; channelId: string; day: number; value: number }[]): Promise<void> {
    for (const part of chunks(rows)) {
      await tx.query('INSERT INTO problem_daily (kind, channel_id, day, value) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value)', [
        part.map((r) => [r.kind, r.channelId, r.day, r.value]),
      ]);
    }
  },

  /** Every channel's daily figures over the window, one series per kind and channel. */
  async problemSeries(manager: EntityManager, fromDay: number, toDay: number): Promise<TrendSeries[]> {
    const rows = z.array(problemRow).parse(
      await manager.query('SELECT kind, channel_id, day, value FROM problem_daily WHERE day BETWEEN ? AND ? ORDER BY kind, channel_id, day', [fromDay, toDay]),
    );
    const out: TrendSeries[] = [];
    for (const r of rows) {
      const last = out[out.length - 1];
      if (last?.kind === r.kind && last.channelId === r.channel_id) last.days.push({ day: r.day, value: r.value });
      else out.push({ kind: r.kind, channelId: r.channel_id, days: [{ day: r.day, value: r.value }] });
    }
    return out;
  },

  async insertAnnouncement(tx: EntityManager, a: Omit<AnnouncementRow, 'id'>): Promise<AnnouncementRow> {
    const row = { ...a, id: randomUUID() };
    await tx.query('INSERT INTO anomaly_announcements (id, sku, location_id, from_day, to_day, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      row.id,
      row.sku,
      row.locationId,
      row.fromDay,
      row.toDay,
      row.note,
      row.createdBy,
      row.createdAt,
    ]);
    return row;
  },

  /** Announcements overlapping [fromDay, toDay] (of these SKUs only, when given). */
  async announcements(manager: EntityManager, fromDay: number, toDay: number, skus?: readonly string[]): Promise<AnnouncementRow[]> {
    if (skus && skus.length === 0) return [];
    const rows = await manager.query(
      `SELECT id, sku, location_id, from_day, to_day, note, created_by, created_at FROM anomaly_announcements
       WHERE to_day >= ? AND from_day <= ?${skus ? ' AND sku IN (?)' : ''}`,
      skus ? [fromDay, toDay, skus] : [fromDay, toDay],
    );
    return z.array(announcementRow).parse(rows).map((r) => ({
      id: r.id,
      sku: r.sku,
      locationId: r.location_id,
      fromDay: r.from_day,
      toDay: r.to_day,
      note: r.note,
      createdBy: r.created_by,
      createdAt: r.created_at,
    }));
  },

  async insertFeedback(
    tx: EntityManager,
    f: { kind: AnomalyKind; sku: string | null; locationId: string | null; channelId: string | null; score: number; day: number; createdBy: string | null; note: string | null; createdAt: Date },
  ): Promise<void> {
    await tx.query('INSERT INTO anomaly_feedback (kind, sku, location_id, channel_id, score, day, created_by, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      f.kind,
      f.sku,
      f.locationId,
      f.channelId,
      f.score,
      f.day,
      f.createdBy,
      f.note,
      f.createdAt,
    ]);
  },

  /** Dismissals given on or after `sinceDay`. */
  async feedback(manager: EntityManager, sinceDay: number): Promise<FeedbackRow[]> {
    const rows = z.array(feedbackRow).parse(await manager.query('SELECT kind, sku, location_id, channel_id, score, day FROM anomaly_feedback WHERE day >= ?', [sinceDay]));
    return rows.map((r) => ({ kind: r.kind, sku: r.sku, locationId: r.location_id, channelId: r.channel_id, score: r.score, day: r.day }));
  },

  /** Forgets the applied stock events of days before `day`: no stream redelivers them any more. */
  async pruneApplied(tx: EntityManager, day: number): Promise<void> {
    await tx.query('DELETE FROM ledger_applied_events WHERE day < ?', [day]);
  },

  /**
   * Forgets ledger and sync days before `day`, which no window reads. Without an index on the day
   * (it would double the ledger) this reads the whole ledger: run it rarely, a day apart.
   */
  async pruneFigures(tx: EntityManager, day: number): Promise<void> {
    await tx.query('DELETE FROM ledger_daily WHERE day < ?', [day]);
    await tx.query('DELETE FROM problem_daily WHERE day < ?', [day]);
  },
};
