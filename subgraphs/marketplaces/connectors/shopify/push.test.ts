import { describe, expect, it } from 'vitest';
import { createAdapter } from '../index.js';
import { levelsCost, lookupCost, MUTATION_COST, skuSearch } from './push.js';
import { MarketplaceThrottledError, type Connection } from '../types.js';

const connection: Connection = {
  kind: 'SHOPIFY',
  accountId: 'shop-1',
  baseUrl: 'http://shop.invalid',
  settings: { locationId: 'gid://shopify/Location/9' },
  credentials: { accessToken: 'token' },
};

const status = { maximumAvailable: 2000, currentlyAvailable: 1990, restoreRate: 100 };

/** A fetch that answers GraphQL requests from `answer`, recording what was asked. */
function fakeShopify(answer: (query: string, variables: Record<string, unknown>) => unknown) {
  const requests: { query: string; variables: Record<string, unknown> }[] = [];
  const fetchFn: typeof fetch = async (_url, init) => {
    const body = JSON.parse(String(init?.body)) as { query: string; variables: Record<string, unknown> };
    requests.push(body);
    return new Response(JSON.stringify(answer(body.query, body.variables)), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetchFn, requests };
}

const lookup = (skus: string[]) => ({
  data: { inventoryItems: { nodes: skus.map((sku, i) => ({ id: `gid://shopify/InventoryItem/${i + 1}`, sku })), pageInfo: { hasNextPage: false, endCursor: null } } },
  extensions: { cost: { requestedQueryCost: lookupCost(skus.length), actualQueryCost: lookupCost(skus.length), throttleStatus: status } },
});

describe('Shopify adapter (no I/O)', () => {
  it('quotes SKUs in search syntax', () => {
    expect(skuSearch(['A-1', 'say "hi"', 'back\\slash'])).toBe('sku:"A-1" OR sku:"say \\"hi\\"" OR sku:"back\\\\slash"');
  });

  it('announces the lookup in pushCost only for SKUs it has not resolved yet', async () => {
    const { fetchFn } = fakeShopify((query, variables) =>
      query.includes('mutation')
        ? { data: { inventorySetQuantities: { inventoryAdjustmentGroup: { id: 'g1' }, userErrors: [] } }, extensions: { cost: { requestedQueryCost: 10, throttleStatus: status } } }
        : lookup(String(variables.query).match(/"([^"]+)"/g)!.map((s) => s.slice(1, -1))),
    );
    const adapter = createAdapter(connection, { fetch: fetchFn });
    expect(adapter.pushCost(250)).toBe(MUTATION_COST + lookupCost(250));
    expect(adapter.pushCost(2, ['A', 'B'])).toBe(MUTATION_COST + lookupCost(2));
    await adapter.push([{ sku: 'A', quantity: 1, previousQuantity: null }], { idempotencyKey: 'k' });
    expect(adapter.pushCost(2, ['A', 'B'])).toBe(MUTATION_COST + lookupCost(1));
    expect(adapter.pushCost(1, ['A'])).toBe(MUTATION_COST);
    expect(adapter.readCost(100)).toBe(levelsCost(100));
  });

  it('maps user errors to items by their field index; an error on the input as a whole fails every item', async () => {
    let call = 0;
    const { fetchFn, requests } = fakeShopify((query) => {
      if (!query.includes('mutation')) return lookup(['A', 'B', 'C']);
      call++;
      if (call === 1) {
        return {
          data: {
            inventorySetQuantities: {
              inventoryAdjustmentGroup: null,
              userErrors: [{ field: ['input', 'quantities', '1', 'inventoryItemId'], message: 'bundle parent', code: 'NON_MUTABLE_INVENTORY_ITEM' }],
            },
          },
          extensions: { cost: { requestedQueryCost: 10, throttleStatus: status } },
        };
      }
      return { data: { inventorySetQuantities: { inventoryAdjustmentGroup: { id: 'g' }, userErrors: [] } }, extensions: { cost: { requestedQueryCost: 10, throttleStatus: status } } };
    });
    const adapter = createAdapter(connection, { fetch: fetchFn });
    const outcomes = await adapter.push(
      ['A', 'B', 'C'].map((sku) => ({ sku, quantity: 2, previousQuantity: null })),
      { idempotencyKey: 'k' },
    );
    expect(outcomes).toEqual(
      expect.arrayContaining([
        { sku: 'A', ok: true },
        { sku: 'C', ok: true },
        { sku: 'B', ok: false, retryable: false, message: 'bundle parent', code: 'NON_MUTABLE_INVENTORY_ITEM' },
      ]),
    );
    // Nothing was applied the first time, so A and C went again, under a key of their own: Shopify
    // refuses a key reused with other parameters.
    const mutations = requests.filter((r) => r.query.includes('mutation'));
    expect(mutations).toHaveLength(2);
    expect((mutations[1]!.variables.input as { quantities: unknown[] }).quantities).toHaveLength(2);
    expect(mutations[0]!.variables.key).toMatch(/^k:[0-9a-f]{16}$/);
    expect(mutations[1]!.variables.key).toMatch(/^k:[0-9a-f]{16}$/);
    expect(mutations[1]!.variables.key).not.toBe(mutations[0]!.variables.key);

    const general = fakeShopify((query) =>
      query.includes('mutation')
        ? { data: { inventorySetQuantities: { inventoryAdjustmentGroup: null, userErrors: [{ field: ['input', 'reason'], message: 'bad reason', code: 'INVALID_REASON' }] } } }
        : lookup(['A', 'B']),
    );
    const failed = await createAdapter(connection, { fetch: general.fetchFn }).push(
      ['A', 'B'].map((sku) => ({ sku, quantity: 1, previousQuantity: null })),
      { idempotencyKey: 'k' },
    );
    expect(failed).toEqual([
      { sku: 'A', ok: false, retryable: false, message: 'bad reason', code: 'INVALID_REASON' },
      { sku: 'B', ok: false, retryable: false, message: 'bad reason', code: 'INVALID_REASON' },
    ]);
  });

  it('turns THROTTLED into the wait until the bucket holds the requested cost', async () => {
    const { fetchFn } = fakeShopify(() => ({
      errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
      extensions: { cost: { requestedQueryCost: 302, actualQueryCost: null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 2, restoreRate: 100 } } },
    }));
    const err = await createAdapter(connection, { fetch: fetchFn })
      .read(['A'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MarketplaceThrottledError);
    expect((err as MarketplaceThrottledError).retryAfterMs).toBe(3000);
  });
});
