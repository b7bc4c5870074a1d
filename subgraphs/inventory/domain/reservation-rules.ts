import { z } from 'zod';
import { idempotencyKeySchema } from '../../../contracts/idempotency.js';
import type { Sourcing } from '../../../contracts/inventory-client.js';
import { unitsSchema as units } from '../../../contracts/quantities.js';
import { BadUserInputError, ConflictError, ForbiddenError } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import type { AllocationRequest } from './allocation.js';
import type { ChannelRule, LevelKey, ReservationLine, ReservationState, ReservationStatus } from './stock.js';

/** Reservation rules: what a request may ask for, where its lines may take stock from, and how its status moves. */

export const MAX_TTL_SECONDS = 7 * 24 * 3600;

export const ttlSchema = z.number().int().min(1).max(MAX_TTL_SECONDS);

export const reserveSchema = z.object({
  idempotencyKey: idempotencyKeySchema,
  channelId: idSchema,
  lines: z
    .array(z.object({ sku: skuSchema, quantity: units, locationId: idSchema.nullish() }))
    .min(1)
    .max(100)
    .superRefine((lines, ctx) => {
      const seen = new Set<string>();
      lines.forEach((l, i) => {
        const key = `${l.sku}\u0000${l.locationId ?? ''}`;
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: 'repeats the SKU and location of an earlier line' });
        seen.add(key);
      });
    }),
  ttlSeconds: ttlSchema,
  pickupLocationId: idSchema.nullish(),
  reference: z.string().max(500).nullish(),
});
export type ReserveRequest = z.infer<typeof reserveSchema>;

export const commitSchema = z.object({
  reservationId: idSchema,
  idempotencyKey: idempotencyKeySchema,
  lines: z
    .array(z.object({ sku: skuSchema, locationId: idSchema.nullish(), quantity: units }))
    .min(1)
    .max(100)
    .nullish(),
});

/** The locations a request names (its lines' and its pickup location), each to be known before anything is locked. */
export function pinnedLocations(v: Pick<ReserveRequest, 'lines' | 'pickupLocationId'>): string[] {
  return [...v.lines.map((l) => l.locationId), v.pickupLocationId].filter((id): id is string => !!id);
}

/** The allocation rule a reservation of this sourcing (contracts/inventory-client.ts Sourcing) is placed under. */
export function allocationRuleFor(rule: Pick<ChannelRule, 'buffer' | 'cap' | 'allowSplitShipments'>, sourcing: Sourcing): Pick<ChannelRule, 'buffer' | 'cap' | 'allowSplitShipments'> {
  if (sourcing === 'LIVE') return rule;
  return { buffer: null, cap: null, allowSplitShipments: sourcing === 'SOLD_ANY_LOCATION' || rule.allowSplitShipments };
}

export interface ReservationPlan {
  /** Each line with the location it must take from, or null for the channel's rule to decide. */
  lines: AllocationRequest[];
  /** The channel's sources that sell now (ACTIVE), in serving order. */
  sellable: string[];
  /** Every level the reservation may draw on, to lock. */
  keys: LevelKey[];
}

/**
 * Where a request's lines may take stock from under the channel's rule: a named location must feed
 * the channel; a pickup location must offer pickup, and then every line comes from it.
 * @throws BadUserInputError otherwise
 */
export function planReservation(
  v: Pick<ReserveRequest, 'lines' | 'pickupLocationId'>,
  rule: Pick<ChannelRule, 'channelId' | 'sources'>,
  /** Active shipping locations beyond the channel's sources, served after them (SOLD_ANY_LOCATION). */
  elsewhere: readonly string[] = [],
): ReservationPlan {
  for (const locationId of new Set(pinnedLocations(v))) {
    if (!rule.sources.some((s) => s.locationId === locationId)) {
      throw new BadUserInputError(`Location ${locationId} does not feed channel ${rule.channelId}`, [{ path: 'lines', message: 'not a source of the channel' }]);
    }
  }
  if (v.pickupLocationId) {
    const pickup = rule.sources.find((s) => s.locationId === v.pickupLocationId)!;
    if (!pickup.pickup) throw new BadUserInputError('The pickup location offers no pickup', [{ path: 'pickupLocationId', message: 'offers no pickup' }]);
    if (v.lines.some((l) => l.locationId && l.locationId !== v.pickupLocationId)) {
      throw new BadUserInputError('A pickup reservation takes every line from the pickup location', [{ path: 'lines', message: 'location differs from pickupLocationId' }]);
    }
  }
  const sources = rule.sources.filter((s) => s.status === 'ACTIVE').map((s) => s.locationId);
  const sellable = [...new Set([...sources, ...elsewhere])];
  const lines = v.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, locationId: l.locationId ?? v.pickupLocationId ?? null }));
  const keys = lines.flatMap((l) => (l.locationId ? [{ sku: l.sku, locationId: l.locationId }] : sellable.map((locationId) => ({ sku: l.sku, locationId }))));
  return { lines, sellable, keys };
}

/** Whether the reservation has passed its expiry, whatever the expiry job has done so far. */
export function isExpired(r: Pick<ReservationState, 'status' | 'expiresAt'>, now: Date): boolean {
  return r.status === 'EXPIRED' || (r.status === 'ACTIVE' && r.expiresAt !== null && r.expiresAt <= now);
}

