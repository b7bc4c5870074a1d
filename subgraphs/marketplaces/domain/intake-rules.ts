/**
 * Order intake's rules: what became of a marketplace order, and why one could not be reserved (an
 * oversell), measured from our own records of what we had pushed to that marketplace. No I/O.
 */

/**
 * RECEIVED: recorded, not yet placed (orders did not answer; the next poll retries). PLACED: an
 * Omnistock order holds its stock. OVERSOLD: the marketplace sold units we did not have. UNMAPPED: a
 * line names a marketplace SKU no listing maps (recorded, never guessed). REFUSED: orders refused it
 * for another reason (message). CANCELLED: the buyer cancelled; what it held is released.
 */
export type IntakeStatus = 'RECEIVED' | 'PLACED' | 'OVERSOLD' | 'UNMAPPED' | 'REFUSED' | 'CANCELLED';
export const INTAKE_STATUSES = ['RECEIVED', 'PLACED', 'OVERSOLD', 'UNMAPPED', 'REFUSED', 'CANCELLED'] as const satisfies readonly IntakeStatus[];

/** An order line as intake records it: `sku` is ours, null while no listing maps its marketplace SKU. */
export interface IntakeLine {
  lineId?: string;
  marketplaceSku: string;
  sku: string | null;
  quantity: number;
}

/**
 * An UNMAPPED order once a listing maps `marketplaceSku` to our `sku`: its lines naming that
 * marketplace SKU now name ours, and it is RECEIVED again (intake's next poll places it) when every
 * line names one of ours, CANCELLED when the buyer cancelled it meanwhile, else still UNMAPPED.
 */
export function remapUnmapped(lines: readonly IntakeLine[], marketplaceStatus: string, marketplaceSku: string, sku: string): { lines: IntakeLine[]; status: 'RECEIVED' | 'CANCELLED' | 'UNMAPPED' } {
  const remapped = lines.map((l) => (l.marketplaceSku === marketplaceSku ? { ...l, sku } : l));
  if (marketplaceStatus === 'CANCELLED') return { lines: remapped, status: 'CANCELLED' };
  return { lines: remapped, status: remapped.every((l) => l.sku) ? 'RECEIVED' : 'UNMAPPED' };
}

/**
 * NEVER_PUSHED: we had never pushed the SKU to this marketplace. PUSH_LAG: a change was waiting to be
 * pushed when the buyer ordered (the marketplace showed an old quantity). THROTTLED: the same, while
 * the marketplace was throttling our pushes. DRIFT: the marketplace sold more than we last pushed
 * (its quantity had drifted from ours). INTAKE_DELAY: the marketplace showed what we knew when the
 * buyer ordered; sales we had not heard of yet (on any channel, its own included) had taken the
 * stock, or another channel took it before the order reached us.
 */
export type OversellCause = 'NEVER_PUSHED' | 'PUSH_LAG' | 'THROTTLED' | 'DRIFT' | 'INTAKE_DELAY';
export const OVERSELL_CAUSES = ['NEVER_PUSHED', 'PUSH_LAG', 'THROTTLED', 'DRIFT', 'INTAKE_DELAY'] as const satisfies readonly OversellCause[];

/** What our records said about a short line's SKU on this marketplace. */
export interface PushRecord {
  lastPushedQuantity: number | null;
  lastPushedAt: Date | null;
  /** Since when a change has been waiting to be pushed (null: none waits). */
  pendingSince: Date | null;
  /** How long the last push took from the change to the marketplace's acceptance. */
  lastLagMs: number | null;
}

export interface OversellEvidence {
  sku: string;
  requested: number;
  available: number;
  cause: OversellCause;
  lastPushedQuantity: number | null;
  lastPushedAt: string | null;
  pendingSince: string | null;
  pushLagMs: number | null;
  lastThrottledAt: string | null;
  /** From the buyer's order to intake receiving it. */
  intakeDelayMs: number;
}

/** One quantity the marketplace accepted from us (the push history). */
export interface PushedEntry {
  pushedAt: Date;
  quantity: number;
  /** Since when the change it carried had been waiting. */
  pendingSince: Date | null;
  lagMs: number | null;
}

/**
 * What our records said at `at` (the buyer's order): the last quantity pushed at or before it, and
 * the change waiting then: the one the next push carried, or the one still waiting (`now`, the SKU's
 * current sync state). Without history back to `at` (pruned after a day), the current state stands
 * for it when its last push came before `at`.
 */
