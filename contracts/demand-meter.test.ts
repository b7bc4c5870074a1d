import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { configWith } from '../lib/config.js';
import { createRedis, dropKeys, redisTarget } from '../lib/redis.js';
import { DemandMeter } from './demand-meter.js';

/** Against the real Redis, each test on a prefix of its own; times are given, never waited for. */
const redis = createRedis(redisTarget(configWith({})));
const run = `test-demand-${randomUUID()}`;
const meter = () => new DemandMeter(redis, `${run}:${randomUUID()}`, 15 * MINUTE);
afterAll(async () => {
  await dropKeys(redis, run);
  await redis.quit();
});

const MINUTE = 60_000;
// A slot boundary (a whole minute), so the spans are exact.
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE;

describe('DemandMeter', () => {
  it("estimates the units still unreported by Little's law: a quarter hour of till sales posted at once is half unheard on average", async () => {
    const m = meter();
    // A till batch at T0 + 15 min: 90 units, sold evenly over the quarter hour before (late by 0 to 15 min).
    const now = T0 + 15 * MINUTE;
    await m.record(Array.from({ length: 90 }, (_, i) => ({ sku: 'TILL', units: 1, occurredAt: now - (i + 0.5) * 10_000 })), now);
    const d = (await m.demand(['TILL', 'NONE'], now)).get('TILL')!;
    // Counted when they sold: 90 units over the quarter hour, 0.1 a second, with no burst; 7.5 minutes late on average.
    expect(d.unitsPerSecond).toBeCloseTo(0.1, 2);
    expect(d.meanLatenessMs).toBeCloseTo(7.5 * MINUTE, -3);
    // 0.1 a second for 450 s: 45 units unheard of on average.
    expect(d.unreported).toBeCloseTo(45, 0);
    expect((await m.demand(['NONE'], now)).get('NONE')).toEqual({ unitsPerSecond: 0, unreported: 0, meanLatenessMs: d.meanLatenessMs });
  });

  it("reads a burst from the window's last fifth, takes lateness from every SKU, and forgets what sold before the window", async () => {
    const m = meter();
    const now = T0 + 30 * MINUTE;
    // Sold and reported before the window: it counts no more.
    await m.record([{ sku: 'BURST', units: 500 }], now - 16 * MINUTE);
    // Another SKU, sold on time: it makes a unit's mean lateness smaller.
    await m.record([{ sku: 'ON-TIME', units: 30 }], now - 5 * MINUTE);
    // 10 units 10 minutes late, then 60 in the last three minutes, one minute late.
    await m.record([{ sku: 'BURST', units: 10, occurredAt: now - 10 * MINUTE }], now);
    await m.record([{ sku: 'BURST', units: 60, occurredAt: now - 1 * MINUTE }], now);
    const d = (await m.demand(['BURST'], now)).get('BURST')!;
    expect(d.unitsPerSecond).toBeCloseTo(60 / 180, 3);
    const lateness = (10 * 10 * MINUTE + 60 * MINUTE) / 100;
    expect(d.meanLatenessMs).toBeCloseTo(lateness, 6);
    expect(d.unreported).toBeCloseTo((60 / 180) * (lateness / 1000), 3);
  });

  it('takes a marketplace order’s lateness on its own, the reservation counting its units', async () => {
    const m = meter();
    const now = T0 + 45 * MINUTE;
    await m.record([{ sku: 'MP', units: 3 }], now);
    await m.recordLate(new Map([['MP', 3 * 2 * MINUTE]]), now);
    const d = (await m.demand(['MP'], now)).get('MP')!;
    expect(d.meanLatenessMs).toBe(2 * MINUTE);
    // 3 units in the last three minutes, two minutes late each: 2 unheard of.
    expect(d.unreported).toBeCloseTo(2, 6);
  });
});
