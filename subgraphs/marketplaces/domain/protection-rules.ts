/**
 * Protective available-to-sell: a channel learns of stock leaving late (our push reaches it after a
 * lag) and we learn of its own sales late (its orders reach intake after a delay). Over that time a
 * SKU keeps selling at its recent rate, so a channel shown all of the available-to-sell sells units
 * that are gone by the time it hears. Protection withholds what would sell in that window. No I/O.
 */

export type Protection = 'OFF' | 'PROTECTIVE';
export const PROTECTIONS = ['OFF', 'PROTECTIVE'] as const satisfies readonly Protection[];

/** How far behind the channel is: our pushes' lag to it, and its orders' delay to us. */
export interface Exposure {
  pushLagMs: number;
  intakeDelayMs: number;
}

/** Units a SKU selling `unitsPerSecond` (on every channel) sells while the channel is `exposure` behind, rounded up. */
export function withheldUnits(unitsPerSecond: number, exposure: Exposure): number {
  if (!(unitsPerSecond > 0)) return 0;
  return Math.ceil((unitsPerSecond * (Math.max(0, exposure.pushLagMs) + Math.max(0, exposure.intakeDelayMs))) / 1000);
}

/** What a protective channel is shown: its quantity less what it withholds, never below zero. */
export function protectedQuantity(shown: number, withheld: number): number {
  return Math.max(0, shown - withheld);
}
