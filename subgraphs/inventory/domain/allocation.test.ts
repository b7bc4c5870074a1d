import { describe, expect, it } from 'vitest';
import { allocate, availableToSell } from './allocation.js';

const k = (sku: string, loc: string) => `${sku}\u0000${loc}`;
const rule = { buffer: null, cap: null, allowSplitShipments: true };

describe('availableToSell', () => {
  it('takes a unit buffer off the sum, never below zero', () => {
    expect(availableToSell(10, { buffer: { kind: 'UNITS', value: 3 }, cap: null })).toBe(7);
    expect(availableToSell(2, { buffer: { kind: 'UNITS', value: 3 }, cap: null })).toBe(0);
  });

  it('rounds a percentage buffer up so it always holds something back', () => {
    expect(availableToSell(38, { buffer: { kind: 'PERCENT', value: 10 }, cap: null })).toBe(34);
    expect(availableToSell(1, { buffer: { kind: 'PERCENT', value: 10 }, cap: null })).toBe(0);
  });

  it('caps what is exposed', () => {
    expect(availableToSell(1000, { buffer: null, cap: 250 })).toBe(250);
  });

  it('takes what protection withholds off as well as the buffer, before the cap, never below zero', () => {
    expect(availableToSell(20, { buffer: { kind: 'UNITS', value: 2 }, cap: null }, 5)).toBe(13);
    expect(availableToSell(20, { buffer: null, cap: 10 }, 5)).toBe(10);
    expect(availableToSell(20, { buffer: null, cap: 10 }, 15)).toBe(5);
    expect(availableToSell(3, { buffer: null, cap: null }, 8)).toBe(0);
    expect(availableToSell(3, { buffer: null, cap: null }, -4)).toBe(3);
  });
});

describe('allocate', () => {
  const available = new Map([
    [k('A', 'dc'), 5],
    [k('A', 'store'), 4],
    [k('B', 'store'), 2],
  ]);

  it('takes from sources by priority and splits when allowed', () => {
    const out = allocate({ lines: [{ sku: 'A', quantity: 7, locationId: null }], sources: ['dc', 'store'], available, rule });
    expect(out).toEqual({ allocations: [{ sku: 'A', locationId: 'dc', quantity: 5 }, { sku: 'A', locationId: 'store', quantity: 2 }], short: [] });
  });

  it('keeps a line whole at one source when splits are not allowed', () => {
    const out = allocate({ lines: [{ sku: 'A', quantity: 4, locationId: null }], sources: ['store', 'dc'], available, rule: { ...rule, allowSplitShipments: false } });
    expect(out.allocations).toEqual([{ sku: 'A', locationId: 'store', quantity: 4 }]);
    const short = allocate({ lines: [{ sku: 'A', quantity: 6, locationId: null }], sources: ['dc', 'store'], available, rule: { ...rule, allowSplitShipments: false } });
    expect(short).toEqual({ allocations: [], short: [{ sku: 'A', locationId: null, requested: 6, available: 5 }] });
  });

  it('serves pinned lines first and never counts a unit twice', () => {
    const out = allocate({
      lines: [
        { sku: 'A', quantity: 8, locationId: null },
        { sku: 'A', quantity: 3, locationId: 'store' },
      ],
      sources: ['dc', 'store'],
      available,
      rule,
    });
    expect(out.short).toEqual([{ sku: 'A', locationId: null, requested: 8, available: 6 }]);
    expect(out.allocations).toEqual([]);
  });

  it('holds what protection withholds back from unpinned lines of that SKU only', () => {
    const withheld = new Map([['A', 3]]);
    expect(allocate({ lines: [{ sku: 'A', quantity: 7, locationId: null }], sources: ['dc', 'store'], available, rule, withheld }).short).toEqual([
      { sku: 'A', locationId: null, requested: 7, available: 6 },
    ]);
    expect(allocate({ lines: [{ sku: 'A', quantity: 6, locationId: null }, { sku: 'B', quantity: 2, locationId: null }], sources: ['dc', 'store'], available, rule, withheld }).short).toEqual([]);
  });

  it('holds the channel buffer back from unpinned lines', () => {
    const out = allocate({ lines: [{ sku: 'A', quantity: 9, locationId: null }], sources: ['dc', 'store'], available, rule: { ...rule, buffer: { kind: 'UNITS', value: 1 } } });
    expect(out.short).toEqual([{ sku: 'A', locationId: null, requested: 9, available: 8 }]);
  });

  it('names every short line and allocates nothing when one is short', () => {
    const out = allocate({
      lines: [
        { sku: 'A', quantity: 1, locationId: null },
        { sku: 'B', quantity: 3, locationId: 'store' },
      ],
      sources: ['dc', 'store'],
      available,
      rule,
    });
    expect(out).toEqual({ allocations: [], short: [{ sku: 'B', locationId: 'store', requested: 3, available: 2 }] });
  });
});
