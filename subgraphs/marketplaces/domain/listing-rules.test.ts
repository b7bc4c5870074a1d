import { describe, expect, it } from 'vitest';
import type { MarketplaceAdapter } from '../connectors/types.js';
import { listedAdapter, listingInputSchema, shownQuantity } from './listing-rules.js';

const rule = (over: Partial<{ maxShown: number; share: number; showZeroBelow: number }>) => ({ maxShown: null, share: null, showZeroBelow: null, ...over });

describe('shownQuantity', () => {
  it('shows everything without a rule', () => {
    expect(shownQuantity(17, null)).toBe(17);
    expect(shownQuantity(17, rule({}))).toBe(17);
  });

  it('caps at the maximum, takes the share rounded down, and shows zero below the threshold', () => {
    expect(shownQuantity(100, rule({ maxShown: 10 }))).toBe(10);
    expect(shownQuantity(7, rule({ share: 0.5 }))).toBe(3);
    expect(shownQuantity(100, rule({ share: 0.5, maxShown: 20 }))).toBe(20);
    expect(shownQuantity(4, rule({ showZeroBelow: 5 }))).toBe(0);
    expect(shownQuantity(5, rule({ showZeroBelow: 5 }))).toBe(5);
    expect(shownQuantity(0, rule({ share: 1 }))).toBe(0);
  });

  it('refuses a share outside (0, 1] and negative counts', () => {
    for (const bad of [{ share: 0 }, { share: 1.5 }, { maxShown: -1 }, { showZeroBelow: 2.5 }, { marketplaceSku: '' }]) {
      expect(listingInputSchema.safeParse({ sku: 'A', ...bad }).success).toBe(false);
    }
    expect(listingInputSchema.safeParse({ sku: 'A', share: 1, maxShown: 0, marketplaceSku: 'B00X' }).success).toBe(true);
  });
});

describe('listedAdapter', () => {
  const calls: { pushed: string[]; read: string[] } = { pushed: [], read: [] };
  const inner: MarketplaceAdapter = {
    kind: 'EBAY',
    readBatch: 25,
    readCost: () => 1,
    pushCost: () => 1,
    async push(updates) {
      calls.pushed.push(...updates.map((u) => u.sku));
      return updates.map((u) => (u.sku === 'THEIR-B' ? { sku: u.sku, ok: false, retryable: false, message: 'refused' } : { sku: u.sku, ok: true }));
    },
    async read(skus) {
      calls.read.push(...skus);
      return new Map(skus.map((s) => [s, s === 'THEIR-A' ? 7 : null]));
    },
  };
  const adapter = listedAdapter(inner, async (skus) => new Map([['A', 'THEIR-A'], ['B', 'THEIR-B']].filter(([ours]) => skus.includes(ours!)) as [string, string][]));

  it('sends listed SKUs under the marketplace SKU and answers under ours', async () => {
    const outcomes = await adapter.push(
      [
        { sku: 'A', quantity: 3, previousQuantity: null },
        { sku: 'B', quantity: 1, previousQuantity: 2 },
        { sku: 'C', quantity: 5, previousQuantity: null },
      ],
      { idempotencyKey: 'k' },
    );
    expect(calls.pushed).toEqual(['THEIR-A', 'THEIR-B', 'C']);
    expect(outcomes).toEqual([{ sku: 'A', ok: true }, { sku: 'B', ok: false, retryable: false, message: 'refused' }, { sku: 'C', ok: true }]);
    expect(await adapter.read(['A', 'C'])).toEqual(new Map([['A', 7], ['C', null]]));
    expect(calls.read).toEqual(['THEIR-A', 'C']);
  });
});
