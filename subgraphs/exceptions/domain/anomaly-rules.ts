import { gammaln, median, medianAbsoluteDeviation } from 'simple-statistics';
import { dayLabel, type DailyFigures } from './ledger-rules.js';

/**
 * Anomaly detection on the movement ledger's daily figures and on the sync figures of channels.
 * Every rule compares the most recent days with a robust baseline of the series' own past (medians,
 * MADs, trimmed means, EWMAs: one past promotion or theft does not move them), and every finding
 * says in a sentence which figures made it fire. Pure: the service reads the figures and acts.
 *
 * The ledger rules work per SKU on typed arrays (one per figure and location, dense over the
 * window): 2,000 SKUs × 28 locations × 90 days is five million figures of each kind, and a rule
 * that allocated per point would spend its time collecting garbage.
 */

export const ANOMALY_KINDS = ['SHRINKAGE', 'PHANTOM_STOCK', 'COUNT_CORRECTIONS', 'MOVEMENT_SPIKE', 'SYNC_LAG_TREND', 'DRIFT_TREND'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];
export const isAnomalyKind = (kind: string): kind is AnomalyKind => (ANOMALY_KINDS as readonly string[]).includes(kind);
export const LEDGER_KINDS = ['SHRINKAGE', 'PHANTOM_STOCK', 'COUNT_CORRECTIONS', 'MOVEMENT_SPIKE'] as const satisfies readonly AnomalyKind[];
export type LedgerKind = (typeof LEDGER_KINDS)[number];
export const TREND_KINDS = ['SYNC_LAG_TREND', 'DRIFT_TREND'] as const satisfies readonly AnomalyKind[];
export type TrendKind = (typeof TREND_KINDS)[number];

/**
 * The score above which each kind fires, in the unit of its score:
 * - SHRINKAGE: robust deviations of the window's shrinkage above the series' usual shrinkage per window
 * - PHANTOM_STOCK: −log10 of the chance that the series goes this long without a sale, given how often it sold before
 * - COUNT_CORRECTIONS: deviations of the window's corrections above the series' usual count (Poisson scale)
 * - MOVEMENT_SPIKE: robust deviations of a day's units sold (or movements) above its weekday's expectation
 * - SYNC_LAG_TREND, DRIFT_TREND: EWMA deviations above the baseline (EWMA control-chart scale)
 */
export type AnomalyThresholds = Record<AnomalyKind, number>;

export const DEFAULT_THRESHOLDS: AnomalyThresholds = {
  SHRINKAGE: 6,
  PHANTOM_STOCK: 5.5,
  COUNT_CORRECTIONS: 4,
  MOVEMENT_SPIKE: 10,
  SYNC_LAG_TREND: 3.5,
  DRIFT_TREND: 3.5,
};

/** How the rules look, beside the thresholds. */
export interface DetectionSettings {
  /** The most recent days, where a finding may fire; the days before them are the baseline. */
  detectionDays: number;
  /** Fewer baseline days than this (a new series) and a series is not judged. */
  minBaselineDays: number;
  /** A phantom-stock gap is at least this many days, however fast the series sells. */
  phantomMinDays: number;
  /** Phantom stock needs the sister locations to have sold at least this share of their usual units during the gap. */
  sisterShare: number;
  /** A series' usual gap between sales is known from at least this many days with a sale before the gap. */
  phantomMinSaleDays: number;
  /** Repeated corrections are at least this many in the detection window. */
  minCorrections: number;
  /** A dismissal keeps its series quiet for this many days. */
  feedbackDays: number;
  /** A dismissed series fires again only above this multiple of the dismissed score. */
  feedbackMargin: number;
  /** Trends: the EWMA's weight of each new day. */
  trendAlpha: number;
  /** Trends: the most recent days, not part of the baseline. */
  trendRecentDays: number;
  /** Trends: days in a row the EWMA must stay above the threshold, and whose figures' median must stay above the baseline. */
  trendPersistDays: number;
  /** Trends: a day's figure enters the EWMA at most this many spreads above the baseline median (one incident adds little). */
  trendClip: number;
}

export const DEFAULT_SETTINGS: DetectionSettings = {
  detectionDays: 7,
  minBaselineDays: 28,
  phantomMinDays: 7,
  sisterShare: 0.5,
  phantomMinSaleDays: 8,
  minCorrections: 3,
  feedbackDays: 60,
  feedbackMargin: 1.25,
  trendAlpha: 0.3,
  trendRecentDays: 14,
  trendPersistDays: 3,
  trendClip: 3,
};

/** A promotion announced in advance: a spike inside it is expected, and its days are no baseline. locationId null: every location. */
export interface Announcement {
  sku: string;
  locationId: string | null;
  fromDay: number;
  toDay: number;
}

