import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemandMeter } from '../contracts/demand-meter.js';
import { withheldUnits } from '../contracts/protection.js';
import { configWith, type Config } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { gql } from './client.js';
import { dropKeys, testKeyPrefix } from './events.js';
import { AVAILABILITY, InventoryFixture, RESERVE } from './inventory-fixture.js';

/**
 * Protective available-to-sell on a channel that reads inventory live (a web storefront): the units
 * sold elsewhere but not reported yet are withheld from what it is shown and from what it may
 * reserve. The demand is written through the meter the jobs process writes it with, on a key prefix
 * of this file's own (the mean lateness is over every SKU under a prefix).
 */
let f: InventoryFixture;
let cfg: Config;
const redis = createRedis(redisTarget(configWith({})));
let meter: DemandMeter;

beforeAll(async () => {
  cfg = configWith({ REDIS_KEY_PREFIX: testKeyPrefix() });
  f = await InventoryFixture.start(cfg);
  meter = new DemandMeter(redis, cfg.REDIS_KEY_PREFIX, cfg.PROTECT_WINDOW_MS);
});
afterAll(async () => {
  await f?.close();
  await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
  await redis.quit();
});

const reserve = (input: Record<string, unknown>) => gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), ttlSeconds: 600, ...input } });
const ats = async (channel: string, sku: string) => {
  const res = await gql(f.url, AVAILABILITY, { c: channel, skus: [sku] });
  expect(res.errors).toBeUndefined();
  return res.data!.availability[0].availableToSell as number;
};

/** A store with 20 units of a SKU that sold 12 units at its till over the last ten minutes, posted just now (a till batch). */
async function estate() {
  const store = await f.location();
  const sku = await f.item();
  await f.receive(sku, store, 20);
  const now = Date.now();
  await meter.record(Array.from({ length: 12 }, (_, i) => ({ sku, units: 1, occurredAt: now - (i + 1) * 50_000 })), now);
  const protective = await f.channel([store], { protection: 'PROTECTIVE' });
  const open = await f.channel([store]);
  const d = (await meter.demand([sku])).get(sku)!;
  const withheld = withheldUnits({ unitsPerSecond: d.unitsPerSecond, unreported: d.unreported, pushLagMs: 0 }, cfg.PROTECT_CONFIDENCE);
  return { store, sku, protective, open, withheld };
}

describe('a PROTECTIVE live channel', () => {
  it('is shown its available-to-sell less the units likely sold elsewhere and not reported yet; an OFF channel on the same stock is shown all', async () => {
    const e = await estate();
    // 12 units over the window, each minutes late: several units are unheard of, and more are withheld to cover them 19 times in 20.
    expect(e.withheld).toBeGreaterThanOrEqual(2);
    expect(e.withheld).toBeLessThan(20);
    expect(await ats(e.open, e.sku)).toBe(20);
    // Read again at the reservation below: the figure moves with the clock, so compare within a unit.
    const shown = await ats(e.protective, e.sku);
    expect(Math.abs(shown - (20 - e.withheld))).toBeLessThanOrEqual(1);
    expect(shown).toBeLessThan(20);
  });

  it('may not reserve the withheld units: what it is shown is what it may take, and nothing is written when refused', async () => {
    const e = await estate();
    const refused = await reserve({ channelId: e.protective, lines: [{ sku: e.sku, quantity: 20 }] });
    expect(refused.errors).toBeUndefined();
    expect(refused.data!.reserveStock).toMatchObject({ __typename: 'InsufficientStock', lines: [{ sku: e.sku, requested: 20 }] });
    const available = refused.data!.reserveStock.lines[0].available as number;
    expect(available).toBeLessThan(20);
    expect((await f.level(e.sku, e.store)).reserved).toBe(0);
    const taken = await reserve({ channelId: e.protective, lines: [{ sku: e.sku, quantity: available }] });
    expect(taken.data!.reserveStock).toMatchObject({ __typename: 'Reservation', status: 'ACTIVE' });
    // The OFF channel may still take what protection held back from the other.
    const rest = await reserve({ channelId: e.open, lines: [{ sku: e.sku, quantity: 20 - available }] });
    expect(rest.data!.reserveStock).toMatchObject({ __typename: 'Reservation' });
    expect((await f.level(e.sku, e.store)).reserved).toBe(20);
  });

  it('withholds nothing from a SKU without demand', async () => {
    const store = await f.location();
    const sku = await f.item();
    await f.receive(sku, store, 5);
    expect(await ats(await f.channel([store], { protection: 'PROTECTIVE' }), sku)).toBe(5);
  });
});
