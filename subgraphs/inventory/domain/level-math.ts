import { TOPICS, type AvailabilityRuleChanged, type StockChanged, type StockQuantities } from '../../../contracts/events.js';
import type { OutboxEvent } from '../../../lib/outbox.js';
import type { LevelDelta, StockLevel } from './stock.js';

/**
 * What a location may sell: damaged and quality-control units are separate buckets, never part of
 * onHand, so they can never become available. The SQL of stockLevelStore.totalsBySkus mirrors this.
 */
export function availableOf(level: Pick<StockLevel, 'onHand' | 'reserved' | 'safetyStock'>): number {
  return Math.max(0, level.onHand - level.reserved - level.safetyStock);
}

/** The level as it is once `delta` is applied (what the UPDATE in stockLevelStore.applyDelta produces). */
export function withDelta<L extends StockLevel>(level: L, d: LevelDelta, at: Date): L {
  return Object.assign(Object.create(Object.getPrototypeOf(level)) as L, level, {
    onHand: level.onHand + (d.onHand ?? 0),
    reserved: level.reserved + (d.reserved ?? 0),
    safetyStock: level.safetyStock + (d.safetyStock ?? 0),
    incoming: level.incoming + (d.incoming ?? 0),
    damaged: level.damaged + (d.damaged ?? 0),
    qualityControl: level.qualityControl + (d.qualityControl ?? 0),
    version: level.version + 1,
    updatedAt: at,
  });
}

export function quantitiesOf(level: StockLevel): StockQuantities {
  return {
    onHand: level.onHand,
    reserved: level.reserved,
    available: availableOf(level),
    incoming: level.incoming,
    damaged: level.damaged,
    qualityControl: level.qualityControl,
    safetyStock: level.safetyStock,
  };
}

export const levelKeyOf = (l: { sku: string; locationId: string }) => `${l.sku}\u0000${l.locationId}`;

/**
 * The outbox event for one level change (topic `stock`, ordered per SKU and location); `occurredAt`
 * for a change reported after it happened (a till sale), so consumers can tell how late it came.
 */
export function stockChangedEvent(
  before: StockLevel,
  after: StockLevel,
  change: string,
  at: Date,
  occurredAt?: Date | null,
  reason?: string | null,
): OutboxEvent {
  const payload: StockChanged = {
    sku: after.sku,
    locationId: after.locationId,
    change,
    before: quantitiesOf(before),
    after: quantitiesOf(after),
    version: after.version,
    at: at.toISOString(),
    ...(occurredAt && occurredAt < at ? { occurredAt: occurredAt.toISOString() } : {}),
    // The anomaly ledger tells shrinkage from corrections by it.
    ...(reason ? { reason } : {}),
    // The availability read model reads the level again from then on.
    ...(after.nextExpiry ? { expiresAt: after.nextExpiry.toISOString() } : {}),
  };
  return { topic: TOPICS.stock, key: `${after.sku}:${after.locationId}`, payload };
}

/**
 * The availability-rule events of a reservation whose expiry moved (from `previous` to `next`, null:
 * never): one per open line, so readers of available-to-sell at its level sell the units again from
 * the sooner of the two (see the EXPIRY event).
 */
export function expiryEvents(lines: readonly { sku: string; locationId: string; open: boolean }[], previous: Date | null, next: Date | null): OutboxEvent[] {
  return lines
    .filter((l) => l.open)
    .map((l) => ({
      topic: TOPICS.availabilityRule,
      key: `${l.sku}:${l.locationId}`,
      payload: {
        kind: 'EXPIRY',
        sku: l.sku,
        locationId: l.locationId,
        expiresAt: next?.toISOString() ?? null,
        previousExpiresAt: previous?.toISOString() ?? null,
      } satisfies AvailabilityRuleChanged,
    }));
}
