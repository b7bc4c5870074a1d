import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { configWith } from '../../../lib/config.js';
import { createRedis } from '../../../lib/redis.js';
import { DemandMeter } from './demand-meter.js';

/** Against the real Redis, on a prefix of this run's own; times are given, never waited for. */
const redis = createRedis(configWith({}).REDIS_URL);
const prefix = `test-demand-${randomUUID()}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const MINUTE = 60_000;
// A slot boundary (a whole minute), so the spans are exact.
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE;

describe('DemandMeter', () => {
  it('estimates the units still unreported by Little\'s law: a quarter hour of till sales posted at once is half unheard on average', async () => {
    const meter = new DemandMeter(redis, prefix, 15 * MINUTE);
    // A till batch at T0 + 15 min: 90 units, sold evenly over the quarter hour before (late by 0 to 15 min).
    const now = T0 + 15 * MINUTE;
    const sales = Array.from({ length: 90 }, (_, i) => ({ sku: 'TILL', units: 1, occurredAt: now - (i + 0.5) * 10_000 }));
    await meter.record(sales, now);
    const d = (await meter.demand(['TILL', 'NONE'], now)).get('TILL')!;
    // 90 units × 7.5 min mean lateness over a 15-minute window: 45 units unheard of on average.
    expect(d.unreported).toBeCloseTo(45, 0);
    // Counted when they sold: 90 units over the quarter hour, 0.1 a second, with no burst.
    expect(d.unitsPerSecond).toBeCloseTo(0.1, 2);
    expect((await meter.demand(['NONE'], now)).get('NONE')).toEqual({ unitsPerSecond: 0, unreported: 0 });
  });

  it('reads a burst from the window\'s last fifth, and forgets what sold before the window', async () => {
    const meter = new DemandMeter(redis, prefix, 15 * MINUTE);
    const now = T0 + 30 * MINUTE;
    // 10 units over the first 12 minutes, then 60 in the last three: the last fifth sells 20 a minute.
    await meter.record([{ sku: 'BURST', units: 10, occurredAt: now - 10 * MINUTE }], now);
    await meter.record([{ sku: 'BURST', units: 60, occurredAt: now - 1 * MINUTE }], now);
    // Sold and reported before the window: it counts no more.
    await meter.record([{ sku: 'BURST', units: 500 }], now - 16 * MINUTE);
    const d = (await meter.demand(['BURST'], now)).get('BURST')!;
    expect(d.unitsPerSecond).toBeCloseTo(60 / 180, 2);
    // Reported on time, apart from the two sold minutes earlier.
    expect(d.unreported).toBeCloseTo((10 * 10 * MINUTE + 60 * MINUTE) / (15 * MINUTE), 1);
  });

  it('takes marketplace lateness on its own (the reservation counts the units)', async () => {
    const meter = new DemandMeter(redis, prefix, 15 * MINUTE);
    const now = T0 + 45 * MINUTE;
    await meter.recordLate(new Map([['MP', 3 * 2 * MINUTE]]), now);
    expect((await meter.demand(['MP'], now)).get('MP')).toEqual({ unitsPerSecond: 0, unreported: (6 * MINUTE) / (15 * MINUTE) });
  });
});
