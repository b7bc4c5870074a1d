/**
 * Protective available-to-sell: a channel shown all of the available-to-sell oversells whenever the
 * units we show it are already gone. Two things make them gone without us knowing: sales that
 * happened but have not been reported to us yet (a till batch posts every quarter hour, a marketplace
 * shows its orders minutes late, this channel's own included), and sales anywhere while our last
 * change is on its way to the channel (push lag). Protection withholds both. No I/O.
 */
import { poissonDistribution, probit } from 'simple-statistics';

export type Protection = 'OFF' | 'PROTECTIVE';
export const PROTECTIONS = ['OFF', 'PROTECTIVE'] as const satisfies readonly Protection[];

/** What is measured of one SKU for one channel. */
export interface Exposure {
  /** Units per second the SKU sells on every channel. */
  unitsPerSecond: number;
  /** Units sold somewhere that we have not heard of yet (estimated: DemandMeter). */
  unreported: number;
  /** How long our change takes to reach the channel (its last push's lag). */
  pushLagMs: number;
}

/** The units the channel cannot know are gone: the unreported ones and what sells while our push travels. */
export function unitsAtRisk(e: Exposure): number {
  const unreported = e.unreported > 0 ? e.unreported : 0;
  const inFlight = e.unitsPerSecond > 0 && e.pushLagMs > 0 ? (e.unitsPerSecond * e.pushLagMs) / 1000 : 0;
  return unreported + inFlight;
}

/**
 * Units to withhold: sales arrive at random, so the units at risk are Poisson around their mean;
 * withhold the fewest that cover them with probability `confidence` (0.95: 19 times in 20). A SKU
 * barely selling withholds nothing; a fast one more than its mean.
 */
export function withheldUnits(e: Exposure, confidence: number): number {
  const mean = unitsAtRisk(e);
  if (!(mean > 0)) return 0;
  const cells = poissonDistribution(mean);
  // A mean too large to tabulate: the normal approximation.
  if (!cells) return Math.ceil(mean + probit(confidence) * Math.sqrt(mean));
  let covered = 0;
  for (const [k, p] of cells.entries()) {
    covered += p;
    if (covered >= confidence - 1e-12) return k;
  }
  return cells.length;
}

/** What a protective channel is shown: its quantity less what it withholds, never below zero. */
export function protectedQuantity(shown: number, withheld: number): number {
  return Math.max(0, shown - withheld);
}