/**
 * Someone marked a finding "not an anomaly": for `feedbackDays` after `day`, the series (SKU and
 * location, or channel for trends) fires for that kind only above `feedbackMargin` × `score`.
 */
export interface AnomalyFeedback {
  kind: AnomalyKind;
  sku: string | null;
  locationId: string | null;
  /** Trends only. */
  channelId?: string | null;
  score: number;
  day: number;
}

export interface AnomalyFinding {
  kind: LedgerKind;
  sku: string;
  locationId: string;
  /** The day that made it fire (the window's last day for phantom stock). */
  day: number;
  score: number;
  /** The threshold it crossed: the kind's, or higher after a dismissal. */
  threshold: number;
  /** The figure observed (units, corrections, days without a sale). */
  observed: number;
  /** What the baseline expected of it, in the same unit. */
  baseline: number;
  /** Units at risk where meaningful (units shrunk or moved above the usual, on-hand not selling); null otherwise. */
  units: number | null;
  explanation: string;
}

export interface TrendFinding {
  kind: TrendKind;
  channelId: string;
  day: number;
  score: number;
  threshold: number;
  /** The figure's EWMA on `day` (seconds of lag, drift lines). */
  observed: number;
  /** The baseline's median. */
  baseline: number;
  explanation: string;
}

/** One series (a SKU at a location) over the window: index i is day `firstDay + i`. */
export interface LocationSeries {
  locationId: string;
  sold: Int32Array;
  shrink: Int32Array;
  corrections: Int32Array;
  correctionUnits: Int32Array;
  received: Int32Array;
  movements: Int32Array;
  /** On-hand at the end of each day; NaN until a day of the window says what it is. */
  onHandEnd: Float64Array;
}

/** Every series of one SKU over the same window. */
export interface SkuWindow {
  sku: string;
  firstDay: number;
  days: number;
  locations: LocationSeries[];
}

/** The days a series has figures for, columnar (as the ledger stores them: days without a movement have no row). */
export interface SparseSeries {
  locationId: string;
  length: number;
  day: Int32Array;
  sold: Int32Array;
  shrink: Int32Array;
  corrections: Int32Array;
  correctionUnits: Int32Array;
  received: Int32Array;
  movements: Int32Array;
  /** NaN where the row said nothing of on-hand. */
  onHandEnd: Float64Array;
}

/** A series' per-day figure columns for `days` days, zeroed; on-hand NaN (not known yet). */
export function figureColumns(days: number): Omit<LocationSeries, 'locationId'> {
  return {
    sold: new Int32Array(days),
    shrink: new Int32Array(days),
    corrections: new Int32Array(days),
    correctionUnits: new Int32Array(days),
    received: new Int32Array(days),
    movements: new Int32Array(days),
    onHandEnd: new Float64Array(days).fill(NaN),
  };
}

/**
 * The dense series of a window from the days that have figures: a day without figures sold and
 * moved nothing and kept the on-hand of the day before. Days outside the window are ignored.
 */
export function denseSeries(firstDay: number, days: number, s: SparseSeries): LocationSeries {
  const out: LocationSeries = { locationId: s.locationId, ...figureColumns(days) };
  for (let k = 0; k < s.length; k++) {
    const i = s.day[k]! - firstDay;
    if (i < 0 || i >= days) continue;
    out.sold[i] = s.sold[k]!;
    out.shrink[i] = s.shrink[k]!;
    out.corrections[i] = s.corrections[k]!;
    out.correctionUnits[i] = s.correctionUnits[k]!;
    out.received[i] = s.received[k]!;
    out.movements[i] = s.movements[k]!;
    out.onHandEnd[i] = s.onHandEnd[k]!;
  }
  for (let i = 1; i < days; i++) if (Number.isNaN(out.onHandEnd[i]!)) out.onHandEnd[i] = out.onHandEnd[i - 1]!;
  return out;
}

