import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  DEFAULT_THRESHOLDS,
  denseSeries,
  detectLedgerAnomalies,
  detectTrends,
  gapChance,
  ledgerContext,
  weekdayOf,
  type AnomalyFeedback,
  type Announcement,
  type LocationSeries,
  type TrendSeries,
} from './anomaly-rules.js';
import { dayNumber } from './ledger-rules.js';

const DAYS = 90;
const LAST = dayNumber('2026-06-30T00:00:00Z');
const FIRST = LAST - DAYS + 1;
const SKU = 'SKU-1';
const loc = (n: number) => `00000000-0000-4000-a000-${String(n).padStart(12, '0')}`;

interface Day {
  sold: number;
  shrink: number;
  corrections: number;
  correctionUnits: number;
  received: number;
  movements: number;
  onHandEnd: number;
}

/** An ordinary series: 3-6 units a day, Saturdays busier, 50 on hand; `tweak` changes what a test needs. */
function series(n: number, tweak: (i: number, d: Day) => Partial<Day> = () => ({})): LocationSeries {
  const s: LocationSeries = {
    locationId: loc(n),
    sold: new Int32Array(DAYS),
    shrink: new Int32Array(DAYS),
    corrections: new Int32Array(DAYS),
    correctionUnits: new Int32Array(DAYS),
    received: new Int32Array(DAYS),
    movements: new Int32Array(DAYS),
    onHandEnd: new Float64Array(DAYS),
  };
  for (let i = 0; i < DAYS; i++) {
    const sold = 3 + [0, 1, 2, 1, 0, 2, 1][(i * 3 + n) % 7]! + (weekdayOf(FIRST + i) === 5 ? 3 : 0);
    const base: Day = { sold, shrink: 0, corrections: 0, correctionUnits: 0, received: 0, movements: sold, onHandEnd: 50 };
    const d = { ...base, ...tweak(i, base) };
    s.sold[i] = d.sold;
    s.shrink[i] = d.shrink;
    s.corrections[i] = d.corrections;
    s.correctionUnits[i] = d.correctionUnits;
    s.received[i] = d.received;
    s.movements[i] = d.movements;
    s.onHandEnd[i] = d.onHandEnd;
  }
  return s;
}

/** Index of a day of the window, counted back from the last (0: the last day). */
const back = (k: number) => DAYS - 1 - k;

function detect(locations: LocationSeries[], extra: { announcements?: Announcement[]; feedback?: AnomalyFeedback[] } = {}) {
  const ctx = ledgerContext({ lastDay: LAST, windowDays: DAYS, ...extra });
  return detectLedgerAnomalies({ sku: SKU, firstDay: FIRST, days: DAYS, locations }, ctx);
}

const sisters = (from = 1, to = 5) => Array.from({ length: to - from + 1 }, (_, k) => series(from + k));

