import { createHash } from 'node:crypto';
import { z } from 'zod';
import { idempotencyKeySchema } from '../../../contracts/idempotency.js';
import { MAX_QUANTITY, unitsSchema as units } from '../../../contracts/quantities.js';
import { BadUserInputError, ConflictError, InsufficientStockError } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { availableOf } from './level-math.js';
import { ADJUSTMENT_REASONS, MOVEMENT_TYPES, type LevelDelta, type LevelKey, type StockLevel, type Transfer } from './stock.js';


/** Which way each adjustment reason may move on-hand. */
const REASON_SIGN: Record<(typeof ADJUSTMENT_REASONS)[number], -1 | 1 | 0> = {
  SHRINKAGE: -1,
  DAMAGE: -1,
  FOUND: 1,
  CORRECTION: 0,
  CYCLE_COUNT: 0,
};

/** How far ahead of our clock a caller's occurredAt may be. */
const OCCURRED_AT_SKEW_MS = 5 * 60_000;

export const movementSchema = z
  .object({
    idempotencyKey: idempotencyKeySchema,
    type: z.enum(MOVEMENT_TYPES).refine((t) => t !== 'FULFILMENT', 'FULFILMENT is recorded by commitReservation only'),
    sku: skuSchema,
    locationId: idSchema,
    quantity: z.number().int().min(-MAX_QUANTITY).max(MAX_QUANTITY),
    reason: z.enum(ADJUSTMENT_REASONS).nullish(),
    condition: z.enum(['RESALABLE', 'DAMAGED']).nullish(),
    destinationLocationId: idSchema.nullish(),
    transferId: idSchema.nullish(),
    expectedVersion: z.number().int().min(0).nullish(),
    expectedOnHand: z.number().int().min(0).nullish(),
    reference: z.string().max(500).nullish(),
    correlationId: z.string().max(128).nullish(),
    occurredAt: z.date().nullish(),
  })
  .superRefine((m, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (m.type === 'ADJUSTMENT') {
      if (!m.reason) issue('reason', 'is required for ADJUSTMENT');
      if (m.quantity === 0) issue('quantity', 'must not be 0');
      const sign = m.reason ? REASON_SIGN[m.reason] : 0;
      if (sign !== 0 && Math.sign(m.quantity) !== sign) issue('quantity', `must be ${sign > 0 ? 'positive' : 'negative'} for ${m.reason}`);
    } else if (m.type === 'CYCLE_COUNT') {
      if (m.quantity < 0) issue('quantity', 'is the counted on-hand and must be 0 or more');
    } else if (!units.safeParse(m.quantity).success) {
      issue('quantity', `must be an integer from 1 to ${MAX_QUANTITY}`);
    }
    if (m.type === 'RETURN' && !m.condition) issue('condition', 'is required for RETURN');
    if (m.type === 'TRANSFER_OUT') {
      if (!m.destinationLocationId) issue('destinationLocationId', 'is required for TRANSFER_OUT');
      else if (m.destinationLocationId === m.locationId) issue('destinationLocationId', 'must differ from locationId');
    }
    if (m.type === 'TRANSFER_IN' && !m.transferId) issue('transferId', 'is required for TRANSFER_IN');
    // Clocks differ a little; a sale dated later than that is a wrong clock or a wrong column.
    if (m.occurredAt && m.occurredAt.getTime() > Date.now() + OCCURRED_AT_SKEW_MS) issue('occurredAt', 'must not be in the future');
  });

export type Movement = z.output<typeof movementSchema>;

/**
 * The key of a ledger line derived from a caller's key (a transfer's destination line, a
 * reservation's fulfilment per level): hashed, so any caller key up to 128 characters fits.
 */
export function derivedKey(...parts: string[]): string {
  return `derived:${createHash('sha256').update(parts.join('\u0000')).digest('hex')}`;
}

export interface LevelChange {
  key: LevelKey;
  delta: LevelDelta;
}

/** The levels a movement touches, the first being the one it is recorded at. */
export function keysOf(m: Movement): LevelKey[] {
  const keys = [{ sku: m.sku, locationId: m.locationId }];
  if (m.type === 'TRANSFER_OUT' && m.destinationLocationId) keys.push({ sku: m.sku, locationId: m.destinationLocationId });
  return keys;
}

