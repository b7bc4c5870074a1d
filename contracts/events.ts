import { z } from 'zod';

/**
 * Payloads of the events subgraphs exchange through the outbox, parsed with these schemas where
 * they are consumed. Snapshots carry the whole state and a version, so a consumer applies one only
 * when it is newer than what it holds: duplicates and reordering are harmless.
 */

export const TOPICS = { stock: 'stock', channel: 'channel', location: 'location', setAside: 'set-aside', availabilityRule: 'availability-rule', oversell: 'oversell' } as const;

export const locationSnapshotSchema = z.object({
  id: z.string(),
  /** Absent from snapshots written before codes were carried. */
  code: z.string().optional(),
  status: z.enum(['ACTIVE', 'OFFLINE', 'CLOSED']),
  ships: z.boolean(),
  pickup: z.boolean(),
  version: z.number().int().nonnegative(),
});
export type LocationSnapshot = z.infer<typeof locationSnapshotSchema>;

export const channelSnapshotSchema = z.object({
  id: z.string(),
  status: z.enum(['ACTIVE', 'PAUSED', 'ARCHIVED']),
  buffer: z.object({ kind: z.enum(['UNITS', 'PERCENT']), value: z.number().int().nonnegative() }).nullable(),
  cap: z.number().int().nonnegative().nullable(),
  allowSplitShipments: z.boolean(),
  /** Absent in snapshots written before channels had it: OFF. */
  protection: z.enum(['OFF', 'PROTECTIVE']).default('OFF'),
  sources: z.array(z.object({ locationId: z.string(), priority: z.number().int() })),
  version: z.number().int().nonnegative(),
  // What marketplaces' replica needs besides the rule; absent in events written before it was a subgraph.
  code: z.string().optional(),
  type: z.string().optional(),
  marketplace: z.enum(['AMAZON', 'EBAY', 'WALMART', 'SHOPIFY']).nullable().optional(),
  priority: z.number().int().optional(),
});
export type ChannelSnapshot = z.infer<typeof channelSnapshotSchema>;

/**
 * Units of a SKU set aside for one channel only (the channels subgraph): the other channels sharing
 * its sources may not take the SKU's last `units`. Keyed by channel; `version` orders the snapshots
 * of one (channel, SKU); 0 units lifts it.
 */
export const setAsideSnapshotSchema = z.object({
  channelId: z.string(),
  sku: z.string(),
  units: z.number().int().nonnegative(),
  version: z.number().int().nonnegative(),
});
export type SetAsideSnapshot = z.infer<typeof setAsideSnapshotSchema>;

/**
 * Inventory applied a change to what channels may sell beyond a stock level (written in the
 * transaction that applies it to inventory's replica): a channel's rule or status (every SKU of the
 * channel), units set aside for a channel (that SKU, on every channel sharing its sources), or a
 * location's state (every channel it feeds). Available-to-sell read after this event reflects it,
 * which the channels' and locations' own events cannot promise. Keyed by the channel or location.
 */
export const availabilityRuleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('CHANNEL'), channelId: z.string(), version: z.number().int() }),
  z.object({ kind: z.literal('SET_ASIDE'), channelId: z.string(), sku: z.string(), version: z.number().int() }),
  z.object({ kind: z.literal('LOCATION'), locationId: z.string(), version: z.number().int() }),
]);
export type AvailabilityRuleChanged = z.infer<typeof availabilityRuleSchema>;

/**
 * How long after an availability-rule event a read of available-to-sell may still answer as before
 * (inventory's processes keep a channel's rule and whether any set-aside exists for this long).
 */
export const AVAILABILITY_RULE_SETTLE_MS = 1000;

const quantities = z.object({
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
  incoming: z.number().int(),
  damaged: z.number().int(),
  qualityControl: z.number().int(),
  safetyStock: z.number().int(),
});
export type StockQuantities = z.infer<typeof quantities>;

/** One stock level changed; `version` is the level's version after the change. */
export const stockChangedSchema = z.object({
  sku: z.string(),
  locationId: z.string(),
  /** Movement type, or RESERVE / RELEASE / EXPIRE for reservation changes. */
  change: z.string(),
  before: quantities,
  after: quantities,
  version: z.number().int(),
  at: z.string(),
  /** When the change happened where it happened, for one reported after the fact (a till sale's time); absent: at `at`. */
  occurredAt: z.string().optional(),
});
export type StockChanged = z.infer<typeof stockChangedSchema>;

/**
 * A marketplace sold units a channel had no stock for (order intake, subgraphs/marketplaces): the
 * order, the units short and the cause measured per short line. Keyed by channel.
 */
export const oversellEventSchema = z.object({
  channelId: z.string(),
  marketplaceOrderId: z.string(),
  orderId: z.string().nullable(),
  units: z.number().int().positive(),
  cause: z.string(),
  lines: z.array(z.object({ sku: z.string(), requested: z.number().int(), available: z.number().int(), cause: z.string() })),
  placedAt: z.string(),
  receivedAt: z.string(),
});
export type OversellEvent = z.infer<typeof oversellEventSchema>;
