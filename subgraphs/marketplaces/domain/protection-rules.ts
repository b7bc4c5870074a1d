/**
 * Protective available-to-sell: a channel shown all of the available-to-sell oversells whenever the
 * units we show it are already gone. Two things make them gone without us knowing: sales that
 * happened but have not been reported to us yet (a till batch posts every quarter hour, a marketplace
 * shows its orders minutes late, this channel's own included), and sales anywhere while our last
 * change is on its way to the channel (push lag). Protection withholds both. No I/O.
 */

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

/** Units to withhold: the unreported ones and what sells during the push lag, rounded up. */
export function withheldUnits(e: Exposure): number {
  const unreported = e.unreported > 0 ? e.unreported : 0;
  const inFlight = e.unitsPerSecond > 0 && e.pushLagMs > 0 ? (e.unitsPerSecond * e.pushLagMs) / 1000 : 0;
  // A hair of float noise (0.1 + 0.2) must not cost a whole unit.
  return Math.max(0, Math.ceil(unreported + inFlight - 1e-9));
}

/** What a protective channel is shown: its quantity less what it withholds, never below zero. */
export function protectedQuantity(shown: number, withheld: number): number {
  return Math.max(0, shown - withheld);
}