/** The status a client sees: an ACTIVE reservation past its expiry is EXPIRED before the expiry job gets to it. */
export function visibleStatus(r: Pick<ReservationState, 'status' | 'expiresAt'>, now: Date): ReservationStatus {
  return isExpired(r, now) ? 'EXPIRED' : r.status;
}

/** Units a line still holds. */
export function openQuantity(line: ReservationLine): number {
  return line.open ? line.quantity - line.committedQuantity - line.releasedQuantity : 0;
}

/** Who asks for or about a reservation, as the request's service token says. */
export interface ReservationRequester {
  clientId: string | null;
  /** The first-party service that signed for itself (`orders` acting for one of its orders); null for the gateway's callers. */
  service: string | null;
  /** The caller has the scope `admin`. */
  admin: boolean;
}

/**
 * Whose idempotency keys a reservation's key is one of: keys are unique per client, so another
 * client's key is neither a conflict nor a replay. A service that signs for itself owns its keys
 * whichever client it acts for (orders retries an order's reservation as the sweeper, under the
 * order id); a gateway caller's are its client's (an anonymous one's, every anonymous caller's).
 * Null requester (services check no tokens): one space for all, as there is no one to tell apart.
 */
export function keyOwnerOf(requester: ReservationRequester | null): string {
  if (!requester) return '';
  return requester.service ? `service:${requester.service}` : (requester.clientId ?? '');
}

/** What a requester may do to a reservation; `hold` is an extension without end (extendReservation with ttlSeconds null). */
export type ReservationChange = 'release' | 'extend' | 'hold' | 'commit';

/**
 * Stock one client holds is released, extended or shipped only by that client, the orders service
 * (which holds and ships what its orders reserved) or an admin; a hold without end is the orders
 * service's alone (it marks a confirmed order). `requester` null: services check no tokens
 * (SERVICE_AUTH=off), so there is no one to tell apart.
 * @throws ForbiddenError (reason NOT_RESERVATION_OWNER or HOLD_RESERVED_TO_ORDERS)
 */
export function assertMayChange(r: Pick<ReservationState, 'id' | 'actor'>, requester: ReservationRequester | null, change: ReservationChange): void {
  if (!requester || requester.service === 'orders') return;
  if (change === 'hold') {
    throw new ForbiddenError(`Only the orders service holds a reservation without end (it marks a confirmed order): give extendReservation a ttlSeconds`, { reason: 'HOLD_RESERVED_TO_ORDERS' });
  }
  if (requester.admin || requester.clientId === r.actor) return;
  throw new ForbiddenError(`Reservation ${r.id} was made by another client: only it, the orders service or an admin may ${change} it`, { reason: 'NOT_RESERVATION_OWNER' });
}

/**
 * Only an ACTIVE reservation within its expiry can be extended or committed.
 * @throws ConflictError naming when it expired, or its status
 */
export function assertChangeable(r: ReservationState, now: Date): void {
  if (isExpired(r, now)) throw new ConflictError(`Reservation ${r.id} expired at ${r.expiresAt?.toISOString()}`, { expiresAt: r.expiresAt });
  if (r.status !== 'ACTIVE') throw new ConflictError(`Reservation ${r.id} is ${r.status}`, { status: r.status });
}

/** After a commit: COMMITTED once no line holds anything, else still ACTIVE. */
export function statusAfterCommit(lines: readonly ReservationLine[]): ReservationStatus {
  return lines.every((l) => !l.open) ? 'COMMITTED' : 'ACTIVE';
}

/** On release or expiry: COMMITTED if any part shipped, else EXPIRED or RELEASED. */
export function statusOnClose(lines: readonly ReservationLine[], expired: boolean): ReservationStatus {
  return lines.some((l) => l.committedQuantity > 0) ? 'COMMITTED' : expired ? 'EXPIRED' : 'RELEASED';
}

/**
 * Which lines ship how much: everything open when no lines are given; otherwise each requested
 * line from the reservation's lines of that SKU (and location, when given), in their order.
 * @throws BadUserInputError when a request asks for more than a line holds or for a SKU it does not hold
 */
export function planCommit<L extends ReservationLine>(
  lines: L[],
  requested: { sku: string; locationId?: string | null; quantity: number }[] | null,
): { line: L; quantity: number }[] {
  if (!requested) return lines.filter((l) => openQuantity(l) > 0).map((line) => ({ line, quantity: openQuantity(line) }));
  const left = new Map(lines.map((l) => [l, openQuantity(l)]));
  const out = new Map<L, number>();
  requested.forEach((req, i) => {
    let remaining = req.quantity;
    for (const line of lines) {
      if (remaining === 0) break;
      if (line.sku !== req.sku || (req.locationId && line.locationId !== req.locationId)) continue;
      const q = Math.min(remaining, left.get(line)!);
      left.set(line, left.get(line)! - q);
      out.set(line, (out.get(line) ?? 0) + q);
      remaining -= q;
    }
    if (remaining > 0) {
      throw new BadUserInputError(`Line ${i} asks for ${req.quantity} of ${req.sku} but the reservation holds ${req.quantity - remaining}`, [
        { path: `lines.${i}.quantity`, message: `at most ${req.quantity - remaining}` },
      ]);
    }
  });
  return [...out].filter(([, q]) => q > 0).map(([line, quantity]) => ({ line, quantity }));
}
