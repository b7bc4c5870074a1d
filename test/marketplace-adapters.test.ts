import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdapter, type AdapterOptions } from '../subgraphs/marketplaces/connectors/index.js';
import { DEFAULT_PUSH_POLICIES } from '../subgraphs/marketplaces/connectors/policies.js';
import { levelsCost, lookupCost, MUTATION_COST } from '../subgraphs/marketplaces/connectors/shopify/push.js';
import {
  MARKETPLACE_KINDS,
  MarketplaceRejectedError,
  MarketplaceThrottledError,
  MarketplaceUnavailableError,
  type ItemOutcome,
  type MarketplaceAdapter,
  type MarketplaceKind,
  type QuantityUpdate,
} from '../subgraphs/marketplaces/connectors/types.js';
import { startMarketplaceSimulator, type MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';

/**
 * Each adapter against the simulator. `fast` refills buckets a thousand times faster than the real
 * marketplaces so ordinary tests never wait; `slow` refills a thousand times slower, so a test that
 * means to run out of budget does so at an exact call; `exact` keeps the documented rates for the
 * tests that check a computed wait.
 */

let fast: MarketplaceSimulator;
let slow: MarketplaceSimulator;
let exact: MarketplaceSimulator;

beforeAll(async () => {
  [fast, slow, exact] = await Promise.all([
    startMarketplaceSimulator({ rateScale: 1000, walmartFeedProcessingMs: 30 }),
    startMarketplaceSimulator({ rateScale: 0.001, walmartFeedProcessingMs: 20 }),
    startMarketplaceSimulator({ rateScale: 1 }),
  ]);
});
afterAll(async () => {
  await Promise.all([fast?.close(), slow?.close(), exact?.close()]);
});

const account = () => `acct-${randomUUID().slice(0, 8)}`;
const key = () => randomUUID();
const FAST_POLL: AdapterOptions = { pollIntervalMs: 10 };

function adapterFor(sim: MarketplaceSimulator, kind: MarketplaceKind, acct: string, opts: AdapterOptions = FAST_POLL, settings?: Record<string, unknown>): MarketplaceAdapter {
  return createAdapter(sim.connection(kind, acct, settings), opts);
}

const update = (sku: string, quantity: number, previousQuantity: number | null = null): QuantityUpdate => ({ sku, quantity, previousQuantity });
const bySku = (outcomes: ItemOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.sku, o]));

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** Pushes one SKU per call where the marketplace takes one (Amazon), else all in one call. */
async function pushAll(adapter: MarketplaceAdapter, updates: QuantityUpdate[]): Promise<ItemOutcome[]> {
  const max = DEFAULT_PUSH_POLICIES[adapter.kind].maxBatch;
  const out: ItemOutcome[] = [];
  for (let i = 0; i < updates.length; i += max) out.push(...(await adapter.push(updates.slice(i, i + max), { idempotencyKey: key() })));
  return out;
}

async function readAll(adapter: MarketplaceAdapter, skus: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (let i = 0; i < skus.length; i += adapter.readBatch) for (const [k, v] of await adapter.read(skus.slice(i, i + adapter.readBatch))) out.set(k, v);
  return out;
}

/** How each marketplace reports an injected throttle of 2 s, and refuses credentials. */
const THROTTLE_MS = 2000;
const AUTH_STATUS: Record<MarketplaceKind, number> = { AMAZON: 403, EBAY: 401, WALMART: 401, SHOPIFY: 401 };

