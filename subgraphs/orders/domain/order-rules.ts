import { z } from 'zod';
import { idempotencyKeySchema } from '../../../contracts/idempotency.js';
import { unitsSchema as units } from '../../../contracts/quantities.js';
import { BadUserInputError, type InputIssue } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { OrderStateError } from './errors.js';
import { FULFILMENT_METHODS, type OperationKind, type OrderStatus } from './order-vocabulary.js';

/**
 * The order lifecycle's rules, free of I/O: input schemas, which quantities a step may take, and the
 * status an order's line quantities mean.
 */

export const MAX_ORDER_LINES = 100;
const reasonSchema = z.string().max(500).nullish();

const onePerSku = (lines: { sku: string }[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  lines.forEach((l, i) => {
    if (seen.has(l.sku)) ctx.addIssue({ code: 'custom', path: [i, 'sku'], message: 'repeats the SKU of an earlier line' });
    seen.add(l.sku);
  });
};

const lineQuantities = z
  .array(z.object({ sku: skuSchema, quantity: units }))
  .min(1, 'at least one line')
  .max(MAX_ORDER_LINES, `at most ${MAX_ORDER_LINES} lines`)
  .superRefine(onePerSku);

export const placeOrderSchema = z.object({
  idempotencyKey: idempotencyKeySchema,
  channelId: idSchema,
  customerReference: z.string().min(1).max(128).nullish().transform((v) => v ?? null),
  lines: lineQuantities,
  fulfilment: z
    .object({
      method: z.enum(FULFILMENT_METHODS),
      destinationRegion: z.string().min(1).max(100).nullish().transform((v) => v ?? null),
      pickupLocationId: idSchema.nullish().transform((v) => v ?? null),
    })
    .superRefine((f, ctx) => {
      if (f.method === 'PICKUP' && !f.pickupLocationId) ctx.addIssue({ code: 'custom', path: ['pickupLocationId'], message: 'is required for PICKUP' });
      if (f.method === 'PICKUP' && f.destinationRegion) ctx.addIssue({ code: 'custom', path: ['destinationRegion'], message: 'is for SHIP only' });
      if (f.method === 'SHIP' && f.pickupLocationId) ctx.addIssue({ code: 'custom', path: ['pickupLocationId'], message: 'is for PICKUP only' });
    }),
});
export type PlaceOrder = z.output<typeof placeOrderSchema>;

export const fulfilSchema = z.object({
  orderId: idSchema,
  idempotencyKey: idempotencyKeySchema,
  /** Omitted: everything still open ships. */
  lines: lineQuantities.nullish().transform((v) => v ?? null),
  reason: reasonSchema,
});

export const cancelSchema = z.object({
  orderId: idSchema,
  idempotencyKey: idempotencyKeySchema,
  reason: reasonSchema,
});

export const RETURN_CONDITIONS = ['RESALABLE', 'DAMAGED'] as const;

export const returnSchema = z.object({
  orderId: idSchema,
  idempotencyKey: idempotencyKeySchema,
  locationId: idSchema,
  condition: z.enum(RETURN_CONDITIONS),
  lines: lineQuantities,
  reason: reasonSchema,
});

export const REJECTION_REASONS = ['INSUFFICIENT_STOCK', 'RESERVATION_EXPIRED', 'INVENTORY_REFUSED'] as const;

const rejectionSchema = z.object({
  reason: z.enum(REJECTION_REASONS),
  message: z.string().nullable(),
  lines: z.array(z.object({ sku: z.string(), locationId: z.string().nullable(), requested: z.number(), available: z.number() })),
});
export type Rejection = z.output<typeof rejectionSchema>;

/** The rejection column, parsed where it leaves the database. */
export function parseRejection(json: string | null): Rejection | null {
  return json === null ? null : rejectionSchema.parse(JSON.parse(json));
}

/** What a lifecycle step changes, kept with it so the sweeper can apply it in inventory, or undo it. */
const payloadSchema = z.object({
  lines: z.array(z.object({ lineId: z.string(), sku: z.string(), quantity: z.number().int().positive() })),
  reason: z.string().nullable(),
  /** RETURN: where the goods came back, and in what state. */
  locationId: z.string().nullable(),
  condition: z.enum(RETURN_CONDITIONS).nullable(),
});
export type OperationPayload = z.output<typeof payloadSchema>;
export type LineChange = OperationPayload['lines'][number];

export function parsePayload(json: string): OperationPayload {
  return payloadSchema.parse(JSON.parse(json));
}

export interface LineCounts {
  id: string;
  sku: string;
  quantity: number;
  fulfilledQuantity: number;
  cancelledQuantity: number;
  returnedQuantity: number;
}

/** Units of a line neither shipped nor cancelled. */
export const openOf = (l: LineCounts) => l.quantity - l.fulfilledQuantity - l.cancelledQuantity;

/** The line column each kind of step moves. */
export const COUNTER: Record<OperationKind, 'fulfilledQuantity' | 'cancelledQuantity' | 'returnedQuantity'> = {
  FULFIL: 'fulfilledQuantity',
  CANCEL: 'cancelledQuantity',
  RETURN: 'returnedQuantity',
};

/** The lines after a step (sign -1 undoes it). */
export function applyChanges<L extends LineCounts>(lines: L[], kind: OperationKind, changes: LineChange[], sign: 1 | -1 = 1): L[] {
  const byId = new Map(changes.map((c) => [c.lineId, c.quantity]));
  return lines.map((l) => ({ ...l, [COUNTER[kind]]: l[COUNTER[kind]] + sign * (byId.get(l.id) ?? 0) }));
}

/**
 * The status a confirmed order's line quantities mean. Once nothing is open the order is closed:
 * FULFILLED when anything shipped (the rest, if any, was cancelled), CANCELLED when nothing did.
 * Returns do not change it.
 */
export function statusOf(lines: LineCounts[]): OrderStatus {
  const open = lines.some((l) => openOf(l) > 0);
  const shipped = lines.some((l) => l.fulfilledQuantity > 0);
  if (open) return shipped ? 'PARTIALLY_FULFILLED' : 'CONFIRMED';
  return shipped ? 'FULFILLED' : 'CANCELLED';
}

const OPEN_STATUSES: readonly OrderStatus[] = ['CONFIRMED', 'PARTIALLY_FULFILLED'];

function assertOpen(status: OrderStatus, step: string): void {
  if (!OPEN_STATUSES.includes(status)) {
    throw new OrderStateError(`The order is ${status}: only CONFIRMED or PARTIALLY_FULFILLED orders can be ${step}`, status);
  }
}

/** Each requested SKU's line, and the quantity asked of it, checked against `limit`. */
function perLine<L extends LineCounts>(
  lines: L[],
  requested: { sku: string; quantity: number }[],
  limit: (l: L) => number,
  what: string,
): LineChange[] {
  const bySku = new Map(lines.map((l) => [l.sku, l]));
  const issues: InputIssue[] = [];
  const changes = requested.flatMap((r, i) => {
    const line = bySku.get(r.sku);
    if (!line) {
      issues.push({ path: `lines.${i}.sku`, message: `${r.sku} is not on the order` });
      return [];
    }
    const max = limit(line);
    if (r.quantity > max) issues.push({ path: `lines.${i}.quantity`, message: `at most ${max} ${what}` });
    return [{ lineId: line.id, sku: line.sku, quantity: r.quantity }];
  });
  if (issues.length) throw new BadUserInputError(`Invalid lines: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  return changes;
}

/**
 * What ships: the requested quantities, or everything still open.
 * @throws OrderStateError unless the order is CONFIRMED or PARTIALLY_FULFILLED
 * @throws BadUserInputError for a SKU not on the order or more than is still open on its line
 */
export function planFulfil<L extends LineCounts>(status: OrderStatus, lines: L[], requested: { sku: string; quantity: number }[] | null): LineChange[] {
  assertOpen(status, 'fulfilled');
  if (requested) return perLine(lines, requested, openOf, 'left to fulfil (ordered - fulfilled - cancelled)');
  return lines.filter((l) => openOf(l) > 0).map((l) => ({ lineId: l.id, sku: l.sku, quantity: openOf(l) }));
}

/**
 * What a cancellation takes back: everything still open.
 * @throws OrderStateError unless the order is CONFIRMED or PARTIALLY_FULFILLED
 */
export function planCancel<L extends LineCounts>(status: OrderStatus, lines: L[]): LineChange[] {
  assertOpen(status, 'cancelled');
  return lines.filter((l) => openOf(l) > 0).map((l) => ({ lineId: l.id, sku: l.sku, quantity: openOf(l) }));
}

/**
 * What comes back: at most what shipped and has not come back yet, per line.
 * @throws BadUserInputError for a SKU not on the order or more than can come back
 */
export function planReturn<L extends LineCounts>(lines: L[], requested: { sku: string; quantity: number }[]): LineChange[] {
  return perLine(lines, requested, (l) => l.fulfilledQuantity - l.returnedQuantity, 'returnable (fulfilled - returned)');
}

/**
 * Inventory's idempotency key for a step: the step's id in 22 characters, since inventory derives
 * movement keys from it by appending the SKU and location id, all within its 128 characters.
 */
export function inventoryKeyOf(operationId: string): string {
  return Buffer.from(operationId.replace(/-/g, ''), 'hex').toString('base64url');
}
