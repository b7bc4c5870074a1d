import { describe, expect, it } from 'vitest';
import { listedAs, listingInputSchema, retiredMarketplaceSku, shownQuantity } from './listing-rules.js';

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

describe('listedAs', () => {
  it('lists every SKU under ours on a channel without listings', () => {
    expect(listedAs('A', null, false)).toBe('A');
    expect(listedAs('A', undefined, false)).toBe('A');
  });

  it('lists only the listed SKUs once the channel has listings, each under its marketplace SKU or ours', () => {
    expect(listedAs('A', { marketplaceSku: 'THEIR-A' }, true)).toBe('THEIR-A');
    expect(listedAs('A', { marketplaceSku: null }, true)).toBe('A');
    expect(listedAs('B', undefined, true)).toBeNull();
  });
});

describe('retiredMarketplaceSku', () => {
  it('retires the marketplace SKU a listing no longer names', () => {
    // marketplaceSku changed, and set where there was none
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'OLD' }, true), listedAs('A', { marketplaceSku: 'NEW' }, true))).toBe('OLD');
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: null }, true), listedAs('A', { marketplaceSku: 'NEW' }, true))).toBe('A');
    // removed while the channel keeps other listings: the SKU is no longer listed at all
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'OLD' }, true), listedAs('A', null, true))).toBe('OLD');
    // the channel's first listing leaves every other SKU unlisted
    expect(retiredMarketplaceSku(listedAs('B', null, false), listedAs('B', null, true))).toBe('B');
    // its last one removed: the SKU is listed under ours again
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'OLD' }, true), listedAs('A', null, false))).toBe('OLD');
  });

  it('retires nothing when the SKU stays listed under the same marketplace SKU, or was not listed', () => {
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'M' }, true), listedAs('A', { marketplaceSku: 'M' }, true))).toBeNull();
    // a rule changed on a listing naming no marketplace SKU; a first listing of the SKU itself
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: null }, true), listedAs('A', { marketplaceSku: null }, true))).toBeNull();
    expect(retiredMarketplaceSku(listedAs('A', null, false), listedAs('A', { marketplaceSku: null }, true))).toBeNull();
    // listed for the first time on a channel that lists others
    expect(retiredMarketplaceSku(listedAs('A', null, true), listedAs('A', { marketplaceSku: 'M' }, true))).toBeNull();
  });
});
