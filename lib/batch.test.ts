import { describe, expect, it } from 'vitest';
import { manyByKey, oneByKey } from './batch.js';

describe('oneByKey', () => {
  it('answers in key order with null for missing keys and repeats for repeated keys', () => {
    const rows = [{ id: 'b' }, { id: 'a' }];
    expect(oneByKey(['a', 'x', 'b', 'a'], rows, (r) => r.id)).toEqual([{ id: 'a' }, null, { id: 'b' }, { id: 'a' }]);
  });
});

describe('manyByKey', () => {
  it('groups rows per key in key order, keeps row order and answers [] for keys without rows', () => {
    const rows = [
      { k: 2, v: 'first' },
      { k: 1, v: 'second' },
      { k: 2, v: 'third' },
      { k: 9, v: 'not asked for' },
    ];
    expect(manyByKey([1, 3, 2], rows, (r) => r.k)).toEqual([
      [{ k: 1, v: 'second' }],
      [],
      [
        { k: 2, v: 'first' },
        { k: 2, v: 'third' },
      ],
    ]);
  });
});
