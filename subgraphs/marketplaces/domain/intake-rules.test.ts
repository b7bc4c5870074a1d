import { describe, expect, it } from 'vitest';
import { oversellCause } from './intake-rules.js';

const t = (s: number) => new Date(Date.UTC(2026, 11, 5, 12, 0, s));
const line = { sku: 'SKU-A', requested: 5, available: 2 };
const at = { placedAt: t(30), receivedAt: t(40), lastThrottledAt: null };
const pushed = { lastPushedQuantity: 6, lastPushedAt: t(10), pendingSince: null, lastLagMs: 120 };

describe('oversellCause', () => {
  it('names what our records say happened', () => {
    expect(oversellCause(line, null, at).cause).toBe('NEVER_PUSHED');
    expect(oversellCause(line, { ...pushed, lastPushedAt: null }, at).cause).toBe('NEVER_PUSHED');
    // A change waited to be pushed when the buyer ordered.
    expect(oversellCause(line, { ...pushed, pendingSince: t(20) }, at).cause).toBe('PUSH_LAG');
    expect(oversellCause(line, { ...pushed, pendingSince: t(20) }, { ...at, lastThrottledAt: t(25) }).cause).toBe('THROTTLED');
    // A throttle before the change waited, or a change after the order, does not count.
    expect(oversellCause(line, { ...pushed, pendingSince: t(20) }, { ...at, lastThrottledAt: t(5) }).cause).toBe('PUSH_LAG');
    expect(oversellCause(line, { ...pushed, pendingSince: t(35) }, at).cause).toBe('INTAKE_DELAY');
    // The marketplace sold more than we ever showed it.
    expect(oversellCause(line, { ...pushed, lastPushedQuantity: 3 }, at).cause).toBe('DRIFT');
  });

  it('keeps the evidence', () => {
    expect(oversellCause(line, pushed, at)).toEqual({
      ...line,
      cause: 'INTAKE_DELAY',
      lastPushedQuantity: 6,
      lastPushedAt: t(10).toISOString(),
      pendingSince: null,
      pushLagMs: 120,
      lastThrottledAt: null,
      intakeDelayMs: 10_000,
    });
  });
});
