import type { StockChanged } from '../../../contracts/events.js';

/**
 * The anomaly ledger: what each stock change adds to the daily figures of its SKU at its location.
 * Anomaly detection (anomaly-rules.ts) reads these figures, never the movements themselves, so a
 * window of 90 days over every SKU and location stays one row per series and day.
 */

export const DAY_MS = 86_400_000;

/** Days since 1970-01-01 UTC: the ledger's day, whatever the time zone of the caller. */
export function dayNumber(at: Date | string): number {
  return Math.floor((typeof at === 'string' ? Date.parse(at) : at.getTime()) / DAY_MS);
}

/** A ledger day as YYYY-MM-DD, for explanations. */
export function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** What one series (a SKU at a location) did on one day. */
export interface DailyFigures {
  /** Days since 1970-01-01 UTC. */
  day: number;
  /** Units that left by a sale: a till SALE or the FULFILMENT of a reservation (web and marketplace orders). */
  sold: number;
  /** Units removed by negative adjustments for shrinkage or damage (any negative adjustment recorded without a reason). */
  shrink: number;
  /** Cycle-count corrections that changed on-hand. */
  corrections: number;
  /** Units those corrections moved, either way. */
  correctionUnits: number;
  /** Units put on hand by receipts and transfers in. */
  received: number;
  /** Movements recorded (reservations are not movements). */
  movements: number;
  /** On-hand at the end of the day; null when nothing said what it was. */
  onHandEnd: number | null;
}

/**
 * What one event adds to one series' day: the counters are added to what the day holds; `onHandEnd`
 * replaces the day's on-hand only when `onHandVersion` (the stock level's version after the change)
 * is newer than the one that set it, since events of one day may arrive out of order.
 */
export interface LedgerDelta extends DailyFigures {
  sku: string;
  locationId: string;
  onHandVersion: number;
}

/** The movement types of inventory's ledger; anything else on the stock topic (reservations, safety stock) moves no unit. */
const MOVEMENT_CHANGES = new Set(['RECEIPT', 'SALE', 'RETURN', 'TRANSFER_OUT', 'TRANSFER_IN', 'ADJUSTMENT', 'CYCLE_COUNT', 'FULFILMENT']);
const CORRECTION_REASONS = new Set(['CYCLE_COUNT', 'CORRECTION']);
const SHRINK_REASONS = new Set(['SHRINKAGE', 'DAMAGE']);

const emptyDelta = (e: StockChanged, day: number): LedgerDelta => ({
  sku: e.sku,
  locationId: e.locationId,
  day,
  sold: 0,
  shrink: 0,
  corrections: 0,
  correctionUnits: 0,
  received: 0,
  movements: 0,
  onHandEnd: null,
  onHandVersion: e.version,
});

/**
 * The daily figures one stock change adds: none for a reservation change, else one delta on the day
 * it happened (`occurredAt ?? at`). A change reported late (a till batch) counts on the day it
 * happened, but the on-hand it leaves is the on-hand when it was recorded: that goes to the day of
 * `at`, a second delta when the two days differ.
 */
export function ledgerDeltas(e: StockChanged): LedgerDelta[] {
  if (!MOVEMENT_CHANGES.has(e.change)) return [];
  const recorded = dayNumber(e.at);
  const happened = e.occurredAt ? dayNumber(e.occurredAt) : recorded;
  const d = emptyDelta(e, happened);
  // The on-hand change, not the movement's quantity: a transfer's destination sees only incoming
  // move, a damaged return only the damaged bucket.
  const change = e.after.onHand - e.before.onHand;
  d.movements = 1;
  switch (e.change) {
    case 'SALE':
    case 'FULFILMENT':
      if (change < 0) d.sold = -change;
      break;
    case 'RECEIPT':
    case 'TRANSFER_IN':
      if (change > 0) d.received = change;
      break;
    case 'CYCLE_COUNT':
      if (change !== 0) countCorrection(d, change);
      break;
    case 'ADJUSTMENT':
      if (e.reason && CORRECTION_REASONS.has(e.reason)) {
        if (change !== 0) countCorrection(d, change);
      } else if (change < 0 && (!e.reason || SHRINK_REASONS.has(e.reason))) {
        d.shrink = -change;
      }
      break;
  }
  if (happened === recorded) return [{ ...d, onHandEnd: e.after.onHand }];
  return [d, { ...emptyDelta(e, recorded), onHandEnd: e.after.onHand }];
}

function countCorrection(d: LedgerDelta, change: number): void {
  d.corrections = 1;
  d.correctionUnits = Math.abs(change);
}

/**
 * Sums the deltas of one batch per (SKU, location, day), so a batch writes each row once; the
 * on-hand kept is the one of the newest version.
 */
export function mergeDeltas(deltas: readonly LedgerDelta[]): LedgerDelta[] {
  const byKey = new Map<string, LedgerDelta>();
  for (const d of deltas) {
    const key = `${d.sku}\u0000${d.locationId}\u0000${d.day}`;
    const m = byKey.get(key);
    if (!m) {
      byKey.set(key, { ...d });
      continue;
    }
    m.sold += d.sold;
    m.shrink += d.shrink;
    m.corrections += d.corrections;
    m.correctionUnits += d.correctionUnits;
    m.received += d.received;
    m.movements += d.movements;
    if (d.onHandEnd !== null && (m.onHandEnd === null || d.onHandVersion > m.onHandVersion)) {
      m.onHandEnd = d.onHandEnd;
      m.onHandVersion = d.onHandVersion;
    }
  }
  return [...byKey.values()];
}