describe('ledger anomalies', () => {
  it('finds nothing in ordinary weeks, Saturdays busier included', () => {
    expect(detect([series(0), ...sisters()])).toEqual([]);
  });

  it('flags a day of units far above its weekday, saying against what', () => {
    const spiked = series(0, (i) => (i === back(2) ? { sold: 60, movements: 8 } : {}));
    const [f, ...rest] = detect([spiked, ...sisters()]);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'MOVEMENT_SPIKE', sku: SKU, locationId: loc(0), day: LAST - 2, observed: 60, threshold: DEFAULT_THRESHOLDS.MOVEMENT_SPIKE });
    expect(f!.score).toBeGreaterThan(DEFAULT_THRESHOLDS.MOVEMENT_SPIKE);
    expect(f!.explanation).toMatch(/^sold 60 units on Sunday 2026-06-28 against an expected [\d.]+ for a Sunday .*robust deviations, threshold 10$/);
  });

  it('keeps quiet about a spike inside a promotion announced for the location or everywhere, not one announced elsewhere', () => {
    const spiked = [series(0, (i) => (i === back(2) ? { sold: 60 } : {})), ...sisters()];
    const promotion = (locationId: string | null): Announcement => ({ sku: SKU, locationId, fromDay: LAST - 3, toDay: LAST - 1 });
    expect(detect(spiked, { announcements: [promotion(loc(0))] })).toEqual([]);
    expect(detect(spiked, { announcements: [promotion(null)] })).toEqual([]);
    expect(detect(spiked, { announcements: [promotion(loc(3))] }).map((f) => f.kind)).toEqual(['MOVEMENT_SPIKE']);
  });

  it('does not count an announced promotion of the past as an ordinary level', () => {
    const past = (i: number) => (i >= 30 && i < 40 ? { sold: 40 } : {});
    const locations = [series(0, (i) => ({ ...past(i), ...(i === back(1) ? { sold: 30 } : {}) })), ...sisters()];
    const announced = detect(locations, { announcements: [{ sku: SKU, locationId: loc(0), fromDay: FIRST + 30, toDay: FIRST + 39 }] });
    expect(announced.map((f) => f.kind)).toEqual(['MOVEMENT_SPIKE']);
  });

  it('flags a large loss, or a run of smaller ones, against the losses the series usually has', () => {
    const usual = (i: number) => (i % 20 === 7 && i < back(6) ? { shrink: 1 } : {});
    const once = detect([series(0, (i) => (i === back(3) ? { shrink: 14 } : usual(i))), ...sisters()]);
    expect(once).toHaveLength(1);
    expect(once[0]).toMatchObject({ kind: 'SHRINKAGE', observed: 14, units: 14, day: LAST - 3 });
    expect(once[0]!.explanation).toMatch(/^shrinkage of 14 units in the 7 days to 2026-06-30 \(14 on 2026-06-27\) against a usual 0 per 7 days/);
    const run = detect([series(0, (i) => (i >= back(4) ? { shrink: 3 } : usual(i))), ...sisters()]);
    expect(run.map((f) => [f.kind, f.observed])).toEqual([['SHRINKAGE', 15]]);
    expect(detect([series(0, (i) => (i === back(3) ? { shrink: 2 } : usual(i))), ...sisters()])).toEqual([]);
  });

  it('does not flag a store that always loses that much', () => {
    const leaky = series(0, (i) => ({ shrink: i % 2 ? 3 : 0 }));
    expect(detect([leaky, ...sisters()])).toEqual([]);
  });

  it('flags repeated count corrections where the series usually has about none, not where it counts weekly', () => {
    const repeated = series(0, (i) => (i === 20 || [back(0), back(2), back(5), back(6)].includes(i) ? { corrections: 1, correctionUnits: 3 } : {}));
    const [f, ...rest] = detect([repeated, ...sisters()]);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'COUNT_CORRECTIONS', observed: 4, units: 12, day: LAST });
    expect(f!.explanation).toMatch(/^4 cycle-count corrections in the 7 days to 2026-06-30, moving 12 units, where this stock usually has 0.08 per 7 days/);
    const weekly = series(0, (i) => (i % 7 === 0 || i % 7 === 3 ? { corrections: 1, correctionUnits: 1 } : {}));
    expect(detect([weekly, ...sisters()])).toEqual([]);
  });

  it('flags stock that stopped selling while its sister locations sell on', () => {
    const silent = series(0, (i) => (i > back(20) ? { sold: 0, movements: 0, onHandEnd: 12 } : {}));
    const [f, ...rest] = detect([silent, ...sisters()]);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'PHANTOM_STOCK', locationId: loc(0), day: LAST, observed: 20, baseline: 1, units: 12 });
    expect(f!.explanation).toMatch(/^no sale for 20 days to 2026-06-30 with 12 units on hand, where it sold on 70 of 70 stocked days before .* 5 sister locations sold \d+ units meanwhile \(100% of their usual\)$/);
  });

  it('does not flag a silence the sister locations share, nor a shelf restocked yesterday after a stockout', () => {
    const quiet = (i: number) => (i > back(20) ? { sold: 0, movements: 0 } : {});
    expect(detect([series(0, quiet), ...[1, 2, 3].map((n) => series(n, quiet))])).toEqual([]);
    const restocked = series(0, (i) => (i > back(20) ? { sold: 0, movements: 0, onHandEnd: i >= back(1) ? 30 : 0, received: i === back(1) ? 30 : 0 } : {}));
    expect(detect([restocked, ...sisters()])).toEqual([]);
  });

  it('does not flag a slow mover whose gaps are always long', () => {
    const slow = series(0, (i) => ({ sold: i % 9 === 0 && i < back(12) ? 1 : 0, movements: 0, onHandEnd: 6 }));
    expect(detect([slow, ...sisters()])).toEqual([]);
  });

  it('raises a dismissed series\' threshold above the dismissed score for a while, and says so', () => {
    const locations = [series(0, (i) => (i === back(2) ? { sold: 60 } : {})), ...sisters()];
    const [f] = detect(locations);
    const dismissal = (score: number, day: number): AnomalyFeedback => ({ kind: 'MOVEMENT_SPIKE', sku: SKU, locationId: loc(0), score, day });
    expect(detect(locations, { feedback: [dismissal(f!.score, LAST - 20)] })).toEqual([]);
    expect(detect(locations, { feedback: [dismissal(f!.score, LAST - DEFAULT_SETTINGS.feedbackDays - 1)] })).toHaveLength(1);
    expect(detect(locations, { feedback: [{ ...dismissal(f!.score, LAST - 20), locationId: loc(1) }] })).toHaveLength(1);
    const [again] = detect(locations, { feedback: [dismissal(f!.score / 2, LAST - 20)] });
    expect(again!.threshold).toBeCloseTo((f!.score / 2) * DEFAULT_SETTINGS.feedbackMargin);
    expect(again!.explanation).toMatch(/\(threshold raised from 10 by a dismissal of a [\d.]+ on 2026-06-10\)$/);
  });
});

