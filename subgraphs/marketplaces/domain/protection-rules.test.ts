import { describe, expect, it } from 'vitest';
import { protectedQuantity, withheldUnits } from './protection-rules.js';

describe('protective available-to-sell', () => {
  it('withholds the unreported units and what sells while the push travels, rounded up', () => {
    // 3.2 units sold but not reported yet, and 0.5 units/s over a 2 s push lag: 4.2, so 5.
    expect(withheldUnits({ unreported: 3.2, unitsPerSecond: 0.5, pushLagMs: 2000 })).toBe(5);
    expect(withheldUnits({ unreported: 0, unitsPerSecond: 0.01, pushLagMs: 100 })).toBe(1);
    expect(withheldUnits({ unreported: 0.1 + 0.2, unitsPerSecond: 0, pushLagMs: 0 })).toBe(1);
    expect(withheldUnits({ unreported: 2, unitsPerSecond: 0, pushLagMs: 60_000 })).toBe(2);
  });

  it('withholds nothing without demand, and ignores measurements that make no sense', () => {
    expect(withheldUnits({ unreported: 0, unitsPerSecond: 0, pushLagMs: 60_000 })).toBe(0);
    expect(withheldUnits({ unreported: Number.NaN, unitsPerSecond: Number.NaN, pushLagMs: 1 })).toBe(0);
    expect(withheldUnits({ unreported: -3, unitsPerSecond: 1, pushLagMs: -5 })).toBe(0);
  });

  it('never shows less than nothing', () => {
    expect(protectedQuantity(10, 4)).toBe(6);
    expect(protectedQuantity(3, 4)).toBe(0);
  });
});