describe.each(MARKETPLACE_KINDS)('%s adapter', (kind) => {
  it('pushes quantities and reads them back; an unknown SKU reads as null', async () => {
    const acct = account();
    const adapter = adapterFor(fast, kind, acct);
    const outcomes = await pushAll(adapter, [update('A', 5), update('B', 0), update('C', 12)]);
    expect(outcomes).toEqual(expect.arrayContaining([{ sku: 'A', ok: true }, { sku: 'B', ok: true }, { sku: 'C', ok: true }]));
    expect(outcomes).toHaveLength(3);
    expect(Object.fromEntries(fast.quantities(kind, acct))).toEqual({ A: 5, B: 0, C: 12 });

    fast.unlistSku(kind, acct, 'GONE');
    const read = await readAll(adapter, ['A', 'B', 'C', 'NEVER-PUSHED', 'GONE']);
    expect(Object.fromEntries(read)).toEqual({ A: 5, B: 0, C: 12, 'NEVER-PUSHED': 0, GONE: null });
    expect(fast.violations(kind, acct)).toBe(0);
  });

  it('reports a per-item validation error as a non-retryable outcome and leaves other items alone', async () => {
    const acct = account();
    fast.rejectSku(kind, acct, 'BAD', 'The listing for this SKU is suppressed');
    const outcomes = bySku(await pushAll(adapterFor(fast, kind, acct), [update('BAD', 3), update('GOOD', 4), update('NEG', -2)]));
    expect(outcomes.BAD).toMatchObject({ ok: false, retryable: false, message: 'The listing for this SKU is suppressed' });
    expect(outcomes.GOOD).toEqual({ sku: 'GOOD', ok: true });
    expect(outcomes.NEG).toMatchObject({ ok: false, retryable: false, code: 'INVALID_QUANTITY' });
    expect(fast.quantity(kind, acct, 'BAD')).toBeUndefined();
    expect(fast.quantity(kind, acct, 'GOOD')).toBe(4);
    expect(fast.quantity(kind, acct, 'NEG')).toBeUndefined();
  });

  it('turns a throttled answer into MarketplaceThrottledError with the marketplace’s wait', async () => {
    const acct = account();
    // Shopify's wait comes from its bucket figures, so it is checked at the documented restore rate.
    const sim = kind === 'SHOPIFY' ? exact : fast;
    const adapter = adapterFor(sim, kind, acct);
    const retryAfterMs = kind === 'SHOPIFY' ? 50 : THROTTLE_MS;
    sim.inject(kind, acct, { type: 'throttle', count: 1, retryAfterMs });
    const err = await failure(adapter.push([update('A', 1)], { idempotencyKey: key() }));
    expect(err).toBeInstanceOf(MarketplaceThrottledError);
    expect((err as MarketplaceThrottledError).retryAfterMs).toBe(retryAfterMs);
    expect(sim.violations(kind, acct)).toBe(0);
    // The throttle was used up: the same push now goes through.
    expect(await adapter.push([update('A', 1)], { idempotencyKey: key() })).toEqual([{ sku: 'A', ok: true }]);
  });

  it('reports 5xx, a reset connection and a timeout as MarketplaceUnavailableError', async () => {
    const acct = account();
    const adapter = adapterFor(fast, kind, acct);
    fast.inject(kind, acct, { type: 'error', status: 503, count: 1 });
    const err = await failure(adapter.push([update('A', 1)], { idempotencyKey: key() }));
    expect(err).toBeInstanceOf(MarketplaceUnavailableError);
    expect((err as MarketplaceUnavailableError).status).toBe(503);
    // One failure was injected: the next call goes through.
    expect(await adapter.read(['A'])).toEqual(new Map([['A', 0]]));

    const outageAcct = account();
    fast.inject(kind, outageAcct, { type: 'outage' });
    expect(await failure(adapterFor(fast, kind, outageAcct).read(['A']))).toBeInstanceOf(MarketplaceUnavailableError);

    const slowAcct = account();
    fast.inject(kind, slowAcct, { type: 'latency', ms: 1000, count: 1 });
    const impatient = adapterFor(fast, kind, slowAcct, { ...FAST_POLL, timeoutMs: 50 });
    expect(await failure(impatient.read(['A']))).toBeInstanceOf(MarketplaceUnavailableError);
  });

  it('reports a refused call (400, bad credentials) as MarketplaceRejectedError with the marketplace’s message', async () => {
    const acct = account();
    fast.inject(kind, acct, { type: 'error', status: 400, count: 1 });
    const bad = await failure(adapterFor(fast, kind, acct).push([update('A', 1)], { idempotencyKey: key() }));
    expect(bad).toBeInstanceOf(MarketplaceRejectedError);
    expect((bad as MarketplaceRejectedError).status).toBe(400);

    const stranger = createAdapter({ ...fast.connection(kind, acct), credentials: { accessToken: 'not-ours' } }, FAST_POLL);
    const denied = await failure(stranger.push([update('A', 1)], { idempotencyKey: key() }));
    expect(denied).toBeInstanceOf(MarketplaceRejectedError);
    expect((denied as MarketplaceRejectedError).status).toBe(AUTH_STATUS[kind]);
    expect((denied as Error).message).toMatch(/denied|invalid|unauthorized/i);
    expect(fast.quantity(kind, acct, 'A')).toBeUndefined();
  });

  it('refuses a batch over maxBatch or readBatch before calling the marketplace', async () => {
    const acct = account();
    const adapter = adapterFor(fast, kind, acct);
    const max = DEFAULT_PUSH_POLICIES[kind].maxBatch;
    const tooMany = Array.from({ length: max + 1 }, (_, i) => update(`S-${i}`, 1));
    await expect(adapter.push(tooMany, { idempotencyKey: key() })).rejects.toThrow(RangeError);
    await expect(adapter.read(tooMany.slice(0, adapter.readBatch + 1).map((u) => u.sku))).rejects.toThrow(RangeError);
    expect(fast.calls(kind, acct)).toMatchObject({ push: 0, read: 0 });
  });
});