describe('gapChance', () => {
  it('is the chance of so many days without a sale, less sure the fewer days it was measured on', () => {
    expect(gapChance(500, 1000, 10)).toBeCloseTo(0.5 ** 10, 4);
    expect(gapChance(5, 10, 10)).toBeGreaterThan(gapChance(500, 1000, 10));
    expect(gapChance(50, 100, 20)).toBeLessThan(gapChance(50, 100, 10));
  });
});

describe('denseSeries', () => {
  it('fills the days without figures, on-hand carried forward and unknown before the first', () => {
    const s = denseSeries(100, 5, {
      locationId: 'L',
      length: 2,
      day: Int32Array.of(101, 103),
      sold: Int32Array.of(2, 1),
      shrink: Int32Array.of(0, 0),
      corrections: Int32Array.of(0, 1),
      correctionUnits: Int32Array.of(0, 2),
      received: Int32Array.of(0, 0),
      movements: Int32Array.of(2, 2),
      onHandEnd: Float64Array.of(8, NaN),
    });
    expect([...s.sold]).toEqual([0, 2, 0, 1, 0]);
    expect([...s.corrections]).toEqual([0, 0, 0, 1, 0]);
    expect([...s.onHandEnd]).toEqual([NaN, 8, 8, 8, 8]);
  });
});

describe('detectTrends', () => {
  const lag = (value: (i: number) => number): TrendSeries => ({
    channelId: 'C1',
    kind: 'SYNC_LAG_TREND',
    days: Array.from({ length: DAYS }, (_, i) => ({ day: FIRST + i, value: value(i) })),
  });
  const noise = (i: number) => 30 + [0, 4, -3, 6, -5, 2, -2, 5, -4, 1][i % 10]!;

  it('flags a lag that keeps rising above its baseline, explaining the figures', () => {
    const [t, ...rest] = detectTrends([lag((i) => (i > back(10) ? noise(i) * 1.2 ** (i - back(10)) : noise(i)))], {}, [], { lastDay: LAST });
    expect(rest).toEqual([]);
    expect(t).toMatchObject({ kind: 'SYNC_LAG_TREND', channelId: 'C1', day: LAST, baseline: 30.5 });
    expect(t!.explanation).toMatch(/^sync lag of [\d.]+ s on 2026-06-30, the last 3 days' median [\d.]+ s, against a baseline median of 30.5 s .*above the threshold for \d+ days in a row/);
  });

  it('does not flag steady figures, nor a one-day incident however large', () => {
    expect(detectTrends([lag(noise)], {}, [], { lastDay: LAST })).toEqual([]);
    for (const k of [0, 1, 2, 4]) expect(detectTrends([lag((i) => (i === back(k) ? 900 : noise(i)))], {}, [], { lastDay: LAST })).toEqual([]);
  });

  it('counts a day without drift lines as none, and respects a dismissal of the channel', () => {
    const drift: TrendSeries = { channelId: 'C2', kind: 'DRIFT_TREND', days: [] };
    for (let i = 0; i < DAYS; i++) {
      const value = i > back(8) ? 3 + (i - back(8)) * 2 : i % 3 === 0 ? 1 : 0;
      if (value) drift.days.push({ day: FIRST + i, value });
    }
    const [t] = detectTrends([drift], {}, [], { lastDay: LAST });
    expect(t).toMatchObject({ kind: 'DRIFT_TREND', channelId: 'C2', baseline: 0 });
    const dismissed: AnomalyFeedback = { kind: 'DRIFT_TREND', sku: null, locationId: null, channelId: 'C2', score: t!.score, day: LAST };
    expect(detectTrends([drift], {}, [dismissed], { lastDay: LAST })).toEqual([]);
  });
});
