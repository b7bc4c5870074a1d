import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import {
  ANOMALY_KINDS,
  type AnomalyFinding,
  type AnomalyKind,
  type Announcement,
  type LocationSeries,
  type SkuWindow,
  type TrendFinding,
  type TrendSeries,
  weekdayOf,
} from '../subgraphs/exceptions/domain/anomaly-rules.js';

/**
 * What the `anomalies` benchmark feeds detection, decided from a seed: 90 days of a retailer's
 * ledger (SKUs at every location, a weekly rhythm, negative-binomial demand on a drifting level,
 * replenishment, stockouts, a little legitimate shrinkage and some cycle-count corrections), the
 * anomalies injected into it, the look-alikes that must not fire, and the channels' sync figures.
 * No I/O: the benchmark writes it through the store and scores what detection finds.
 *
 * Each SKU is generated from a stream of its own (the seed and its number), so the figures can be
 * written one SKU at a time without holding the whole ledger.
 */

export interface AnomalyPlanOptions {
  skus: number;
  locations: number;
  days: number;
  /** Channels, each with a sync-lag and a drift series. */
  channels: number;
  /** Anomalies injected per ledger kind. */
  perKind: number;
  /** Trends injected per trend kind. */
  perTrendKind: number;
  seed: number;
  /** The last day of the ledger (days since 1970-01-01). */
  lastDay: number;
}

export const DEFAULT_PLAN: Omit<AnomalyPlanOptions, 'seed'> = {
  skus: 2000,
  locations: 28,
  days: 90,
  channels: 300,
  perKind: 80,
  perTrendKind: 40,
  // 2026-06-30, a Tuesday: any fixed day keeps a seed's run the same from one day to the next.
  lastDay: 20634,
};

/** Why a series or channel is in the plan: an injected anomaly, or a look-alike that must not fire. */
export type Scenario =
  | { type: 'SHRINKAGE'; day: number; perDay: number[] }
  | { type: 'PHANTOM_STOCK'; gap: number }
  | { type: 'COUNT_CORRECTIONS'; days: number[] }
  | { type: 'MOVEMENT_SPIKE'; day: number; deviations: number; bulk: boolean }
  /** Look-alike: out of stock for weeks, restocked yesterday, nothing sold since. */
  | { type: 'ARRIVED_YESTERDAY'; outFrom: number }
  /** Look-alike, or an anomaly when the second is far larger: a spike or loss dismissed before, then another. */
  | { type: 'DISMISSED'; kind: 'MOVEMENT_SPIKE' | 'SHRINKAGE'; first: number; second: number; deviations: number; secondFactor: number };

export interface PlannedChannel {
  channelId: string;
  lag: TrendSeries;
  drift: TrendSeries;
}

export interface AnomalyPlan {
  options: AnomalyPlanOptions;
  firstDay: number;
  skuIds: string[];
  locationIds: string[];
  /** Units a day each SKU sells at a location of size 1. */
  popularity: Float64Array;
  /** Each SKU's demand dispersion (negative-binomial shape, the same at every location). */
  shape: Float64Array;
  /** Each location's size (demand multiplier). */
  size: Float64Array;
  /** Locations counting every SKU weekly (corrections are their routine). */
  weeklyCounts: Set<number>;
  /** Locations losing several times the usual to shrinkage, every week. */
  highShrink: Set<number>;
  /** A location counting every SKU on one day of the window (one correction each, not repeated). */
  fullCount: { location: number; day: number };
  /** SKUs whose demand faded everywhere for the last weeks (no sister sells them: no phantom stock). */
  fading: Map<number, number>;
  /** Per series (skuIndex * locations + locationIndex). */
  scenarios: Map<number, Scenario>;
  /** Promotions announced in advance, with the factor their demand is multiplied by. */
  promotions: (Announcement & { sku: string; skuIndex: number; location: number | null; factor: number })[];
  /** The day a past detection ran, whose findings on DISMISSED series were marked not anomalies. */
  dismissalDay: number;
  channels: PlannedChannel[];
  /** What should fire: per kind, series keys (`sku|locationId`) or channel ids. */
  truth: Record<AnomalyKind, Set<string>>;
  /** Look-alikes by key, with what they are. */
  lookAlikes: Map<string, string>;
}

