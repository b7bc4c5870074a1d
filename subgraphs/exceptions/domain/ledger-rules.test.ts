import { describe, expect, it } from 'vitest';
import type { StockChanged, StockQuantities } from '../../../contracts/events.js';
import { dayLabel, dayNumber, ledgerDeltas, mergeDeltas, type LedgerDelta } from './ledger-rules.js';

const LOC = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a6b';
const AT = '2026-06-30T10:00:00.000Z';
const DAY = dayNumber(AT);

const q = (onHand: number, over: Partial<StockQuantities> = {}): StockQuantities => ({
  onHand,
  reserved: 0,
  available: onHand,
  incoming: 0,
  damaged: 0,
  qualityControl: 0,
  safetyStock: 0,
  ...over,
});
const event = (change: string, before: number, after: number, over: Partial<StockChanged> = {}): StockChanged => ({
  sku: 'A',
  locationId: LOC,
  change,
  before: q(before),
  after: q(after),
  version: 7,
  at: AT,
  ...over,
});
const figures = (d: Partial<LedgerDelta>): LedgerDelta => ({
  sku: 'A',
  locationId: LOC,
  day: DAY,
  sold: 0,
  shrink: 0,
  corrections: 0,
  correctionUnits: 0,
  received: 0,
  movements: 1,
  onHandEnd: null,
  onHandVersion: 7,
  ...d,
});

describe('dayNumber', () => {
  it('counts UTC days since 1970, whatever the offset written', () => {
    expect(dayNumber('1970-01-01T23:59:59Z')).toBe(0);
    expect(dayNumber('2026-06-30T23:30:00-02:00')).toBe(dayNumber('2026-07-01T00:00:00Z'));
    expect(dayLabel(DAY)).toBe('2026-06-30');
  });
});

describe('ledgerDeltas', () => {
  it('counts units out by a till sale or a fulfilment as sold, with the on-hand they leave', () => {
    expect(ledgerDeltas(event('SALE', 10, 7))).toEqual([figures({ sold: 3, onHandEnd: 7 })]);
    expect(ledgerDeltas(event('FULFILMENT', 10, 8))).toEqual([figures({ sold: 2, onHandEnd: 8 })]);
  });

  it('adds nothing for reservation and safety-stock changes (no unit moved)', () => {
    for (const change of ['RESERVE', 'RELEASE', 'EXPIRE', 'SAFETY_STOCK']) expect(ledgerDeltas(event(change, 10, 10))).toEqual([]);
  });

  it('counts receipts and transfers in as received; a transfer out only moves at its destination', () => {
    expect(ledgerDeltas(event('RECEIPT', 2, 12))).toEqual([figures({ received: 10, onHandEnd: 12 })]);
    expect(ledgerDeltas(event('TRANSFER_IN', 2, 5))).toEqual([figures({ received: 3, onHandEnd: 5 })]);
    // The destination's event of a transfer out: incoming moved, on-hand did not.
    expect(ledgerDeltas({ ...event('TRANSFER_OUT', 4, 4), after: q(4, { incoming: 6 }) })).toEqual([figures({ onHandEnd: 4 })]);
  });

  it('counts shrinkage and damage, and a negative adjustment without a reason (events before reasons were carried), as shrink', () => {
    expect(ledgerDeltas(event('ADJUSTMENT', 10, 6, { reason: 'SHRINKAGE' }))).toEqual([figures({ shrink: 4, onHandEnd: 6 })]);
    expect(ledgerDeltas(event('ADJUSTMENT', 10, 9, { reason: 'DAMAGE' }))).toEqual([figures({ shrink: 1, onHandEnd: 9 })]);
    expect(ledgerDeltas(event('ADJUSTMENT', 10, 8))).toEqual([figures({ shrink: 2, onHandEnd: 8 })]);
    expect(ledgerDeltas(event('ADJUSTMENT', 10, 12, { reason: 'FOUND' }))).toEqual([figures({ onHandEnd: 12 })]);
  });

  it('counts a cycle count or correction that changed on-hand as a correction, either way; a count that agreed as a movement only', () => {
    expect(ledgerDeltas(event('CYCLE_COUNT', 10, 7))).toEqual([figures({ corrections: 1, correctionUnits: 3, onHandEnd: 7 })]);
    expect(ledgerDeltas(event('ADJUSTMENT', 10, 12, { reason: 'CORRECTION' }))).toEqual([figures({ corrections: 1, correctionUnits: 2, onHandEnd: 12 })]);
    expect(ledgerDeltas(event('ADJUSTMENT', 10, 8, { reason: 'CYCLE_COUNT' }))).toEqual([figures({ corrections: 1, correctionUnits: 2, onHandEnd: 8 })]);
    expect(ledgerDeltas(event('CYCLE_COUNT', 10, 10))).toEqual([figures({ onHandEnd: 10 })]);
  });

  it('counts a sale reported late on the day it happened, and the on-hand it leaves on the day it was recorded', () => {
    const late = event('SALE', 10, 9, { occurredAt: '2026-06-29T18:00:00.000Z' });
    expect(ledgerDeltas(late)).toEqual([figures({ day: DAY - 1, sold: 1 }), figures({ movements: 0, onHandEnd: 9 })]);
  });
});

describe('mergeDeltas', () => {
  it('sums a batch per series and day, keeping the on-hand of the newest version whatever the order', () => {
    const merged = mergeDeltas([
      figures({ sold: 2, onHandEnd: 5, onHandVersion: 9 }),
      figures({ sold: 1, onHandEnd: 7, onHandVersion: 8 }),
      figures({ shrink: 1, onHandEnd: null, onHandVersion: 10 }),
      figures({ day: DAY + 1, received: 4, onHandEnd: 9, onHandVersion: 11 }),
    ]);
    expect(merged).toEqual([
      figures({ sold: 3, shrink: 1, movements: 3, onHandEnd: 5, onHandVersion: 9 }),
      figures({ day: DAY + 1, received: 4, onHandEnd: 9, onHandVersion: 11 }),
    ]);
  });
});
