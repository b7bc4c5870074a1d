import { z } from 'zod';

/**
 * Payloads of the events subgraphs exchange through the outbox, parsed with these schemas where
 * they are consumed. Snapshots carry the whole state and a version, so a consumer applies one only
 * when it is newer than what it holds: duplicates and reordering are harmless.
 */

export const TOPICS = { stock: 'stock', channel: 'channel', location: 'location', setAside: 'set-aside', availabilityRule: 'availability-rule', oversell: 'oversell', problem: 'problem', exception: 'exception' } as const;

export const locationSnapshotSchema = z.object({
  id: z.string(),
  /** Absent from snapshots written before codes were carried. */
  code: z.string().optional(),
  /** Absent from snapshots written before names were carried. */
  name: z.string().optional(),
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
  /**
   * A reservation holding units of the SKU at the location expires at another time (an extend):
   * `expiresAt` (null: never), before it `previousExpiresAt`. What reads there may sell rises at a
   * sooner expiry with no stock event until the expiry job releases it; and an extension that
   * landed after its old expiry (begun just before it) holds again units readers between the two
   * already sold, so a reader that saw the old expiry pass reads the level again. Events written
   * before the previous expiry was carried came for sooner expiries only.
   */
  z.object({
    kind: z.literal('EXPIRY'),
    sku: z.string(),
    locationId: z.string(),
    expiresAt: z.string().nullable(),
    previousExpiresAt: z.string().nullable().optional(),
  }),
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
  /** An ADJUSTMENT's reason (SHRINKAGE, DAMAGE, CORRECTION, FOUND, CYCLE_COUNT); absent in events written before it was carried. */
  reason: z.string().optional(),
  /**
   * The soonest expiry among the reservations `after` counts as holding units at the level: its
   * available rises then with no further event until the expiry job releases it (absent: none
   * expires; events written before it was carried had it on a RESERVE only).
   */
  expiresAt: z.string().optional(),
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

/**
 * Something a person may need to act on, as the module that saw it measured it (topic `problem`,
 * written in the transaction that records the problem or its end). The exceptions subgraph groups
 * them by root cause into exceptions (subgraphs/exceptions/domain/exception-rules.ts).
 *
 * `subject` names the one thing that is wrong, stable across signals (a dead letter's id, an
 * order's id, `channelId:sku`): RAISED again updates it, CLEARED ends it. `cause` is a stable code of
 * the measured cause (a marketplace's error code, an intake cause): signals of one kind, channel and
 * cause are one problem. Keyed by `kind:subject`, so a subject's signals keep their order.
 */
export const PROBLEM_KINDS = [
  'OVERSOLD',
  'DEAD_LETTER',
  'MARKETPLACE_DRIFT',
  'RECONCILIATION_DRIFT',
  'UNMAPPED_LISTING',
  'STUCK_ORDER',
  'SYNC_LAG',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

/** What an evidence id names. */
export const EVIDENCE_TYPES = [
  'MOVEMENT',
  'PUSH',
  'ORDER',
  'MARKETPLACE_ORDER',
  'DEAD_LETTER',
  'DRIFT_RUN',
  'RECONCILIATION_RUN',
  'LISTING',
] as const;
export type EvidenceType = (typeof EVIDENCE_TYPES)[number];

/**
 * The fix a problem suggests, as the input of the owning service's mutation that applies it (the
 * exceptions subgraph turns it into the GraphQL operation a person runs with their own rights):
 * - REPLAY_DEAD_LETTERS: marketplaces `replayDeadLetters(channelId, ids)`
 * - APPLY_RECONCILIATION: inventory `applyReconciliation(runId)`
 * - CANCEL_ORDER: orders `cancelOrder(id)` (a marketplace order's Omnistock order)
 * - SET_BUFFER: channels `setAllocationRule` with the channel's buffer raised to `units`
 * - MAP_LISTING: marketplaces `setMarketplaceListing(channelId, sku, marketplaceSku)` (the SKU is the person's choice)
 * - RETRY_ORDER: orders `retryOrder(id)`
 * - REQUEST_DRIFT_REPAIR: marketplaces `requestDriftRepair(channelId)`
 */
export const problemActionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('REPLAY_DEAD_LETTERS'), channelId: z.string(), ids: z.array(z.string()).optional() }),
  z.object({ kind: z.literal('APPLY_RECONCILIATION'), runId: z.string() }),
  z.object({ kind: z.literal('CANCEL_ORDER'), orderId: z.string() }),
  z.object({ kind: z.literal('SET_BUFFER'), channelId: z.string(), units: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('MAP_LISTING'), channelId: z.string(), marketplaceSku: z.string() }),
  z.object({ kind: z.literal('RETRY_ORDER'), orderId: z.string() }),
  z.object({ kind: z.literal('REQUEST_DRIFT_REPAIR'), channelId: z.string() }),
]);
export type ProblemAction = z.infer<typeof problemActionSchema>;

export const problemSignalSchema = z.object({
  kind: z.enum(PROBLEM_KINDS),
  state: z.enum(['RAISED', 'CLEARED']),
  subject: z.string().min(1).max(200),
  /** Stable code of the measured cause; CLEARED signals may leave it empty. */
  cause: z.string().max(100),
  /** The cause in a sentence, with the figures measured. */
  explanation: z.string().max(2000),
  sku: z.string().nullable().default(null),
  locationId: z.string().nullable().default(null),
  channelId: z.string().nullable().default(null),
  /** Units at risk where known: a count, never negative (the explanation says which way a difference goes); an exception adds its subjects'. */
  units: z.number().int().nonnegative().nullable().default(null),
  /** Value at risk where known (units × price, in the channel's currency). */
  value: z.number().nullable().default(null),
  /** The figure that raised it where there is one (seconds of lag, units of drift), for trends. */
  measure: z.number().nullable().default(null),
  evidence: z.array(z.object({ type: z.enum(EVIDENCE_TYPES), id: z.string() })).max(50).default([]),
  action: problemActionSchema.nullable().default(null),
  at: z.string(),
});
export type ProblemSignal = z.infer<typeof problemSignalSchema>;
/** What an emitter writes: the defaults may be left out. */
export type ProblemSignalInput = z.input<typeof problemSignalSchema>;

/** The outbox event of a problem signal (lib/outbox.ts `OutboxEvent`), parsed so a bad one fails where it is written. */
export function problemEvent(signal: ProblemSignalInput): { topic: string; key: string; payload: Record<string, unknown> } {
  const payload = problemSignalSchema.parse(signal);
  return { topic: TOPICS.problem, key: `${payload.kind}:${payload.subject}`, payload };
}
