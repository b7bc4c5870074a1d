import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './events.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * A gateway that shuts down ends its subscriptions with a close code that tells clients to come
 * back (1001 Going away, then reconnect and resubscribe with `since`), never with `complete`, which
 * means "this subscription is over" and makes a well-behaved client stop listening.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('gateway shutdown', () => {
  it('closes subscribers\' sockets with 1001 Going away and sends no complete', async () => {
    const client = wsClient(wsUrl(stack.gatewayUrl));
    const r = collect(client, 'subscription($filter: StockChangedFilter!) { stockChanged(filter: $filter) { sequence sku } }', { filter: { skus: ['SHUTDOWN-1'] } });
    try {
      await waitFor('the subscription to reach the hub', async () => stack.gateway.subscriptions.subscribers === 1);
      await stack.gateway.close();
      await waitFor('the subscription to end', async () => r.completed || r.errors.length > 0);
      expect(r.completed).toBe(false);
      expect(r.errors).toHaveLength(1);
      expect((r.errors[0] as { code?: number }).code).toBe(1001);
    } finally {
      await client.dispose();
    }
  });
});