export const seriesKey = (sku: string, locationId: string) => `${sku}|${locationId}`;

/**
 * A generator with its whole state drawn from `seed` by splitmix32: pure-rand's own seeding leaves
 * most of xoroshiro's state constant, and streams seeded with neighbouring numbers (one per SKU)
 * would then draw alike for a while (outliers on the same day in unrelated SKUs).
 */
function stream(...seed: number[]): RandomGenerator {
  let x = 0;
  for (const part of seed) x = mix32(x ^ mix32(part));
  const next = () => mix32((x = (x + 0x9e3779b9) | 0));
  return xoroshiro128plus.fromState([next(), next(), next(), next()]);
}

/** splitmix32's finaliser. */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

const uniform = (rng: RandomGenerator) => unsafeUniformIntDistribution(0, 2 ** 30 - 1, rng) / 2 ** 30;
const between = (rng: RandomGenerator, lo: number, hi: number) => lo + (hi - lo) * uniform(rng);
const intBetween = (rng: RandomGenerator, lo: number, hi: number) => unsafeUniformIntDistribution(lo, hi, rng);

function normal(rng: RandomGenerator): number {
  const u = Math.max(uniform(rng), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform(rng));
}

/** Marsaglia and Tsang's gamma(shape, 1). */
function gamma(rng: RandomGenerator, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(Math.max(uniform(rng), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(rng);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = uniform(rng);
    if (Math.log(Math.max(u, 1e-12)) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

function poisson(rng: RandomGenerator, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rng)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = uniform(rng); p > limit; p *= uniform(rng)) k++;
  return k;
}

/** Negative binomial as a gamma-Poisson mixture: mean `mean`, variance mean + mean² / shape. */
const negBinomial = (rng: RandomGenerator, mean: number, shape: number) => (mean <= 0 ? 0 : poisson(rng, (mean * gamma(rng, shape)) / shape));

/** A geometric count from 1: 1 with probability p, 2 with (1 - p)p, … */
function geometric(rng: RandomGenerator, p: number): number {
  let k = 1;
  while (uniform(rng) > p && k < 50) k++;
  return k;
}

/** The retail week, Monday first: Saturday busiest. */
const WEEK = [0.85, 0.8, 0.85, 0.95, 1.15, 1.45, 0.95];
/** Demand's dispersion (negative-binomial shape): lower is burstier. */
const SHAPE = { min: 2, max: 8 };
/** Units per sale beyond the first, on average. */
const EXTRA_UNITS = 0.25;
const SHRINK_PER_DAY = 0.006;
/** Lines a day an injected drift trend adds by its end, at least (a channel with almost no drift). */
const DRIFT_MIN_RISE = 6;
/** The least extra units of an injected spike. */
const SPIKE_MIN_UNITS = 12;
const COUNT_CORRECTS = 0.25;

function uuidFrom(rng: RandomGenerator): string {
  const hex = () => intBetween(rng, 0, 0xffff).toString(16).padStart(4, '0');
  return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${hex()}${hex()}`;
}

/**
 * Standard deviation of one day's units at mean `mean`: sales come as a compound of
 * negative-binomial sales of 1 + Poisson(EXTRA_UNITS) units each.
 */
const sdOf = (mean: number, shape: number) => {
  const perSale = 1 + EXTRA_UNITS;
  const secondMoment = EXTRA_UNITS + perSale * perSale;
  const sales = mean / perSale;
  return Math.sqrt(sales * secondMoment + (mean * mean) / shape);
};

/** Probability of a day with no sale at `mean` sales a day. */
const zeroDay = (mean: number, shape: number) => Math.pow(shape / (shape + mean), shape);

export function planAnomalies(o: AnomalyPlanOptions): AnomalyPlan {
  const rng = stream(o.seed);
  const firstDay = o.lastDay - o.days + 1;
  const skuIds = Array.from({ length: o.skus }, (_, i) => `ANOM-${String(i).padStart(6, '0')}`);
  const locationIds = Array.from({ length: o.locations }, () => uuidFrom(rng));
  const popularity = Float64Array.from({ length: o.skus }, () => Math.exp(Math.log(0.5) + 1.2 * normal(rng)));
  const shape = Float64Array.from({ length: o.skus }, () => between(rng, SHAPE.min, SHAPE.max));
  const size = Float64Array.from({ length: o.locations }, () => Math.exp(0.45 * normal(rng)));
  const L = o.locations;
  const weeklyCounts = new Set([0, 1]);
  const highShrink = new Set([2, 3, 4]);
  const fullCount = { location: L - 1, day: o.lastDay - 3 };
  const windowStart = o.lastDay - 6;

  const fading = new Map<number, number>();
  const scenarios = new Map<number, Scenario>();
  const lookAlikes = new Map<string, string>();
  const truth = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, new Set<string>()])) as Record<AnomalyKind, Set<string>>;
  const keyOf = (series: number) => seriesKey(skuIds[Math.floor(series / L)]!, locationIds[series % L]!);
  const rate = (series: number) => popularity[Math.floor(series / L)]! * size[series % L]!;
  const taken = new Set<number>();
  const takenSku = new Set<number>();
  /** A series not yet used, of a SKU not fading, meeting `ok`. */
  const drawSeries = (ok: (series: number) => boolean): number => {
    for (;;) {
      const s = intBetween(rng, 0, o.skus * L - 1);
      if (!taken.has(s) && !fading.has(Math.floor(s / L)) && ok(s)) {
        taken.add(s);
        return s;
      }
    }
  };

  // SKUs whose demand fades everywhere for the last 3-4 weeks: every location has a long gap, none is phantom.
  for (let n = 0; n < Math.max(3, Math.round(o.skus / 200)); n++) {
    let sku: number;
    do sku = intBetween(rng, 0, o.skus - 1);
    while (fading.has(sku) || popularity[sku]! < 1);
    fading.set(sku, o.lastDay - intBetween(rng, 20, 28));
    takenSku.add(sku);
  }

  for (let n = 0; n < o.perKind; n++) {
    // Phantom stock: a series that sells most days stops selling while keeping its stock. The gap
    // is 14-30 times its usual gap between sales, at least 10 days and at most 45.
    const phantom = drawSeries((s) => rate(s) >= 0.8 && !weeklyCounts.has(s % L) && s % L !== fullCount.location);
    const sellDay = 1 - zeroDay(rate(phantom) / (1 + EXTRA_UNITS), shape[Math.floor(phantom / L)]!);
    const gap = Math.min(45, Math.max(10, Math.round(between(rng, 14, 30) / sellDay)));
    scenarios.set(phantom, { type: 'PHANTOM_STOCK', gap });
    truth.PHANTOM_STOCK.add(keyOf(phantom));

    // Shrinkage: one loss of 10-30 units, or 3-6 units a day for 3-6 days.
    const shrink = drawSeries((s) => rate(s) >= 0.1);
    const sustained = uniform(rng) < 0.5;
    const perDay = sustained ? Array.from({ length: intBetween(rng, 3, 6) }, () => intBetween(rng, 3, 6)) : [intBetween(rng, 10, 30)];
    scenarios.set(shrink, { type: 'SHRINKAGE', day: intBetween(rng, windowStart, o.lastDay - perDay.length + 1), perDay });
    truth.SHRINKAGE.add(keyOf(shrink));

    // Repeated corrections: 3-5 on distinct days of the window.
    const counts = drawSeries((s) => !weeklyCounts.has(s % L));
    const days = new Set<number>();
    const want = intBetween(rng, 3, 5);
    while (days.size < want) days.add(intBetween(rng, windowStart, o.lastDay));
    scenarios.set(counts, { type: 'COUNT_CORRECTIONS', days: [...days].sort((a, b) => a - b) });
    truth.COUNT_CORRECTIONS.add(keyOf(counts));

    // A spike: one day 12-24 standard deviations of the series' own demand above its usual (at least 12 extra units).
    const spike = drawSeries(() => true);
    scenarios.set(spike, { type: 'MOVEMENT_SPIKE', day: intBetween(rng, windowStart, o.lastDay), deviations: between(rng, 12, 24), bulk: uniform(rng) < 0.5 });
    truth.MOVEMENT_SPIKE.add(keyOf(spike));
  }

  // Look-alikes of phantom stock: restocked yesterday after weeks out of stock, nothing sold since.
  for (let n = 0; n < o.perKind / 2; n++) {
    const s = drawSeries((x) => rate(x) >= 1);
    scenarios.set(s, { type: 'ARRIVED_YESTERDAY', outFrom: o.lastDay - intBetween(rng, 25, 35) });
    lookAlikes.set(keyOf(s), 'restocked yesterday');
  }

  // Dismissed before: a spike or a loss three weeks ago that someone marked not an anomaly, and
  // another now: a like one (must stay quiet) or one three to four times larger (must fire).
  const dismissalDay = o.lastDay - 21;
  for (let n = 0; n < o.perKind / 2; n++) {
    const kind = n % 2 ? 'SHRINKAGE' : 'MOVEMENT_SPIKE';
    const s = drawSeries((x) => rate(x) >= 0.1);
    const larger = n % 4 >= 2;
    const secondFactor = larger ? between(rng, 3, 4) : between(rng, 0.5, 0.9);
    scenarios.set(s, { type: 'DISMISSED', kind, first: dismissalDay, second: intBetween(rng, windowStart, o.lastDay), deviations: between(rng, 14, 20), secondFactor });
    if (larger) truth[kind].add(keyOf(s));
    else lookAlikes.set(keyOf(s), `dismissed ${kind === 'SHRINKAGE' ? 'loss' : 'spike'} again`);
  }

  // Announced promotions: demand 3-8 times the usual for 2-5 days, most in the window, some in the
  // baseline (their days must not count as usual). One in five covers every location.
  const promotions: AnomalyPlan['promotions'] = [];
  for (let n = 0; n < o.perKind; n++) {
    const everywhere = n % 5 === 0;
    let skuIndex: number;
    let location: number | null = null;
    if (everywhere) {
      do skuIndex = intBetween(rng, 0, o.skus - 1);
      while (takenSku.has(skuIndex) || [...Array(L).keys()].some((l) => taken.has(skuIndex * L + l)));
      takenSku.add(skuIndex);
    } else {
      const s = drawSeries(() => true);
      skuIndex = Math.floor(s / L);
      location = s % L;
    }
    const length = intBetween(rng, 2, 5);
    const inWindow = n % 4 !== 3;
    const fromDay = inWindow ? intBetween(rng, windowStart - 2, o.lastDay - 1) : intBetween(rng, firstDay + 10, windowStart - 20);
    const toDay = Math.min(o.lastDay, fromDay + length - 1);
    const sku = skuIds[skuIndex]!;
    promotions.push({ sku, skuIndex, location, locationId: location === null ? null : locationIds[location]!, fromDay, toDay, factor: between(rng, 3, 8) });
    if (inWindow) {
      if (location === null) for (const id of locationIds) lookAlikes.set(seriesKey(sku, id), 'announced promotion (every location)');
      else lookAlikes.set(seriesKey(sku, locationIds[location]!), 'announced promotion');
    }
  }

  const channels = planChannels(rng, o, firstDay, truth, lookAlikes);
  return { options: o, firstDay, skuIds, locationIds, popularity, shape, size, weeklyCounts, highShrink, fullCount, fading, scenarios, promotions, dismissalDay, channels, truth, lookAlikes };
}

/**
 * Channels' daily sync figures: lag (the day's longest, seconds) with a multiplicative day-to-day
 * noise, a busier weekend on some channels and one-day incidents; drift (lines found a day) as
 * Poisson counts with a burst now and then. Injected: lag growing 15-30% a day, or drift climbing to
 * 4-8 times its usual (and by at least DRIFT_MIN_RISE lines a day), over the last 7-14 days. Look-alikes: an incident in the last days, over in one.
 */
function planChannels(rng: RandomGenerator, o: AnomalyPlanOptions, firstDay: number, truth: AnomalyPlan['truth'], lookAlikes: Map<string, string>): PlannedChannel[] {
  const out: PlannedChannel[] = [];
  const order = Array.from({ length: o.channels }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = intBetween(rng, 0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const lagTrend = new Set(order.slice(0, o.perTrendKind));
  const driftTrend = new Set(order.slice(o.perTrendKind, 2 * o.perTrendKind));
  const incident = new Set(order.slice(2 * o.perTrendKind, 3 * o.perTrendKind));
  for (let c = 0; c < o.channels; c++) {
    const channelId = uuidFrom(rng);
    const lagLevel = Math.exp(Math.log(30) + 0.8 * normal(rng));
    const weekend = uniform(rng) < 0.3 ? 1.4 : 1;
    const driftLevel = Math.exp(Math.log(2) + 0.9 * normal(rng));
    const rampDays = intBetween(rng, 7, 14);
    const lagGrowth = between(rng, 1.15, 1.3);
    const driftPeak = between(rng, 4, 8);
    const incidentDay = o.lastDay - intBetween(rng, 0, 3);
    const lag: TrendSeries = { channelId, kind: 'SYNC_LAG_TREND', days: [] };
    const drift: TrendSeries = { channelId, kind: 'DRIFT_TREND', days: [] };
    for (let day = firstDay; day <= o.lastDay; day++) {
      const wd = weekdayOf(day);
      let l = lagLevel * (wd >= 5 ? weekend : 1) * Math.exp(0.25 * normal(rng));
      let d = driftLevel;
      if (uniform(rng) < 0.03) l *= between(rng, 3, 10);
      if (uniform(rng) < 0.03) d *= between(rng, 3, 6);
      const into = day - (o.lastDay - rampDays);
      if (lagTrend.has(c) && into > 0) l *= lagGrowth ** into;
      if (driftTrend.has(c) && into > 0) d += (Math.max((driftPeak - 1) * driftLevel, DRIFT_MIN_RISE) * into) / rampDays;
      if (incident.has(c) && day === incidentDay) {
        l *= between(rng, 8, 20);
        d *= between(rng, 6, 12);
      }
      lag.days.push({ day, value: Math.round(l) });
      drift.days.push({ day, value: poisson(rng, d) });
    }
    if (lagTrend.has(c)) truth.SYNC_LAG_TREND.add(channelId);
    if (driftTrend.has(c)) truth.DRIFT_TREND.add(channelId);
    if (incident.has(c)) lookAlikes.set(channelId, 'one-day incident');
    out.push({ channelId, lag, drift });
  }
  return out;
}

/** A SKU's 90 days at every location, with the plan's scenarios played into them. */
export function generateSku(plan: AnomalyPlan, sku: number): SkuWindow {
  const o = plan.options;
  const L = o.locations;
  const D = o.days;
  const rng = stream(o.seed, sku + 1);
  const shape = plan.shape[sku]!;
  const week = WEEK.map((w) => w * Math.exp(0.08 * normal(rng)));
  const weekMean = week.reduce((a, b) => a + b, 0) / 7;
  const fadeFrom = plan.fading.get(sku);
  const promos = plan.promotions.filter((p) => p.skuIndex === sku);
  const locations: LocationSeries[] = [];
  for (let l = 0; l < L; l++) {
    const s: LocationSeries = {
      locationId: plan.locationIds[l]!,
      sold: new Int32Array(D),
      shrink: new Int32Array(D),
      corrections: new Int32Array(D),
      correctionUnits: new Int32Array(D),
      received: new Int32Array(D),
      movements: new Int32Array(D),
      onHandEnd: new Float64Array(D),
    };
    const scenario = plan.scenarios.get(sku * L + l);
    const rate = plan.popularity[sku]! * plan.size[l]!;
    let level = 0;
    let onHand = Math.ceil(rate * between(rng, 10, 25)) + 2;
    let arrives = -1;
    let order = 0;
    const countEvery = plan.weeklyCounts.has(l) ? 7 : intBetween(rng, 30, 60);
    const countPhase = intBetween(rng, 0, countEvery - 1);
    const shrinkRate = SHRINK_PER_DAY * (plan.highShrink.has(l) ? 8 : 1) * Math.min(1 + rate / 4, 3);
    for (let i = 0; i < D; i++) {
      const day = plan.firstDay + i;
      level += 0.02 * normal(rng);
      let mean = rate * Math.exp(level) * (week[weekdayOf(day)]! / weekMean);
      for (const p of promos) if (day >= p.fromDay && day <= p.toDay && (p.location === null || p.location === l)) mean *= p.factor;
      if (fadeFrom !== undefined && day >= fadeFrom) mean *= 0.03;
      let extra = 0;
      let bulk = false;
      if (scenario?.type === 'MOVEMENT_SPIKE' && day === scenario.day) {
        extra = Math.max(SPIKE_MIN_UNITS, Math.round(scenario.deviations * sdOf(mean, shape)));
        bulk = scenario.bulk;
      }
      if (scenario?.type === 'DISMISSED' && scenario.kind === 'MOVEMENT_SPIKE' && (day === scenario.first || day === scenario.second)) {
        extra = Math.round(Math.max(SPIKE_MIN_UNITS, scenario.deviations * sdOf(mean, shape)) * (day === scenario.second ? scenario.secondFactor : 1));
        bulk = true;
      }
      // Stock for a spike or a theft came in the day before (a delivery for it, or one that drew thieves).
      const shrinkToday = shrinkOn(scenario, day);
      if ((extra || shrinkToday) && onHand < extra + shrinkToday + mean * 3) {
        const top = Math.ceil(extra + shrinkToday + mean * 5);
        onHand += top;
        if (i > 0) {
          s.received[i - 1]! += top;
          s.movements[i - 1]!++;
          s.onHandEnd[i - 1]! += top;
        }
      }
      const phantom = scenario?.type === 'PHANTOM_STOCK' && i >= D - scenario.gap;
      const arrivedYesterday = scenario?.type === 'ARRIVED_YESTERDAY' && day >= scenario.outFrom;

      let sales = negBinomial(rng, mean / (1 + EXTRA_UNITS), shape);
      let units = sales + poisson(rng, sales * EXTRA_UNITS);
      if (extra) {
        units += extra;
        sales += bulk ? intBetween(rng, 1, 3) : Math.max(1, Math.round(extra / (1 + EXTRA_UNITS)));
      }
      if (phantom || (arrivedYesterday && day >= o.lastDay - 1)) units = sales = 0;
      if (units > onHand) {
        units = onHand;
        sales = Math.min(sales, units);
      }
      onHand -= units;
      s.sold[i] = units;
      s.movements[i] = sales;

      // A little shrinkage everywhere: a broken or stolen unit or two.
      if (onHand > 0 && uniform(rng) < shrinkRate) {
        const lost = Math.min(onHand, geometric(rng, 0.7));
        s.shrink[i]! += lost;
        s.movements[i]!++;
        onHand -= lost;
      }
      if (shrinkToday) {
        const lost = Math.min(onHand, shrinkToday);
        s.shrink[i]! += lost;
        s.movements[i]!++;
        onHand -= lost;
      }

      // Cycle counts: now and then a count finds the shelf a unit or a few off. Nobody counts a phantom shelf.
      const fullCount = l === plan.fullCount.location && day === plan.fullCount.day;
      if (!phantom && ((i + countPhase) % countEvery === 0 || fullCount)) {
        s.movements[i]!++;
        if (uniform(rng) < COUNT_CORRECTS) onHand = correct(s, i, onHand, uniform(rng) < 0.5 ? -geometric(rng, 0.5) : geometric(rng, 0.5));
      }
      if (scenario?.type === 'COUNT_CORRECTIONS' && scenario.days.includes(day)) {
        s.movements[i]!++;
        // Counted short where there is stock to be short of, else found.
        onHand = correct(s, i, onHand, (onHand > 6 && uniform(rng) < 0.6 ? -1 : 1) * intBetween(rng, 1, 6));
      }

      // Replenishment: an order when the shelf runs low, in two to five days. None while a
      // restock is late (ARRIVED_YESTERDAY), which lands the day before the last.
      if (arrivedYesterday) {
        if (day === o.lastDay - 1) {
          const top = Math.ceil(rate * 21) + 4;
          onHand += top;
          s.received[i]! += top;
          s.movements[i]!++;
        }
      } else {
        if (arrives === i) {
          onHand += order;
          s.received[i]! += order;
          s.movements[i]!++;
          arrives = -1;
        }
        if (arrives < 0 && onHand <= Math.ceil(rate * 7) + 1) {
          order = Math.ceil(rate * 21) + 2;
          arrives = i + intBetween(rng, 2, 5);
        }
      }
      s.onHandEnd[i] = onHand;
    }
    locations.push(s);
  }
  return { sku: plan.skuIds[sku]!, firstDay: plan.firstDay, days: D, locations };
}

/** Units a scenario loses to shrinkage on `day`. */
function shrinkOn(scenario: Scenario | undefined, day: number): number {
  if (scenario?.type === 'SHRINKAGE') return scenario.perDay[day - scenario.day] ?? 0;
  if (scenario?.type === 'DISMISSED' && scenario.kind === 'SHRINKAGE') {
    if (day === scenario.first) return Math.round(scenario.deviations);
    if (day === scenario.second) return Math.round(scenario.deviations * scenario.secondFactor);
  }
  return 0;
}

/** A count that found the shelf `by` units off (never below zero); the on-hand after it. */
function correct(s: LocationSeries, i: number, onHand: number, by: number): number {
  const after = Math.max(0, onHand + by);
  if (after === onHand) return onHand;
  s.corrections[i]!++;
  s.correctionUnits[i]! += Math.abs(after - onHand);
  return after;
}

export interface KindScore {
  kind: AnomalyKind;
  /** Anomalies of the kind in the plan. */
  injected: number;
  /** Findings of the kind. */
  found: number;
  truePositives: number;
  /** Findings on series or channels with nothing of the kind injected. */
  falsePositives: number;
  /** Of those, on look-alikes. */
  lookAlikesFired: number;
  precision: number;
  recall: number;
}

/** Precision and recall per kind: a finding is right when its series (or channel) had that kind injected. */
export function scoreFindings(plan: AnomalyPlan, findings: readonly AnomalyFinding[], trends: readonly TrendFinding[]): { scores: KindScore[]; falseFindings: { kind: AnomalyKind; key: string; lookAlike: string | null; explanation: string }[]; missed: { kind: AnomalyKind; key: string }[] } {
  const found = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, new Map<string, string>()])) as Record<AnomalyKind, Map<string, string>>;
  for (const f of findings) found[f.kind].set(seriesKey(f.sku, f.locationId), f.explanation);
  for (const t of trends) found[t.kind].set(t.channelId, t.explanation);
  const falseFindings: { kind: AnomalyKind; key: string; lookAlike: string | null; explanation: string }[] = [];
  const missed: { kind: AnomalyKind; key: string }[] = [];
  const scores = ANOMALY_KINDS.map((kind): KindScore => {
    const truth = plan.truth[kind];
    let tp = 0;
    let lookAlikesFired = 0;
    for (const [key, explanation] of found[kind]) {
      if (truth.has(key)) tp++;
      else {
        const lookAlike = plan.lookAlikes.get(key) ?? null;
        if (lookAlike) lookAlikesFired++;
        falseFindings.push({ kind, key, lookAlike, explanation });
      }
    }
    for (const key of truth) if (!found[kind].has(key)) missed.push({ kind, key });
    const n = found[kind].size;
    return {
      kind,
      injected: truth.size,
      found: n,
      truePositives: tp,
      falsePositives: n - tp,
      lookAlikesFired,
      precision: n ? tp / n : 1,
      recall: truth.size ? tp / truth.size : 1,
    };
  });
  return { scores, falseFindings, missed };
}
