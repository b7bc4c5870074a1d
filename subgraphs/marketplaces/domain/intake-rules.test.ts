import { describe, expect, it } from 'vitest';
import { oversellCause, pushRecordAt, remapUnmapped } from './intake-rules.js';

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

describe('pushRecordAt', () => {
  // Pushed 6 at 0:10 and 2 at 0:50 (a change waiting since 0:20 for it); the buyer ordered at 0:30.
  const history = [
    { pushedAt: t(10), quantity: 6, pendingSince: t(2), lagMs: 8000 },
    { pushedAt: t(50), quantity: 2, pendingSince: t(20), lagMs: 30_000 },
  ];
  const now = { lastPushedQuantity: 2, lastPushedAt: t(50), pendingSince: null, lastLagMs: 30_000 };

  it('judges an order on what the marketplace had been told when the buyer ordered, not since', () => {
    const record = pushRecordAt(history, now, t(30));
    expect(record).toEqual({ lastPushedQuantity: 6, lastPushedAt: t(10), pendingSince: t(20), lastLagMs: 30_000 });
    // The current state alone would call it DRIFT (2 pushed, 5 sold); the history says a change waited.
    expect(oversellCause(line, now, at).cause).toBe('DRIFT');
    expect(oversellCause(line, record, at).cause).toBe('PUSH_LAG');
  });

  it('sees no change waiting when the next push carried one that came after the order', () => {
    expect(pushRecordAt([history[0]!, { ...history[1]!, pendingSince: t(35) }], now, t(30))).toMatchObject({ lastPushedQuantity: 6, pendingSince: t(35) });
    expect(oversellCause(line, pushRecordAt([history[0]!, { ...history[1]!, pendingSince: t(35) }], now, t(30)), at).cause).toBe('INTAKE_DELAY');
  });

  it('takes the change still waiting when no push followed the order', () => {
    expect(pushRecordAt([history[0]!], { ...now, lastPushedQuantity: 6, lastPushedAt: t(10), pendingSince: t(25) }, t(30))).toMatchObject({ lastPushedQuantity: 6, pendingSince: t(25) });
  });

  it('falls back on the current state when the history was pruned, and says never pushed when nothing came before the order', () => {
    expect(pushRecordAt([], { ...now, lastPushedAt: t(5) }, t(30))).toMatchObject({ lastPushedQuantity: 2, lastPushedAt: t(5) });
    expect(pushRecordAt([history[1]!], now, t(30))).toMatchObject({ lastPushedQuantity: null, lastPushedAt: null, pendingSince: t(20) });
    expect(oversellCause(line, pushRecordAt([history[1]!], now, t(30)), at).cause).toBe('NEVER_PUSHED');
    expect(pushRecordAt([], null, t(30))).toBeNull();
  });
});

describe('remapUnmapped', () => {
  const lines = [
    { lineId: '1', marketplaceSku: 'M-1', sku: null, quantity: 2 },
    { lineId: '2', marketplaceSku: 'M-2', sku: null, quantity: 1 },
    { lineId: '3', marketplaceSku: 'M-1', sku: 'M-1', quantity: 1 },
  ];

  it('maps every line naming the marketplace SKU, and waits while another line is unmapped', () => {
    const first = remapUnmapped(lines, 'OPEN', 'M-1', 'SKU-1');
    expect(first.lines.map((l) => l.sku)).toEqual(['SKU-1', null, 'SKU-1']);
    expect(first.status).toBe('UNMAPPED');
    const second = remapUnmapped(first.lines, 'OPEN', 'M-2', 'SKU-2');
    expect(second.lines.map((l) => l.sku)).toEqual(['SKU-1', 'SKU-2', 'SKU-1']);
    expect(second.status).toBe('RECEIVED');
  });

  it('ends an order the buyer cancelled meanwhile instead of placing it', () => {
    expect(remapUnmapped(lines.slice(0, 1), 'CANCELLED', 'M-1', 'SKU-1').status).toBe('CANCELLED');
  });

  it('leaves lines naming other marketplace SKUs as they were', () => {
    expect(remapUnmapped(lines, 'OPEN', 'M-9', 'SKU-9').lines).toEqual(lines);
  });
});
