import { describe, expect, it } from 'vitest';
import { BadUserInputError } from '../../../lib/errors.js';
import { StockLevelEntity } from '../data/stock-level.entity.js';
import { availableOf } from '../domain/level-math.js';
import { argsKey, atLocations, groupByArgs } from './stock.service.js';

const A = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a6b';
const B = '7c1e9d42-8a3b-4f2c-b1d0-2e3f4a5b6c7d';

function level(locationId: string): StockLevelEntity {
  return Object.assign(new StockLevelEntity(), { sku: 'S-1', locationId, onHand: 1, reserved: 0, safetyStock: 0 });
}

describe('availableOf', () => {
  it.each([
    [{ onHand: 10, reserved: 3, safetyStock: 2 }, 5],
    [{ onHand: 5, reserved: 3, safetyStock: 2 }, 0],
    [{ onHand: 4, reserved: 3, safetyStock: 2 }, 0],
    [{ onHand: 0, reserved: 0, safetyStock: 0 }, 0],
  ])('%o → %i', (quantities, expected) => {
    expect(availableOf(quantities)).toBe(expected);
  });
});

describe('atLocations', () => {
  const levels = [level(A), level(B)];

  it('keeps every level when no ids are given', () => {
    expect(atLocations(levels, null)).toBe(levels);
    expect(atLocations(levels, undefined)).toBe(levels);
  });

  it('keeps the levels at the given ids in their own order, whatever the case of the ids', () => {
    expect(atLocations(levels, [B.toUpperCase(), A])).toEqual(levels);
    expect(atLocations(levels, [B])).toEqual([levels[1]]);
    expect(atLocations(levels, [])).toEqual([]);
  });

  it('refuses malformed ids and more than 100 ids', () => {
    expect(() => atLocations(levels, ['nope'])).toThrow(BadUserInputError);
    expect(() => atLocations(levels, Array.from({ length: 101 }, () => A))).toThrow(BadUserInputError);
  });
});

describe('groupByArgs', () => {
  it('groups keys by identical arguments, whatever their location, keeping positions', () => {
    const page = { first: 2, skus: ['S-1'], after: null };
    const groups = groupByArgs([
      { locationId: A, args: page },
      { locationId: A, args: { first: 5 } },
      { locationId: B, args: { skus: ['S-1'], first: 2 } },
      { locationId: B, args: { first: 5, after: null } },
    ]);
    expect(groups).toEqual([
      { args: page, indexes: [0, 2] },
      { args: { first: 5 }, indexes: [1, 3] },
    ]);
  });

  it('tells apart arguments that differ in any field', () => {
    const keys = [{ first: 2 }, { first: 2, after: 'c' }, { first: 2, skus: [] }, { first: 3 }];
    expect(new Set(keys.map(argsKey)).size).toBe(4);
  });
});
