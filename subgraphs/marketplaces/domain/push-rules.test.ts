import { describe, expect, it } from 'vitest';
import { demandUnits, isDemandChange, isUrgentPush } from './push-rules.js';

describe('isUrgentPush', () => {
  it('sends a sale anywhere that lowers what a channel shows at once, however much it shows', () => {
    expect(isUrgentPush(500, -1, true)).toBe(true);
    expect(isUrgentPush(null, -1, true)).toBe(true);
    expect(isUrgentPush(500, -1, false)).toBe(false);
    expect(isUrgentPush(500, 3, true)).toBe(false);
  });

  it('sends a change to or from zero, or of a SKU never pushed, at once', () => {
    expect(isUrgentPush(0, 4, false)).toBe(true);
    expect(isUrgentPush(3, -3, false)).toBe(true);
    expect(isUrgentPush(3, -2, false)).toBe(false);
    expect(isUrgentPush(null, 5, false)).toBe(true);
    expect(isUrgentPush(null, 0, false)).toBe(false);
  });

  it('counts sales and reservations as demand, not receipts, counts or releases', () => {
    expect(['SALE', 'RESERVE'].map(isDemandChange)).toEqual([true, true]);
    expect(['RECEIPT', 'CYCLE_COUNT', 'RELEASE', 'EXPIRE', 'ADJUSTMENT', 'FULFILMENT'].map(isDemandChange)).toEqual([false, false, false, false, false, false]);
  });
});

describe('demandUnits', () => {
  const q = (onHand: number, reserved: number) => ({ onHand, reserved });
  it('counts what a sale took off on-hand, even of units held for orders, and what a reservation took', () => {
    // A till sale of 3 while everything left was held for orders: available stays 0, demand is 3.
    expect(demandUnits({ change: 'SALE', before: q(5, 5), after: q(2, 5) })).toBe(3);
    expect(demandUnits({ change: 'RESERVE', before: q(5, 1), after: q(5, 4) })).toBe(3);
  });

  it('counts nothing else: receipts, releases, shipments of what was reserved', () => {
    expect(demandUnits({ change: 'RECEIPT', before: q(5, 0), after: q(9, 0) })).toBe(0);
    expect(demandUnits({ change: 'RELEASE', before: q(5, 4), after: q(5, 1) })).toBe(0);
    expect(demandUnits({ change: 'FULFILMENT', before: q(5, 4), after: q(1, 0) })).toBe(0);
  });
});
