import { describe, expect, it } from 'vitest';
import { BadUserInputError } from '../../../lib/errors.js';
import { encodeCursor } from '../../../lib/pagination.js';
import { orderCursor, parseOrderCursor } from './order.service.js';

const id = '2b7d0c4e-8f7a-4d3b-9c1e-5a6f7b8c9d0e';

describe('order cursors', () => {
  it('round-trip the keyset to the millisecond', () => {
    const key = { createdAt: new Date('2026-03-01T10:20:30.456Z'), id };
    expect(parseOrderCursor(encodeCursor(orderCursor(key)))).toEqual(key);
  });

  it.each([
    ['a non-date', ['yesterday', id]],
    ['a malformed id', ['2026-03-01T10:20:30.456Z', 'x']],
    ['swapped values', [id, '2026-03-01T10:20:30.456Z']],
    ['a number for the date', [1_700_000_000_000, id]],
  ])('refuse %s', (_name, values) => {
    expect(() => parseOrderCursor(encodeCursor(values))).toThrow(BadUserInputError);
  });
});
