import { describe, expect, it } from 'vitest';
import { decodeCursor, toConnection } from './pagination.js';

describe('toConnection', () => {
  it('pages rows fetched with one extra, each edge with the cursor of its row, encoded only when read', () => {
    const rows = [{ sku: 'A' }, { sku: 'B' }, { sku: 'C' }];
    const encoded: string[] = [];
    const page = toConnection(rows, 2, (r) => {
      encoded.push(r.sku);
      return [r.sku];
    });
    expect(page.edges.map((e) => e.node)).toEqual([{ sku: 'A' }, { sku: 'B' }]);
    expect(page.pageInfo.hasNextPage).toBe(true);
    // The page's end cursor is known at once; no other edge's cursor was worked out yet.
    expect(encoded).toEqual(['B']);
    expect(decodeCursor(page.pageInfo.endCursor!, 1)).toEqual(['B']);
    expect(decodeCursor(page.edges[0]!.cursor, 1)).toEqual(['A']);
    expect(page.edges[1]!.cursor).toBe(page.pageInfo.endCursor);
    const last = toConnection(rows, 3, (r) => [r.sku]);
    expect(last.pageInfo).toEqual({ hasNextPage: false, endCursor: last.edges[2]!.cursor });
    expect(toConnection([], 2, (r: { sku: string }) => [r.sku]).pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });
});
