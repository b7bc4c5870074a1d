import { describe, expect, it } from 'vitest';
import { listingInputSchema, shownQuantity } from './listing-rules.js';

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