function insufficient(level: StockLevel, requested: number, available: number): never {
  throw new InsufficientStockError(`Not enough stock of ${level.sku} at ${level.locationId}: ${available} available, ${requested} requested`, {
    lines: [{ sku: level.sku, locationId: level.locationId, requested, available }],
  });
}

/**
 * What a movement does to its levels, decided on rows locked for the transaction. Pure: the
 * caller applies the deltas in SQL.
 * @throws ConflictError when an expected version or on-hand does not match
 * @throws InsufficientStockError when the movement would take stock that is not there
 * @throws BadUserInputError when a transfer receipt does not match its transfer
 */
export function planMovement(m: Movement, levels: StockLevel[], transfer: Transfer | null): LevelChange[] {
  const [level, destination] = levels;
  if (!level) throw new Error('planMovement needs the locked level');
  if ((m.expectedVersion != null && m.expectedVersion !== level.version) || (m.expectedOnHand != null && m.expectedOnHand !== level.onHand)) {
    throw new ConflictError('The stock level changed since it was read', {
      sku: level.sku,
      locationId: level.locationId,
      currentVersion: level.version,
      currentOnHand: level.onHand,
    });
  }
  const key = { sku: level.sku, locationId: level.locationId };
  const q = m.quantity;
  switch (m.type) {
    case 'RECEIPT':
      return [{ key, delta: { onHand: q } }];
    case 'SALE':
      // A till sale is reported after the customer left with the unit: it is recorded even when it
      // takes units held for reservations (those reservations are then short, `reserved > onHand`,
      // and the channel shows 0), since refusing it would keep selling stock that is gone. Only a
      // sale of more than the level holds at all is refused: the ledger is wrong and needs a count.
      if (q > level.onHand) insufficient(level, q, level.onHand);
      return [{ key, delta: { onHand: -q } }];
    case 'RETURN':
      return [{ key, delta: m.condition === 'DAMAGED' ? { damaged: q } : { onHand: q } }];
    case 'TRANSFER_OUT': {
      if (!destination) throw new Error('planMovement needs the locked destination level');
      const available = availableOf(level);
      if (q > available) insufficient(level, q, available);
      return [
        { key, delta: { onHand: -q } },
        { key: { sku: destination.sku, locationId: destination.locationId }, delta: { incoming: q } },
      ];
    }
    case 'TRANSFER_IN': {
      if (!transfer) throw new Error('planMovement needs the locked transfer');
      const open = transfer.quantity - transfer.receivedQuantity;
      if (transfer.sku !== m.sku || transfer.toLocationId !== m.locationId) {
        throw new BadUserInputError('The transfer goes to another SKU or location', [
          { path: 'transferId', message: `transfer ${transfer.id} is ${transfer.sku} to ${transfer.toLocationId}` },
        ]);
      }
      if (q > open) {
        throw new BadUserInputError(`Only ${open} of transfer ${transfer.id} are still in transit`, [
          { path: 'quantity', message: `at most ${open}` },
        ]);
      }
      return [{ key, delta: { incoming: -q, onHand: q } }];
    }
    case 'ADJUSTMENT': {
      if (level.onHand + q < 0) insufficient(level, -q, level.onHand);
      return [{ key, delta: m.reason === 'DAMAGE' ? { onHand: q, damaged: -q } : { onHand: q } }];
    }
    case 'CYCLE_COUNT':
      return [{ key, delta: { onHand: q - level.onHand } }];
  }
}

/** The short lines an INSUFFICIENT_STOCK refusal carries in its details. */
export function shortLinesOf(err: InsufficientStockError): { locationId?: string | null }[] {
  return Array.isArray(err.details['lines']) ? (err.details['lines'] as { locationId?: string | null }[]) : [];
}

/**
 * The refusal with each location named by its code beside its id, in the message and as
 * `locationCode` on each line (a code the replica does not know yet leaves the id alone).
 */
export function withLocationCodes(err: InsufficientStockError, codes: ReadonlyMap<string, string>): InsufficientStockError {
  const lines = shortLinesOf(err);
  let message = err.message;
  for (const [id, code] of codes) message = message.split(id).join(`${code} (${id})`);
  const named = lines.map((l) => ({ ...l, locationCode: (l.locationId && codes.get(l.locationId)) || null }));
  return new InsufficientStockError(message, { ...err.details, lines: named });
}