/** The same from plain figures (tests, small callers). */
export function seriesFromFigures(locationId: string, firstDay: number, days: number, figures: readonly DailyFigures[]): LocationSeries {
  const n = figures.length;
  const col = (f: (d: DailyFigures) => number) => Int32Array.from(figures, f);
  return denseSeries(firstDay, days, {
    locationId,
    length: n,
    day: col((d) => d.day),
    sold: col((d) => d.sold),
    shrink: col((d) => d.shrink),
    corrections: col((d) => d.corrections),
    correctionUnits: col((d) => d.correctionUnits),
    received: col((d) => d.received),
    movements: col((d) => d.movements),
    onHandEnd: Float64Array.from(figures, (d) => d.onHandEnd ?? NaN),
  });
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
/** 0 = Monday (1970-01-01 was a Thursday). */
export const weekdayOf = (day: number) => (((day + 3) % 7) + 7) % 7;

/** MAD × 1.4826 is the standard deviation of normal data: "robust deviations" read like z-scores. */
const MAD_TO_SD = 1.4826;
/**
 * Weight, in units sold, of the even week a SKU's weekday factors are drawn towards: a slow SKU's
 * few sales say little about its week.
 */
const WEEKDAY_PRIOR_UNITS = 20;
/** Share of baseline days trimmed from each end for a level: a few spike days do not raise it. */
const TRIM = 0.05;
/** Units: the least spread of a window's shrinkage (see shrinkageOf). */
const SHRINK_MIN_SPREAD = 1.5;

/** What the rules need besides the figures, indexed once per detection run. */
export interface LedgerContext {
  /** The window's last day: detection looks at the `detectionDays` ending here. */
  lastDay: number;
  thresholds: AnomalyThresholds;
  settings: DetectionSettings;
  announcements: Map<string, Announcement[]>;
  /** Highest dismissed score per kind and series still in force. */
  dismissed: Map<string, { score: number; day: number }>;
  /** Scratch space reused by every series. */
  scratch: Float64Array;
  scratch2: Float64Array;
}

const feedbackKey = (kind: AnomalyKind, a: string | null, b: string | null) => `${kind}\u0000${a ?? ''}\u0000${b ?? ''}`;

/** Indexes announcements and feedback for a run whose window ends on `lastDay`. */
export function ledgerContext(input: {
  lastDay: number;
  windowDays: number;
  announcements?: readonly Announcement[];
  feedback?: readonly AnomalyFeedback[];
  thresholds?: Partial<AnomalyThresholds>;
  settings?: Partial<DetectionSettings>;
}): LedgerContext {
  const settings = { ...DEFAULT_SETTINGS, ...input.settings };
  const announcements = new Map<string, Announcement[]>();
  for (const a of input.announcements ?? []) {
    const list = announcements.get(a.sku);
    if (list) list.push(a);
    else announcements.set(a.sku, [a]);
  }
  return {
    lastDay: input.lastDay,
    thresholds: { ...DEFAULT_THRESHOLDS, ...input.thresholds },
    settings,
    announcements,
    dismissed: dismissals(input.feedback ?? [], input.lastDay, settings),
    scratch: new Float64Array(Math.max(input.windowDays, 8)),
    scratch2: new Float64Array(Math.max(input.windowDays, 8)),
  };
}

function dismissals(feedback: readonly AnomalyFeedback[], lastDay: number, settings: DetectionSettings): Map<string, { score: number; day: number }> {
  const out = new Map<string, { score: number; day: number }>();
  for (const f of feedback) {
    // A dismissal made after the window's last day (today, of last night's finding) counts too.
    if (lastDay - f.day > settings.feedbackDays) continue;
    const isTrend = (TREND_KINDS as readonly string[]).includes(f.kind);
    const key = isTrend ? feedbackKey(f.kind, f.channelId ?? f.sku, null) : feedbackKey(f.kind, f.sku, f.locationId);
    const prior = out.get(key);
    if (!prior || f.score > prior.score) out.set(key, { score: f.score, day: f.day });
  }
  return out;
}

/** The threshold a series must cross, and why it is not the kind's own. */
function thresholdOf(ctx: { thresholds: AnomalyThresholds; settings: DetectionSettings; dismissed: LedgerContext['dismissed'] }, kind: AnomalyKind, a: string, b: string | null) {
  const base = ctx.thresholds[kind];
  const d = ctx.dismissed.get(feedbackKey(kind, a, b));
  if (!d) return { threshold: base, note: '' };
  const raised = d.score * ctx.settings.feedbackMargin;
  if (raised <= base) return { threshold: base, note: '' };
  return { threshold: raised, note: ` (threshold raised from ${fmt(base)} by a dismissal of a ${fmt(d.score)} on ${dayLabel(d.day)})` };
}

/** Numbers in explanations: whole numbers as such, others to two decimals below 10 and one above. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) < 10 ? 2 : 1).replace(/\.?0+$/, '');
}

const unitsOf = (n: number) => `${fmt(n)} unit${n === 1 ? '' : 's'}`;

/** Median of a[0..n), sorting it in place. */
function medianInPlace(a: Float64Array, n: number): number {
  if (n === 0) return 0;
  const s = a.subarray(0, n).sort();
  const mid = n >> 1;
  return n % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median absolute deviation of a[0..n) around `center`, using `tmp`. */
function madInPlace(a: Float64Array, n: number, center: number, tmp: Float64Array): number {
  for (let k = 0; k < n; k++) tmp[k] = Math.abs(a[k]! - center);
  return medianInPlace(tmp, n);
}

/** Mean of a[0..n) without the `trim` share at each end, sorting it in place. */
function trimmedMeanInPlace(a: Float64Array, n: number, trim: number): number {
  if (n === 0) return 0;
  const s = a.subarray(0, n).sort();
  const cut = Math.floor(n * trim);
  let sum = 0;
  for (let k = cut; k < n - cut; k++) sum += s[k]!;
  return sum / (n - 2 * cut);
}

/** Per day of the window: 1 when a promotion announced for the SKU at this location covers it. */
function promotedDays(list: Announcement[] | undefined, locationId: string, firstDay: number, days: number, out: Uint8Array): Uint8Array {
  out.fill(0);
  if (!list) return out;
  for (const a of list) {
    if (a.locationId !== null && a.locationId !== locationId) continue;
    const from = Math.max(0, a.fromDay - firstDay);
    const to = Math.min(days - 1, a.toDay - firstDay);
    for (let i = from; i <= to; i++) out[i] = 1;
  }
  return out;
}

/**
 * Runs the ledger rules on every series of one SKU: at most one finding per kind and series, the
 * strongest day of the window.
 */
export function detectLedgerAnomalies(w: SkuWindow, ctx: LedgerContext): AnomalyFinding[] {
  const { days, firstDay } = w;
  const s = ctx.settings;
  const windowStart = days - s.detectionDays;
  if (windowStart < s.minBaselineDays || w.locations.length === 0) return [];
  const findings: AnomalyFinding[] = [];
  const announced = ctx.announcements.get(w.sku);
  const promos = w.locations.map((l) => promotedDays(announced, l.locationId, firstDay, days, new Uint8Array(days)));

  // The SKU's week, from every location's baseline days (one location's few weeks are too noisy),
  // and its daily units sold over all locations, for the sister locations of phantom stock.
  const total = new Float64Array(days);
  const weekSum = new Float64Array(7);
  const weekDays = new Float64Array(7);
  w.locations.forEach((l, k) => {
    const promo = promos[k]!;
    for (let i = 0; i < days; i++) {
      total[i] += l.sold[i]!;
      if (i < windowStart && !promo[i]) {
        const wd = weekdayOf(firstDay + i);
        weekSum[wd] += l.sold[i]!;
        weekDays[wd]++;
      }
    }
  });
  const factor = weekdayFactors(weekSum, weekDays);
  const units = spikeBaselines(w, promos, factor, windowStart, ctx, 'units');
  const moves = spikeBaselines(w, promos, factor, windowStart, ctx, 'movements');

  w.locations.forEach((l, k) => {
    const spike = spikeOf(w, k, promos[k]!, factor, windowStart, ctx, units, moves);
    if (spike) findings.push(spike);
    const shrink = shrinkageOf(w, l, windowStart, ctx);
    if (shrink) findings.push(shrink);
    const counts = correctionsOf(w, l, windowStart, ctx);
    if (counts) findings.push(counts);
    const phantom = phantomOf(w, l, total, ctx);
    if (phantom) findings.push(phantom);
  });
  return findings;
}

/** Weekday factors of a SKU's sales (mean 1), drawn towards an even week in proportion to how little it sold. */
function weekdayFactors(sum: Float64Array, days: Float64Array): Float64Array {
  let all = 0;
  let n = 0;
  for (let d = 0; d < 7; d++) {
    all += sum[d]!;
    n += days[d]!;
  }
  const f = new Float64Array(7).fill(1);
  if (all <= 0 || n <= 0) return f;
  const perDay = all / n;
  let mean = 0;
  for (let d = 0; d < 7; d++) {
    f[d] = days[d]! > 0 ? (sum[d]! + WEEKDAY_PRIOR_UNITS) / (days[d]! * perDay + WEEKDAY_PRIOR_UNITS) : 1;
    mean += f[d]! / 7;
  }
  for (let d = 0; d < 7; d++) f[d] /= mean;
  return f;
}

/** A day the series had nothing to sell: it ended at zero and sold nothing. Its zero says nothing of demand. */
const stockedOut = (l: LocationSeries, i: number) => l.onHandEnd[i] === 0 && l.sold[i] === 0;

/** What the spike rule knows of one figure (units sold or movements) of a SKU's series before the window. */
interface SpikeBaselines {
  what: 'units' | 'movements';
  /** Per location: the trimmed mean of the weekday-adjusted baseline days; NaN with too few. */
  level: Float64Array;
  /** Per location: the MAD of the baseline's residuals, as a standard deviation. */
  spread: Float64Array;
  /**
   * The SKU's over-dispersion φ (variance = μ + φμ²), pooled over its locations' baseline days:
   * retail demand comes in bursts, and a spread taken from the MAD of a series that sells a unit
   * or two a day misses how far its good days reach.
   */
  dispersion: number;
}

const figureOf = (l: LocationSeries, what: SpikeBaselines['what']) => (what === 'units' ? l.sold : l.movements);

function spikeBaselines(w: SkuWindow, promos: Uint8Array[], factor: Float64Array, windowStart: number, ctx: LedgerContext, what: SpikeBaselines['what']): SpikeBaselines {
  const n = w.locations.length;
  const out: SpikeBaselines = { what, level: new Float64Array(n).fill(NaN), spread: new Float64Array(n), dispersion: 0 };
  let excess = 0;
  let squares = 0;
  const y = ctx.scratch;
  w.locations.forEach((l, k) => {
    const xs = figureOf(l, what);
    const promo = promos[k]!;
    let m = 0;
    for (let i = 0; i < windowStart; i++) {
      if (promo[i] || stockedOut(l, i)) continue;
      y[m++] = xs[i]! / factor[weekdayOf(w.firstDay + i)]!;
    }
    if (m < ctx.settings.minBaselineDays) return;
    const level = trimmedMeanInPlace(y, m, TRIM);
    m = 0;
    for (let i = 0; i < windowStart; i++) {
      if (promo[i] || stockedOut(l, i)) continue;
      const mu = level * factor[weekdayOf(w.firstDay + i)]!;
      const r = xs[i]! - mu;
      // Winsorised, so one past spike does not pass for the SKU's everyday burstiness.
      const cap = 4 * Math.sqrt(mu + mu * mu) + 2;
      excess += Math.min(r * r, cap * cap) - mu;
      squares += mu * mu;
      y[m++] = r;
    }
    out.level[k] = level;
    out.spread[k] = MAD_TO_SD * madInPlace(y, m, medianInPlace(y, m), ctx.scratch2);
  });
  out.dispersion = squares > 0 ? Math.max(0, excess / squares) : 0;
  return out;
}

/**
 * MOVEMENT_SPIKE: a day of the window whose units sold (or movements) stand far above what its
 * weekday expects, outside an announced promotion. Expected μ = the series' trimmed daily level ×
 * the SKU's weekday factor; the spread is the largest of the MAD of the baseline's residuals, the
 * negative-binomial spread √(μ + φμ²) with the SKU's dispersion φ, and one unit.
 */
function spikeOf(
  w: SkuWindow,
  k: number,
  promo: Uint8Array,
  factor: Float64Array,
  windowStart: number,
  ctx: LedgerContext,
  ...figures: SpikeBaselines[]
): AnomalyFinding | null {
  const l = w.locations[k]!;
  let best: { score: number; i: number; x: number; mu: number; sd: number; b: SpikeBaselines } | null = null;
  for (const b of figures) {
    const level = b.level[k]!;
    if (Number.isNaN(level)) return null;
    const xs = figureOf(l, b.what);
    for (let i = windowStart; i < w.days; i++) {
      if (promo[i]) continue;
      const mu = level * factor[weekdayOf(w.firstDay + i)]!;
      const sd = Math.max(b.spread[k]!, Math.sqrt(mu + b.dispersion * mu * mu), 1);
      const score = (xs[i]! - mu) / sd;
      if (!best || score > best.score) best = { score, i, x: xs[i]!, mu, sd, b };
    }
  }
  if (!best) return null;
  const { threshold, note } = thresholdOf(ctx, 'MOVEMENT_SPIKE', w.sku, l.locationId);
  if (best.score <= threshold) return null;
  const day = w.firstDay + best.i;
  const wd = weekdayOf(day);
  const subject = best.b.what === 'units' ? `sold ${fmt(best.x)} units` : `recorded ${fmt(best.x)} movements`;
  return {
    kind: 'MOVEMENT_SPIKE',
    sku: w.sku,
    locationId: l.locationId,
    day,
    score: best.score,
    threshold,
    observed: best.x,
    baseline: best.mu,
    units: best.b.what === 'units' ? Math.round(best.x - best.mu) : null,
    explanation:
      `${subject} on ${WEEKDAYS[wd]} ${dayLabel(day)} against an expected ${fmt(best.mu)} for a ${WEEKDAYS[wd]} ` +
      `(daily level ${fmt(best.b.level[k]!)} × weekday factor ${fmt(factor[wd]!)}; spread ${fmt(best.sd)}, the SKU's dispersion ${fmt(best.b.dispersion)}), ` +
      `no promotion announced: ${fmt(best.score)} robust deviations, threshold ${fmt(threshold)}${note}`,
  };
}

/**
 * SHRINKAGE: the window's shrinkage against the series' usual shrinkage per window of the same
 * length, so one large loss and a steady run of small ones both show. Usual = the median of the
 * baseline's rolling sums. Spread = the largest of their MAD, the spread of the losses the series
 * usually has (on a share ρ of days, typically m units each: m·√(2·ρ·window), the factor 2 for
 * losses of uneven size) and `SHRINK_MIN_SPREAD` units: losses come a unit or two at a time, and
 * a series that never lost any still loses one now and then.
 */
function shrinkageOf(w: SkuWindow, l: LocationSeries, windowStart: number, ctx: LedgerContext): AnomalyFinding | null {
  const len = w.days - windowStart;
  let observed = 0;
  let peak = 0;
  let peakDay = windowStart;
  for (let i = windowStart; i < w.days; i++) {
    observed += l.shrink[i]!;
    if (l.shrink[i]! > peak) {
      peak = l.shrink[i]!;
      peakDay = i;
    }
  }
  if (observed === 0) return null;
  const sums = ctx.scratch;
  const sizes = ctx.scratch2;
  let n = 0;
  let lossDays = 0;
  let run = 0;
  for (let i = 0; i < windowStart; i++) {
    if (l.shrink[i]! > 0) sizes[lossDays++] = l.shrink[i]!;
    run += l.shrink[i]!;
    if (i >= len) run -= l.shrink[i - len]!;
    if (i >= len - 1) sums[n++] = run;
  }
  if (n === 0) return null;
  const share = lossDays / windowStart;
  // The typical loss leaves the largest out: one past theft (or a dismissed one) is no habit.
  const size = lossDays > 1 ? medianInPlace(sizes.subarray(0, lossDays).sort(), lossDays - 1) : 0;
  const usual = medianInPlace(sums, n);
  const mad = madInPlace(sums, n, usual, ctx.scratch2);
  const sd = Math.max(MAD_TO_SD * mad, size * Math.sqrt(2 * share * len), SHRINK_MIN_SPREAD);
  const score = (observed - usual) / sd;
  const { threshold, note } = thresholdOf(ctx, 'SHRINKAGE', w.sku, l.locationId);
  if (score <= threshold) return null;
  const day = w.firstDay + peakDay;
  const last = w.firstDay + w.days - 1;
  return {
    kind: 'SHRINKAGE',
    sku: w.sku,
    locationId: l.locationId,
    day,
    score,
    threshold,
    observed,
    baseline: usual,
    units: Math.round(observed - usual),
    explanation:
      `shrinkage of ${fmt(observed)} units in the ${len} days to ${dayLabel(last)} (${fmt(peak)} on ${dayLabel(day)}) against a usual ` +
      `${fmt(usual)} per ${len} days (losses on ${lossDays} of the ${windowStart} days before${lossDays > 1 ? `, typically ${unitsOf(size)}` : ''}; MAD ${fmt(mad)}, spread ${fmt(sd)}): ` +
      `${fmt(score)} robust deviations, threshold ${fmt(threshold)}${note}`,
  };
}

/**
 * COUNT_CORRECTIONS: several cycle-count corrections in the window where the series usually has
 * about none. Expected = the baseline's corrections per day × the window; the spread is Poisson's,
 * at least half a correction.
 */
function correctionsOf(w: SkuWindow, l: LocationSeries, windowStart: number, ctx: LedgerContext): AnomalyFinding | null {
  let observed = 0;
  let units = 0;
  let lastIdx = windowStart;
  for (let i = windowStart; i < w.days; i++) {
    if (l.corrections[i]! > 0) lastIdx = i;
    observed += l.corrections[i]!;
    units += l.correctionUnits[i]!;
  }
  if (observed < ctx.settings.minCorrections) return null;
  let before = 0;
  for (let i = 0; i < windowStart; i++) before += l.corrections[i]!;
  const len = w.days - windowStart;
  const expected = (before / windowStart) * len;
  const sd = Math.sqrt(Math.max(expected, 0.25));
  const score = (observed - expected) / sd;
  const { threshold, note } = thresholdOf(ctx, 'COUNT_CORRECTIONS', w.sku, l.locationId);
  if (score <= threshold) return null;
  const last = w.firstDay + w.days - 1;
  return {
    kind: 'COUNT_CORRECTIONS',
    sku: w.sku,
    locationId: l.locationId,
    day: w.firstDay + lastIdx,
    score,
    threshold,
    observed,
    baseline: expected,
    units,
    explanation:
      `${observed} cycle-count corrections in the ${len} days to ${dayLabel(last)}, moving ${units} units, where this stock usually has ` +
      `${fmt(expected)} per ${len} days (${before} in the ${windowStart} days before): ${fmt(score)} deviations, threshold ${fmt(threshold)}${note}`,
  };
}

/**
 * PHANTOM_STOCK: the series has had stock and no sale for far longer than its usual gap between
 * sales, while its sister locations keep selling the SKU. The gap counts only days that opened with
 * stock (a location restocked yesterday after a stockout has a gap of a day). The usual gap is 1 /
 * the share of stocked days with a sale before the gap; the score is −log10 of the chance of a gap
 * this long given that history (gapChance), so a share measured on few sales counts for less.
 */
function phantomOf(w: SkuWindow, l: LocationSeries, total: Float64Array, ctx: LedgerContext): AnomalyFinding | null {
  const { days } = w;
  const last = days - 1;
  const onHand = l.onHandEnd[last]!;
  if (!(onHand > 0)) return null;
  let gap = 0;
  for (let i = last; i >= 1; i--) {
    if (l.sold[i]! > 0 || !(l.onHandEnd[i - 1]! > 0)) break;
    gap++;
  }
  if (gap < ctx.settings.phantomMinDays) return null;
  const start = days - gap;
  if (start < ctx.settings.minBaselineDays) return null;
  let stocked = 0;
  let selling = 0;
  for (let i = 0; i < start; i++) {
    if (stockedOut(l, i)) continue;
    stocked++;
    if (l.sold[i]! > 0) selling++;
  }
  if (stocked < ctx.settings.minBaselineDays || selling < ctx.settings.phantomMinSaleDays) return null;
  const share = selling / stocked;
  const chance = gapChance(selling, stocked, gap);
  const score = -Math.log10(chance);
  const { threshold, note } = thresholdOf(ctx, 'PHANTOM_STOCK', w.sku, l.locationId);
  if (score <= threshold) return null;
  // Sister locations: everything the SKU sold elsewhere, during the gap against before it.
  let sisterBefore = 0;
  for (let i = 0; i < start; i++) sisterBefore += total[i]! - l.sold[i]!;
  let sisterGap = 0;
  for (let i = start; i < days; i++) sisterGap += total[i]! - l.sold[i]!;
  const sisterUsual = (sisterBefore / start) * gap;
  if (sisterGap <= 0 || sisterGap < ctx.settings.sisterShare * sisterUsual) return null;
  let sellingSisters = 0;
  for (const o of w.locations) {
    if (o === l) continue;
    for (let i = start; i < days; i++) {
      if (o.sold[i]! > 0) {
        sellingSisters++;
        break;
      }
    }
  }
  const usualGap = 1 / share;
  const lastDay = w.firstDay + last;
  return {
    kind: 'PHANTOM_STOCK',
    sku: w.sku,
    locationId: l.locationId,
    day: lastDay,
    score,
    threshold,
    observed: gap,
    baseline: usualGap,
    units: onHand,
    explanation:
      `no sale for ${gap} days to ${dayLabel(lastDay)} with ${fmt(onHand)} units on hand, where it sold on ${selling} of ${stocked} stocked days before ` +
      `(a sale every ${usualGap === 1 ? 'day' : `${fmt(usualGap)} days`}; the gap is ${fmt(gap * share)}× that): a gap this long comes by chance once in ${odds(chance)} ` +
      `(score ${fmt(score)} = −log10 of that chance, threshold ${fmt(threshold)}${note}); ` +
      `${sellingSisters} sister locations sold ${fmt(sisterGap)} units meanwhile (${Math.round((100 * sisterGap) / Math.max(sisterUsual, 1e-9))}% of their usual)`,
  };
}

/** 1 / chance in words: "52,000", "3.1 million", "10^14". */
function odds(chance: number): string {
  const n = 1 / chance;
  if (n >= 1e9) return `10^${Math.round(Math.log10(n))}`;
  if (n >= 1e6) return `${fmt(n / 1e6)} million`;
  return Math.round(n).toLocaleString('en-GB');
}

/** A channel's daily figure: the day's longest sync lag in seconds, or its drift lines. */
export interface TrendSeries {
  channelId: string;
  kind: TrendKind;
  days: { day: number; value: number }[];
}

const TREND_WHAT: Record<TrendKind, { name: string; unit: string }> = {
  SYNC_LAG_TREND: { name: 'sync lag', unit: ' s' },
  DRIFT_TREND: { name: 'drift', unit: ' lines' },
};

/**
 * SYNC_LAG_TREND, DRIFT_TREND: a channel whose daily figure has risen above its baseline and
 * stays there. The baseline is every day before the most recent `trendRecentDays`: its median and
 * MAD (the spread at least the Poisson spread of the median and at least one). An EWMA runs over the
 * whole series from the baseline's median, each day counted at most `trendClip` spreads above
 * the median (one incident, however large, adds little); it fires when, for `trendPersistDays` days in a row up
 * to the last, the EWMA stood more than the threshold above the median (in EWMA deviations: the
 * spread × √(α / (2 − α)), as in an EWMA control chart) and the median of those days' own figures
 * is more than one spread above it. A one-day incident lifts the EWMA for days, but not that median.
 */
export function detectTrends(
  series: readonly TrendSeries[],
  thresholds: Partial<AnomalyThresholds> = {},
  feedback: readonly AnomalyFeedback[] = [],
  options: { settings?: Partial<DetectionSettings>; lastDay?: number } = {},
): TrendFinding[] {
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const all = { ...DEFAULT_THRESHOLDS, ...thresholds };
  let lastOfAll = options.lastDay ?? -Infinity;
  if (options.lastDay === undefined) for (const s of series) for (const d of s.days) lastOfAll = Math.max(lastOfAll, d.day);
  const ctx = { thresholds: all, settings, dismissed: dismissals(feedback, lastOfAll, settings) };
  const alpha = settings.trendAlpha;
  const findings: TrendFinding[] = [];
  for (const s of series) {
    if (s.days.length === 0) continue;
    const sorted = [...s.days].sort((a, b) => a.day - b.day);
    const lastDay = options.lastDay ?? sorted[sorted.length - 1]!.day;
    const firstDay = sorted[0]!.day;
    const length = lastDay - firstDay + 1;
    if (length <= settings.trendRecentDays) continue;
    // Drift lines not reported on a day were none; a day without a lag sample has no figure.
    const values = new Float64Array(length).fill(s.kind === 'DRIFT_TREND' ? 0 : NaN);
    for (const d of sorted) if (d.day >= firstDay && d.day <= lastDay) values[d.day - firstDay] = d.value;
    const recentStart = length - settings.trendRecentDays;
    const base: number[] = [];
    for (let i = 0; i < recentStart; i++) if (!Number.isNaN(values[i]!)) base.push(values[i]!);
    if (base.length < settings.minBaselineDays / 2) continue;
    const center = median(base);
    const mad = medianAbsoluteDeviation(base);
    const sd = Math.max(MAD_TO_SD * mad, Math.sqrt(Math.max(center, 0)), 1);
    const ewmaSd = sd * Math.sqrt(alpha / (2 - alpha));
    const { threshold, note } = thresholdOf(ctx, s.kind, s.channelId, null);
    let ewma = center;
    let run = 0;
    let score = 0;
    for (let i = 0; i < length; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) {
        run = 0;
        continue;
      }
      ewma = alpha * Math.min(v, center + settings.trendClip * sd) + (1 - alpha) * ewma;
      score = (ewma - center) / ewmaSd;
      run = score > threshold ? run + 1 : 0;
    }
    if (run < settings.trendPersistDays || Number.isNaN(values[length - 1]!)) continue;
    // Still up now: the median of the last days, which one incident among them cannot lift.
    const recent = [];
    for (let i = length - settings.trendPersistDays; i < length; i++) if (!Number.isNaN(values[i]!)) recent.push(values[i]!);
    const recentMedian = median(recent);
    if (recentMedian <= center + sd) continue;
    const what = TREND_WHAT[s.kind];
    findings.push({
      kind: s.kind,
      channelId: s.channelId,
      day: lastDay,
      score,
      threshold,
      observed: ewma,
      baseline: center,
      explanation:
        `${what.name} of ${fmt(values[length - 1]!)}${what.unit} on ${dayLabel(lastDay)}, the last ${settings.trendPersistDays} days' median ${fmt(recentMedian)}${what.unit}, ` +
        `against a baseline median of ${fmt(center)}${what.unit} (MAD ${fmt(mad)}${what.unit}): its EWMA, each day counted at most ${fmt(center + settings.trendClip * sd)}${what.unit} ` +
        `so that one incident cannot carry it, has stood above the threshold for ${run} days in a row, now ${fmt(score)} deviations up (${fmt(ewma)}${what.unit}), ` +
        `threshold ${fmt(threshold)}${note}`,
    });
  }
  return findings;
}

/**
 * The chance that a series which sold on `selling` of `stocked` days goes `gap` days without a sale:
 * E[(1 − p)^gap] over the Beta(selling + 1, stocked − selling + 1) belief about its share p of sale
 * days. A share measured over a few weeks is uncertain, and a lucky run of sales must not make the
 * ordinary gap that follows look impossible.
 */
export function gapChance(selling: number, stocked: number, gap: number): number {
  const a = selling + 1;
  const b = stocked - selling + 1;
  return Math.exp(gammaln(b + gap) + gammaln(a + b) - gammaln(b) - gammaln(a + b + gap));
}