export function pushRecordAt(history: readonly PushedEntry[], now: PushRecord | null, at: Date): PushRecord | null {
  const sorted = [...history].sort((a, b) => a.pushedAt.getTime() - b.pushedAt.getTime());
  const after = sorted.find((h) => h.pushedAt > at);
  let before: { quantity: number | null; pushedAt: Date; lagMs: number | null } | undefined = sorted.filter((h) => h.pushedAt <= at).at(-1);
  if (!before && !after && now?.lastPushedAt && now.lastPushedAt <= at) before = { quantity: now.lastPushedQuantity, pushedAt: now.lastPushedAt, lagMs: now.lastLagMs };
  if (!before && !after && !now) return null;
  return {
    lastPushedQuantity: before?.quantity ?? null,
    lastPushedAt: before?.pushedAt ?? null,
    pendingSince: after ? after.pendingSince : (now?.pendingSince ?? null),
    lastLagMs: (after ?? before)?.lagMs ?? null,
  };
}

/** Why the marketplace could sell `requested` units of a SKU we had `available` of. */
export function oversellCause(
  line: { sku: string; requested: number; available: number },
  push: PushRecord | null,
  at: { placedAt: Date; receivedAt: Date; lastThrottledAt: Date | null },
): OversellEvidence {
  const cause: OversellCause = (() => {
    if (!push?.lastPushedAt) return 'NEVER_PUSHED';
    if (push.pendingSince && push.pendingSince <= at.placedAt) {
      return at.lastThrottledAt && at.lastThrottledAt >= push.pendingSince && at.lastThrottledAt <= at.placedAt ? 'THROTTLED' : 'PUSH_LAG';
    }
    if (push.lastPushedQuantity !== null && push.lastPushedQuantity < line.requested) return 'DRIFT';
    return 'INTAKE_DELAY';
  })();
  return {
    ...line,
    cause,
    lastPushedQuantity: push?.lastPushedQuantity ?? null,
    lastPushedAt: push?.lastPushedAt?.toISOString() ?? null,
    pendingSince: push?.pendingSince?.toISOString() ?? null,
    pushLagMs: push?.lastLagMs ?? null,
    lastThrottledAt: at.lastThrottledAt?.toISOString() ?? null,
    intakeDelayMs: Math.max(0, at.receivedAt.getTime() - at.placedAt.getTime()),
  };
}

/**
 * What happens to an oversold order: RECORD (kept for a person), CANCEL (cancelled at the
 * marketplace, which refunds the buyer), BACKORDER (kept open and placed again as stock comes in,
 * oldest first, until it is filled or the buyer cancels) or REALLOCATE (placed again at once from
 * any active location that ships, beyond the channel's sources; while none has it, kept open as a
 * backorder that may be filled from any of them).
 */
export type OversellPolicy = 'RECORD' | 'CANCEL' | 'BACKORDER' | 'REALLOCATE';
export const OVERSELL_POLICIES = ['RECORD', 'CANCEL', 'BACKORDER', 'REALLOCATE'] as const satisfies readonly OversellPolicy[];

/** Whether the policy keeps an oversold order open to be placed again. */
export const retriesOversold = (policy: OversellPolicy) => policy === 'BACKORDER' || policy === 'REALLOCATE';

/** What was done about an oversold order under its channel's policy. */
export type OversellResolution = 'CANCELLED_AT_MARKETPLACE' | 'CANCEL_FAILED' | 'CANCEL_UNSUPPORTED' | 'BACKORDERED' | 'BACKORDER_FILLED' | 'REALLOCATED';

/** The idempotency key of the Omnistock order placed for a marketplace order: one per (channel, marketplace order). */
export const placeKey = (channelId: string, marketplaceOrderId: string) => `marketplace:${channelId}:${marketplaceOrderId}`;

/**
 * The key of a backordered order's placement after `refused` refusals: a refused placement answers
 * the same refusal to its key forever, so each new try needs a key of its own, and the count moves
 * on only once a refusal is recorded (a try that succeeded but was not marked is found again).
 */
export const backorderKey = (channelId: string, marketplaceOrderId: string, refused: number) => `marketplace:${channelId}:${marketplaceOrderId}:backorder:${refused}`;
/** The idempotency key of its cancellation. */
export const cancelKey = (channelId: string, marketplaceOrderId: string) => `marketplace-cancel:${channelId}:${marketplaceOrderId}`;