describe('adapters running out of budget', () => {
  it('Amazon: the sixth patch in a burst of five gets the wait x-amzn-RateLimit-Limit implies', async () => {
    const acct = account();
    const adapter = adapterFor(slow, 'AMAZON', acct);
    for (let i = 0; i < 5; i++) expect(await adapter.push([update(`S-${i}`, i)], { idempotencyKey: key() })).toEqual([{ sku: `S-${i}`, ok: true }]);
    const err = await failure(adapter.push([update('S-5', 5)], { idempotencyKey: key() }));
    expect(err).toBeInstanceOf(MarketplaceThrottledError);
    // 5 requests/s scaled by 0.001: one request every 200 s.
    expect((err as MarketplaceThrottledError).retryAfterMs).toBe(200_000);
    expect(slow.violations('AMAZON', acct)).toBe(1);
  });

  it('eBay: the 26th call gets Retry-After in whole seconds', async () => {
    const acct = account();
    const adapter = adapterFor(slow, 'EBAY', acct);
    for (let i = 0; i < 25; i++) await adapter.push([update('A', i)], { idempotencyKey: key() });
    const err = await failure(adapter.push([update('A', 25)], { idempotencyKey: key() }));
    expect(err).toBeInstanceOf(MarketplaceThrottledError);
    // One call refills in 1 / (20.8 × 0.001) s = 48 s.
    expect((err as MarketplaceThrottledError).retryAfterMs % 1000).toBe(0);
    expect((err as MarketplaceThrottledError).retryAfterMs).toBeGreaterThanOrEqual(48_000);
    expect((err as MarketplaceThrottledError).retryAfterMs).toBeLessThanOrEqual(49_000);
  });

  it('Shopify: a read that the bucket cannot cover waits for exactly the missing points', async () => {
    const acct = account();
    const adapter = adapterFor(slow, 'SHOPIFY', acct);
    // 100-SKU reads cost 302 points: six fit in 2,000, the seventh finds 188 and needs 114 more at 0.1 point/s.
    for (let i = 0; i < 6; i++) await adapter.read(Array.from({ length: 100 }, (_, j) => `R${i}-${j}`));
    const err = await failure(adapter.read(Array.from({ length: 100 }, (_, j) => `R6-${j}`)));
    expect(err).toBeInstanceOf(MarketplaceThrottledError);
    const expected = ((levelsCost(100) - (2000 - 6 * levelsCost(100))) * 1000) / 0.1;
    expect((err as MarketplaceThrottledError).retryAfterMs).toBeGreaterThan(expected * 0.99);
    expect((err as MarketplaceThrottledError).retryAfterMs).toBeLessThanOrEqual(expected);
    expect(slow.violations('SHOPIFY', acct)).toBe(1);
  });
});

