import { describe, expect, it } from 'vitest';
import { protectedQuantity, withheldUnits } from './protection-rules.js';

describe('protective available-to-sell', () => {
  it('withholds what sells while the channel is behind, rounded up', () => {
    // 0.5 units/s over 2 s of push lag and 30 s of intake delay: 16 units.
    expect(withheldUnits(0.5, { pushLagMs: 2000, intakeDelayMs: 30_000 })).toBe(16);
    expect(withheldUnits(0.01, { pushLagMs: 100, intakeDelayMs: 0 })).toBe(1);
    expect(withheldUnits(0, { pushLagMs: 60_000, intakeDelayMs: 60_000 })).toBe(0);
    expect(withheldUnits(Number.NaN, { pushLagMs: 1, intakeDelayMs: 1 })).toBe(0);
    expect(withheldUnits(1, { pushLagMs: -5, intakeDelayMs: 0 })).toBe(0);
  });

  it('never shows less than nothing', () => {
    expect(protectedQuantity(10, 4)).toBe(6);
    expect(protectedQuantity(3, 4)).toBe(0);
  });
});
