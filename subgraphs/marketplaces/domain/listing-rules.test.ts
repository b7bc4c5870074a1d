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
  it('under EVERY_SKU lists every SKU, under its listing\'s marketplace SKU or else ours', () => {
    expect(listedAs('A', null, 'EVERY_SKU')).toBe('A');
    expect(listedAs('A', undefined, 'EVERY_SKU')).toBe('A');
    expect(listedAs('A', { marketplaceSku: 'THEIR-A' }, 'EVERY_SKU')).toBe('THEIR-A');
  });

  it('under LISTED lists only the listed SKUs, each under its marketplace SKU or ours', () => {
    expect(listedAs('A', { marketplaceSku: 'THEIR-A' }, 'LISTED')).toBe('THEIR-A');
    expect(listedAs('A', { marketplaceSku: null }, 'LISTED')).toBe('A');
    expect(listedAs('B', undefined, 'LISTED')).toBeNull();
  });
});

describe('retiredMarketplaceSku', () => {
  it('retires the marketplace SKU a listing no longer names', () => {
    // marketplaceSku changed, and set where there was none
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'OLD' }, 'LISTED'), listedAs('A', { marketplaceSku: 'NEW' }, 'LISTED'))).toBe('OLD');
    expect(retiredMarketplaceSku(listedAs('A', null, 'EVERY_SKU'), listedAs('A', { marketplaceSku: 'NEW' }, 'EVERY_SKU'))).toBe('A');
    // removed under LISTED: the SKU is no longer listed at all
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'OLD' }, 'LISTED'), listedAs('A', null, 'LISTED'))).toBe('OLD');
    // removed under EVERY_SKU: the SKU is listed under ours again
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'OLD' }, 'EVERY_SKU'), listedAs('A', null, 'EVERY_SKU'))).toBe('OLD');
    // the connection set to LISTED leaves every unlisted SKU unlisted
    expect(retiredMarketplaceSku(listedAs('B', null, 'EVERY_SKU'), listedAs('B', null, 'LISTED'))).toBe('B');
  });

  it('retires nothing when the SKU stays listed under the same marketplace SKU, or was not listed', () => {
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: 'M' }, 'LISTED'), listedAs('A', { marketplaceSku: 'M' }, 'LISTED'))).toBeNull();
    // a rule changed on a listing naming no marketplace SKU; a listing of the SKU under ours
    expect(retiredMarketplaceSku(listedAs('A', { marketplaceSku: null }, 'LISTED'), listedAs('A', { marketplaceSku: null }, 'LISTED'))).toBeNull();
    expect(retiredMarketplaceSku(listedAs('A', null, 'EVERY_SKU'), listedAs('A', { marketplaceSku: null }, 'LISTED'))).toBeNull();
    // listed for the first time under LISTED
    expect(retiredMarketplaceSku(listedAs('A', null, 'LISTED'), listedAs('A', { marketplaceSku: 'M' }, 'LISTED'))).toBeNull();
  });
});