describe('Walmart feeds', () => {
  it('polls a feed to completion and maps DATA_ERROR to non-retryable, SYSTEM_ERROR to retryable', async () => {
    const acct = account();
    fast.rejectSku('walmart', acct, 'BAD', 'Invalid SKU: inventory cannot be updated');
    fast.rejectSku('walmart', acct, 'FLAKY', 'Internal error while ingesting', { transient: true });
    fast.unlistSku('walmart', acct, 'GONE');
    const adapter = adapterFor(fast, 'WALMART', acct);
    const outcomes = bySku(await adapter.push([update('OK', 3), update('BAD', 1), update('FLAKY', 2), update('GONE', 4)], { idempotencyKey: key() }));
    expect(outcomes).toEqual({
      OK: { sku: 'OK', ok: true },
      BAD: { sku: 'BAD', ok: false, retryable: false, message: 'Invalid SKU: inventory cannot be updated', code: 'ERR_EXT_DATA_0801' },
      FLAKY: { sku: 'FLAKY', ok: false, retryable: true, message: 'Internal error while ingesting', code: 'ERR_INT_SYS_0001' },
      GONE: expect.objectContaining({ ok: false, retryable: false }),
    });
    expect(fast.calls('WALMART', acct)).toMatchObject({ push: 1, items: 4 });
    expect(fast.calls('WALMART', acct).polls).toBeGreaterThanOrEqual(1);
    expect(fast.quantity('WALMART', acct, 'OK')).toBe(3);
  });

  it('pages through the item statuses of a large feed', async () => {
    const acct = account();
    const updates = Array.from({ length: 2500 }, (_, i) => update(`S-${i}`, i));
    const outcomes = await adapterFor(fast, 'WALMART', acct).push(updates, { idempotencyKey: key() });
    expect(outcomes).toHaveLength(2500);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(fast.quantities('WALMART', acct).size).toBe(2500);
    // At least one poll that saw the feed processed, then pages 2 and 3 of 1,000 statuses.
    expect(fast.calls('WALMART', acct).polls).toBeGreaterThanOrEqual(3);
    expect(fast.calls('WALMART', acct).push).toBe(1);
  });

  it('rides out failed status polls instead of spending another feed', async () => {
    const acct = account();
    const adapter = adapterFor(exact, 'WALMART', acct, { pollIntervalMs: 10 });
    const pushed = adapter.push([update('A', 8)], { idempotencyKey: key() });
    await vi.waitFor(() => expect(exact.calls('WALMART', acct).push).toBe(1));
    exact.inject('walmart', acct, { type: 'error', status: 503, count: 2 });
    expect(await pushed).toEqual([{ sku: 'A', ok: true }]);
    expect(exact.calls('WALMART', acct).push).toBe(1);
  });
});

