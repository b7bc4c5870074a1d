import { describe, expect, it } from 'vitest';
import { ConflictError, InsufficientStockError } from '../../../lib/errors.js';
import { movementSchema, planMovement, type Movement } from './movement-rules.js';
import type { StockLevel } from './stock.js';

const LOC = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a6b';
const level = (over: Partial<StockLevel> = {}): StockLevel =>
  Object.assign({ sku: 'A', locationId: LOC, onHand: 10, reserved: 3, safetyStock: 2, incoming: 0, damaged: 0, qualityControl: 0, version: 4, updatedAt: new Date() }, over);
const movement = (m: Record<string, unknown>): Movement => movementSchema.parse({ idempotencyKey: 'k', sku: 'A', locationId: LOC, ...m });

describe('planMovement', () => {
  it('records a till sale even into reserved units (it already happened), never beyond on-hand', () => {
    expect(planMovement(movement({ type: 'SALE', quantity: 7 }), [level()], null)).toEqual([{ key: { sku: 'A', locationId: LOC }, delta: { onHand: -7 } }]);
    expect(planMovement(movement({ type: 'SALE', quantity: 10 }), [level()], null)).toEqual([{ key: { sku: 'A', locationId: LOC }, delta: { onHand: -10 } }]);
    expect(() => planMovement(movement({ type: 'SALE', quantity: 11 }), [level()], null)).toThrow(InsufficientStockError);
  });

  it('moves damaged units out of on-hand into the damaged bucket', () => {
    expect(planMovement(movement({ type: 'ADJUSTMENT', reason: 'DAMAGE', quantity: -2 }), [level()], null)[0]!.delta).toEqual({ onHand: -2, damaged: 2 });
  });

  it('sets on-hand absolutely on a cycle count', () => {
    expect(planMovement(movement({ type: 'CYCLE_COUNT', quantity: 4 }), [level()], null)[0]!.delta).toEqual({ onHand: -6 });
  });

  it('refuses a stale expected version with the current values', () => {
    try {
      planMovement(movement({ type: 'CYCLE_COUNT', quantity: 4, expectedVersion: 3 }), [level()], null);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError).details).toMatchObject({ currentVersion: 4, currentOnHand: 10 });
    }
  });

  it('sends a transfer only from available stock', () => {
    const dest = level({ locationId: '7c1e9d42-8a3b-4f2c-b1d0-2e3f4a5b6c7d', onHand: 0, reserved: 0, safetyStock: 0 });
    const m = movement({ type: 'TRANSFER_OUT', quantity: 5, destinationLocationId: dest.locationId });
    expect(planMovement(m, [level(), dest], null).map((c) => c.delta)).toEqual([{ onHand: -5 }, { incoming: 5 }]);
    expect(() => planMovement(movement({ type: 'TRANSFER_OUT', quantity: 6, destinationLocationId: dest.locationId }), [level(), dest], null)).toThrow(
      InsufficientStockError,
    );
  });
});

describe('movementSchema', () => {
  it.each([
    [{ type: 'ADJUSTMENT', reason: 'FOUND', quantity: -1 }],
    [{ type: 'ADJUSTMENT', reason: 'CORRECTION', quantity: 0 }],
    [{ type: 'RECEIPT', quantity: 0 }],
    [{ type: 'CYCLE_COUNT', quantity: -1 }],
    [{ type: 'TRANSFER_OUT', quantity: 1, destinationLocationId: LOC }],
  ])('refuses %j', (m) => {
    expect(movementSchema.safeParse({ idempotencyKey: 'k', sku: 'A', locationId: LOC, ...m }).success).toBe(false);
  });
});
