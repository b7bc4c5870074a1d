import { describe, expect, it } from 'vitest';
import { isDemandChange, isUrgentPush } from './push-rules.js';

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
