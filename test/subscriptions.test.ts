import { SUBGRAPH_NAMES } from '../lib/config.js';
import { startGateway } from '../gateway/gateway.js';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniq } from './client.js';
import { waitFor, waitForReplicas } from './events.js';
import { startStack, type Stack } from './stack.js';
import { STOCK_CHANGED, stockOps } from './stock-subscriptions.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

let stack: Stack;
const ids = { locA: '', locB: '', channel: '', sku: '' };

const { ok, receive, createStore, newSku, untilLive } = stockOps(() => stack.gatewayUrl);

beforeAll(async () => {
  stack = await startStack({ jobs: true });
  ids.locA = await createStore('Sub Store A');
  ids.locB = await createStore('Sub Store B');
  ids.channel = (
    await ok(`mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, {
      input: { code: uniq('SUBCH-'), name: 'Sub web', type: 'WEB_STOREFRONT', allocationRule: { sources: [{ locationId: ids.locA, priority: 1 }, { locationId: ids.locB, priority: 2 }] } },
    })
  ).createChannel.id;
  await waitForReplicas(stack.subgraphs.inventory.dataSource, [ids.locA, ids.locB], [ids.channel]);
  ids.sku = await newSku('Subscription parka');
});

afterAll(async () => {
  await stack?.close();
});

describe('stockChanged through the gateway', () => {
  it('delivers a committed movement with the location name (locations) and the channel available-to-sell (inventory)', async () => {
    const client = wsClient(wsUrl(stack.gatewayUrl));
    const r = collect(client, STOCK_CHANGED, { filter: { skus: [ids.sku], channelId: ids.channel } });
    try {
      await untilLive(r, ids.sku, ids.locA);
      await receive(ids.sku, ids.locB, 4);
      await waitFor('the receipt at B', async () => r.results.some((x) => x.data?.stockChanged.location.id === ids.locB));
      expect(r.errors).toEqual([]);
      const event = r.results.find((x) => x.data?.stockChanged.location.id === ids.locB)!;
      expect(event.errors).toBeUndefined();
      expect(event.data!.stockChanged).toMatchObject({
        sku: ids.sku,
        change: 'RECEIPT',
        item: { name: 'Subscription parka' },
        location: { id: ids.locB, name: 'Sub Store B', address: { city: 'York' } },
        channel: { id: ids.channel, name: 'Sub web' },
        before: { onHand: 0 },
        after: { onHand: 4, available: 4 },
        available: 4,
        availableToSell: 5,
        stockStatus: 'LOW_STOCK',
      });
      expect(event.extensions?.sequence).toBe(event.data!.stockChanged.sequence);
    } finally {
      r.stop();
      await client.dispose();
    }
  });

  it('answers queries and mutations over the same WebSocket', async () => {
    const client = wsClient(wsUrl(stack.gatewayUrl));
    try {
      const r = collect(client, `query($s: String!) { inventoryItem(sku: $s) { name stockLevels { location { name } } } }`, { s: ids.sku });
      await waitFor('the answer', async () => r.completed);
      expect(r.results[0]!.data!.inventoryItem.name).toBe('Subscription parka');
      expect(r.results[0]!.data!.inventoryItem.stockLevels.map((l: any) => l.location.name).sort()).toEqual(['Sub Store A', 'Sub Store B']);
    } finally {
      await client.dispose();
    }
  });

  it('shares one upstream subscription and one rest execution per event among identical subscribers', async () => {
    await waitFor('no other subscriptions', async () => stack.gateway.subscriptions.groupCount === 0);
    const sku = await newSku('Shared scarf');
    const clients = [wsClient(wsUrl(stack.gatewayUrl)), wsClient(wsUrl(stack.gatewayUrl)), wsClient(wsUrl(stack.gatewayUrl))];
    // The same document written differently and variables in another key order still share.
    const docs = [STOCK_CHANGED, STOCK_CHANGED.replace(/\s+/g, ' '), STOCK_CHANGED];
    const filters = [{ skus: [sku], locationIds: [ids.locA] }, { locationIds: [ids.locA], skus: [sku] }, { skus: [sku], locationIds: [ids.locA] }];
    const subs = clients.map((c, i) => collect(c, docs[i]!, { filter: filters[i] }));
    try {
      await untilLive(subs[0]!, sku, ids.locA);
      await waitFor('every subscriber live', async () => subs.every((r) => r.results.length === 1));
      expect(stack.gateway.subscriptions.groupCount).toBe(1);
      const before = stack.gateway.subscriptions.restExecutions;
      await receive(sku, ids.locA, 2);
      await waitFor('the event everywhere', async () => subs.every((r) => r.results.length === 2));
      expect(stack.gateway.subscriptions.restExecutions - before).toBe(1);
      for (const r of subs) expect(r.results[1]!.data!.stockChanged).toMatchObject({ after: { onHand: 3 }, location: { name: 'Sub Store A' } });
    } finally {
      for (const r of subs) r.stop();
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });

  it('resumes with since: the missed events first, then live ones, with no gap and no duplicate', async () => {
    const sku = await newSku('Resumed boots');
    const first = wsClient(wsUrl(stack.gatewayUrl));
    const r1 = collect(first, STOCK_CHANGED, { filter: { skus: [sku] } });
    await untilLive(r1, sku, ids.locA); // onHand 1
    await receive(sku, ids.locA, 1); // 2
    await waitFor('two events', async () => r1.results.length === 2);
    const since = r1.results[0]!.data!.stockChanged.sequence as string;
    r1.stop();
    await first.dispose();
    // Missed while disconnected (over two locations: stream order, not per-key order, is the resume order).
    await receive(sku, ids.locB, 5); // B 5
    await receive(sku, ids.locA, 1); // A 3
    const second = wsClient(wsUrl(stack.gatewayUrl));
    const r2 = collect(second, STOCK_CHANGED, { filter: { skus: [sku] }, since });
    try {
      await waitFor('the replay', async () => r2.results.length >= 3 || r2.errors.length > 0);
      await receive(sku, ids.locB, 1); // B 6, live
      await waitFor('the live event', async () => r2.results.length === 4);
      expect(r2.errors).toEqual([]);
      const seen = r2.results.map((x) => `${x.data!.stockChanged.location.name}:${x.data!.stockChanged.after.onHand}`);
      expect(seen).toEqual(['Sub Store A:2', 'Sub Store B:5', 'Sub Store A:3', 'Sub Store B:6']);
      const sequences = [since, ...r2.results.map((x) => x.data!.stockChanged.sequence as string)];
      const asPairs = sequences.map((s) => s.split('-').map(Number) as [number, number]);
      for (let i = 1; i < asPairs.length; i++) {
        const [a, b] = [asPairs[i - 1]!, asPairs[i]!];
        expect(b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]), `${sequences[i - 1]} < ${sequences[i]}`).toBe(true);
      }
    } finally {
      r2.stop();
      await second.dispose();
    }
  });

  it('refuses a since older than the retention, telling the client to re-read current stock', async () => {
    const client = wsClient(wsUrl(stack.gatewayUrl));
    const r = collect(client, STOCK_CHANGED, { filter: { skus: [ids.sku] }, since: `${Date.now() - 25 * 3600_000}-0` });
    try {
      await waitFor('the refusal', async () => r.completed || r.errors.length > 0);
      const errors = r.results.flatMap((x) => x.errors ?? []);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(/older than the 24 h event retention.*Re-read current stock/);
      expect(errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SINCE_EXPIRED' });
    } finally {
      await client.dispose();
    }
  });

  it('refuses a since after the last change the stream gave out (SINCE_IN_FUTURE), instead of delivering nothing', async () => {
    const client = wsClient(wsUrl(stack.gatewayUrl));
    const r = collect(client, STOCK_CHANGED, { filter: { skus: [ids.sku] }, since: `${Date.now() + 3600_000}-0` });
    try {
      await waitFor('the refusal', async () => r.completed || r.errors.length > 0 || r.results.some((x) => x.errors?.length));
      const errors = [...r.results.flatMap((x) => x.errors ?? []), ...r.errors];
      expect(errors).toHaveLength(1);
      expect(JSON.stringify(errors[0])).toMatch(/after the last stock change/);
      expect((errors[0] as { extensions?: unknown }).extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SINCE_IN_FUTURE' });
    } finally {
      await client.dispose();
    }
  });

  it('refuses subscriptions beyond the per-connection limit with a clear error', async () => {
    const client = wsClient(wsUrl(stack.gatewayUrl));
    const subs = Array.from({ length: 101 }, (_, i) => collect(client, STOCK_CHANGED, { filter: { skus: [`LIMIT-${i}`] } }));
    try {
      await waitFor('the refusal', async () => subs.some((r) => r.errors.length > 0));
      const refused = subs.filter((r) => r.errors.length > 0);
      expect(refused).toHaveLength(1);
      expect(JSON.stringify(refused[0]!.errors[0])).toMatch(/maximum of 100 subscriptions.*SUBSCRIPTION_LIMIT/);
    } finally {
      for (const r of subs) r.stop();
      await client.dispose();
    }
  });

  it('refuses subscriptions beyond the per-node limit, across connections, with a clear error', async () => {
    const composed = compose(await readSupergraphConfig('supergraph.yaml'));
    if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
    const small = await startGateway({
      supergraphSdl: composed.supergraphSdl,
      urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])),
      subscriptionUrls: { inventory: wsUrl(stack.subgraphs.inventory.url) },
      subscriptions: { maxPerNode: 3 },
      host: '127.0.0.1',
      port: 0,
    });
    const clients = [wsClient(wsUrl(small.url)), wsClient(wsUrl(small.url))];
    const subs = Array.from({ length: 4 }, (_, i) => collect(clients[i % 2]!, STOCK_CHANGED, { filter: { skus: [`NODE-LIMIT-${i}`] } }));
    try {
      // The refusal is a result with errors that completes the subscription; the others stay open.
      await waitFor('the refusal', async () => subs.some((r) => r.completed));
      const refused = subs.filter((r) => r.completed);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.results[0]!.errors?.[0]?.extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'node', max: 3 });
      expect(small.subscriptions.subscribers).toBe(3);
    } finally {
      for (const r of subs) r.stop();
      await Promise.all(clients.map((c) => c.dispose()));
      await small.close();
    }
  });
});