describe('Shopify inventorySetQuantities', () => {
  it('resolves SKUs once per adapter and announces the lookup in pushCost only while needed', async () => {
    const acct = account();
    const adapter = adapterFor(fast, 'SHOPIFY', acct);
    const skus = ['A', 'B', 'C'];
    expect(adapter.pushCost(3, skus)).toBe(MUTATION_COST + lookupCost(3));
    await adapter.push(skus.map((s) => update(s, 1)), { idempotencyKey: key() });
    // What the simulator charged is what pushCost announced.
    expect(fast.calls('SHOPIFY', acct)).toMatchObject({ cost: MUTATION_COST + lookupCost(3), read: 1, push: 1 });
    expect(adapter.pushCost(3, skus)).toBe(MUTATION_COST);
    await adapter.push(skus.map((s) => update(s, 2, 1)), { idempotencyKey: key() });
    expect(fast.calls('SHOPIFY', acct)).toMatchObject({ read: 1, push: 2, cost: 2 * MUTATION_COST + lookupCost(3) });
  });

  it('re-reads a stale compare quantity and sends the item again within the same push', async () => {
    const acct = account();
    const adapter = adapterFor(fast, 'SHOPIFY', acct);
    expect(await adapter.push([update('A', 5), update('B', 1)], { idempotencyKey: key() })).toEqual([
      { sku: 'A', ok: true },
      { sku: 'B', ok: true },
    ]);
    // Shopify sold two of A before our next figure arrived.
    fast.setQuantity('shopify', acct, 'A', 3);
    fast.rejectSku('shopify', acct, 'C', 'Bundles cannot be adjusted directly');
    const outcomes = bySku(await adapter.push([update('A', 9, 5), update('B', 2, 1), update('C', 4)], { idempotencyKey: key() }));
    expect(outcomes).toEqual({
      A: { sku: 'A', ok: true },
      B: { sku: 'B', ok: true },
      C: { sku: 'C', ok: false, retryable: false, message: 'Bundles cannot be adjusted directly', code: 'NON_MUTABLE_INVENTORY_ITEM' },
    });
    expect(fast.quantity('SHOPIFY', acct, 'A')).toBe(9);
    expect(fast.history('SHOPIFY', acct, 'A')).toEqual([5, 9]);
    expect(fast.history('SHOPIFY', acct, 'B')).toEqual([1, 2]);
    // First push: one mutation; second: the refused one and the one sent again.
    expect(fast.calls('SHOPIFY', acct).push).toBe(3);
  });

  it('answers the same idempotency key with the first result instead of applying it twice', async () => {
    const acct = account();
    const adapter = adapterFor(fast, 'SHOPIFY', acct);
    const k = key();
    await adapter.push([update('A', 5)], { idempotencyKey: k });
    fast.setQuantity('shopify', acct, 'A', 1);
    expect(await adapter.push([update('A', 5)], { idempotencyKey: k })).toEqual([{ sku: 'A', ok: true }]);
    expect(fast.history('SHOPIFY', acct, 'A')).toEqual([5]);
    expect(fast.quantity('SHOPIFY', acct, 'A')).toBe(1);
    // The worker may retry a batch under its key with a newer quantity: that is applied, not refused.
    expect(await adapter.push([update('A', 6, 5)], { idempotencyKey: k })).toEqual([{ sku: 'A', ok: true }]);
    expect(fast.history('SHOPIFY', acct, 'A')).toEqual([5, 6]);
  });

  it('reports a SKU Shopify does not know as non-retryable', async () => {
    const acct = account();
    fast.unlistSku('shopify', acct, 'GONE');
    expect(await adapterFor(fast, 'SHOPIFY', acct).push([update('GONE', 1)], { idempotencyKey: key() })).toEqual([
      { sku: 'GONE', ok: false, retryable: false, code: 'NOT_FOUND', message: expect.any(String) },
    ]);
  });
});

describe('Amazon and eBay specifics', () => {
  it('Amazon: a patch for a SKU Amazon does not list is refused as a whole (404)', async () => {
    const acct = account();
    fast.unlistSku('amazon', acct, 'GONE');
    const err = await failure(adapterFor(fast, 'AMAZON', acct).push([update('GONE', 1)], { idempotencyKey: key() }));
    expect(err).toBeInstanceOf(MarketplaceRejectedError);
    expect((err as MarketplaceRejectedError).status).toBe(404);
  });

  it('eBay: a per-item 5xx is retryable, an unknown SKU is not', async () => {
    const acct = account();
    fast.rejectSku('ebay', acct, 'FLAKY', 'A system error has occurred.', { transient: true });
    fast.unlistSku('ebay', acct, 'GONE');
    const outcomes = bySku(await adapterFor(fast, 'EBAY', acct).push([update('FLAKY', 1), update('GONE', 1), update('OK', 1)], { idempotencyKey: key() }));
    expect(outcomes.FLAKY).toMatchObject({ ok: false, retryable: true, code: '25001' });
    expect(outcomes.GONE).toMatchObject({ ok: false, retryable: false, code: '25702' });
    expect(outcomes.OK).toEqual({ sku: 'OK', ok: true });
  });
});
