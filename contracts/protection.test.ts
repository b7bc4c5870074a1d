import { describe, expect, it } from 'vitest';
import { protectedQuantity, unitsAtRisk, withheldUnits } from './protection.js';

describe('protective available-to-sell', () => {
  it('puts at risk the unreported units and what sells while the push travels', () => {
    // 3.2 units sold but not reported yet, and 0.5 units/s over a 2 s push lag: 4.2.
    expect(unitsAtRisk({ unreported: 3.2, unitsPerSecond: 0.5, pushLagMs: 2000 })).toBeCloseTo(4.2, 9);
    expect(unitsAtRisk({ unreported: -3, unitsPerSecond: 1, pushLagMs: -5 })).toBe(0);
    expect(unitsAtRisk({ unreported: Number.NaN, unitsPerSecond: Number.NaN, pushLagMs: 1 })).toBe(0);
  });

  it('withholds the Poisson quantile of the units at risk at the confidence asked', () => {
    // Poisson(4.2): P(N ≤ 7) = 0.936, P(N ≤ 8) = 0.972.
    expect(withheldUnits({ unreported: 4.2, unitsPerSecond: 0, pushLagMs: 0 }, 0.95)).toBe(8);
    expect(withheldUnits({ unreported: 4.2, unitsPerSecond: 0, pushLagMs: 0 }, 0.9)).toBe(7);
    // Poisson(0.04): P(N = 0) = 0.961 covers 95% alone; a SKU barely selling withholds nothing.
    expect(withheldUnits({ unreported: 0, unitsPerSecond: 0.0004, pushLagMs: 100_000 }, 0.95)).toBe(0);
    expect(withheldUnits({ unreported: 0.04, unitsPerSecond: 0, pushLagMs: 0 }, 0.99)).toBe(1);
    // A huge mean: about mean + 1.645 sd (the normal approximation where the table would be too large).
    for (const mean of [2_000_000]) {
      const k = withheldUnits({ unreported: mean, unitsPerSecond: 0, pushLagMs: 0 }, 0.95);
      expect(Math.abs(k - (mean + 1.6448536 * Math.sqrt(mean)))).toBeLessThan(4);
    }
  });

  it('withholds nothing without demand', () => {
    expect(withheldUnits({ unreported: 0, unitsPerSecond: 0, pushLagMs: 60_000 }, 0.95)).toBe(0);
    expect(withheldUnits({ unreported: Number.NaN, unitsPerSecond: Number.NaN, pushLagMs: 1 }, 0.95)).toBe(0);
  });

  it('never shows less than nothing', () => {
    expect(protectedQuantity(10, 4)).toBe(6);
    expect(protectedQuantity(3, 4)).toBe(0);
  });
});
