/**
 * Which stock changes cross a marketplace's queue at its head, with no coalescing delay. A push
 * that waits is a window in which the marketplace sells units we no longer have, so urgent is:
 * - a sale anywhere (a SALE movement, or a reservation taking units for an order on another
 *   channel) that lowers what this channel may show: every other channel hears of it first;
 * - a change that may take what the marketplace shows to or from zero: stock arriving while it
 *   shows 0, or a fall at least as large as what it shows;
 * - a change of a SKU we never pushed to it: what it shows is not ours.
 * Everything else (receipts, counts, releases) waits out the coalescing window with the rest of its burst.
 */

/** Stock changes that are demand: a sale recorded, or units reserved for an order. */
const DEMAND_CHANGES: ReadonlySet<string> = new Set(['SALE', 'RESERVE']);

/** The units of demand a stock event is: what a sale took off on-hand, or what a reservation took. */
export function demandUnits(e: { change: string; before: { onHand: number; reserved: number }; after: { onHand: number; reserved: number } }): number {
  if (e.change === 'SALE') return Math.max(0, e.before.onHand - e.after.onHand);
  if (e.change === 'RESERVE') return Math.max(0, e.after.reserved - e.before.reserved);
  return 0;
}

/**
 * @param shown what the marketplace was last told (null: never pushed)
 * @param delta the net change of available-to-sell the events bring for this (channel, SKU)
 * @param demand whether any of those events was demand (a sale or a reservation)
 */
export function isUrgentPush(shown: number | null | undefined, delta: number, demand: boolean): boolean {
  if (delta < 0 && demand) return true;
  if (shown == null) return delta !== 0;
  return (shown === 0 && delta > 0) || (shown > 0 && -delta >= shown);
}

/** Whether a stock event's change (a movement type, or RESERVE/RELEASE/EXPIRE) is demand. */
export const isDemandChange = (change: string): boolean => DEMAND_CHANGES.has(change);
