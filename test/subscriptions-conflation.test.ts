import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, waitForReplicas } from './events.js';
import { startStack, type Stack } from './stack.js';
import { STOCK_CHANGED, stockOps } from './stock-subscriptions.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * A subscriber that stops reading while 3,000 changes are committed: the gateway conflates what it
 * is sent to the latest state per level, counting what it left out, while a fast subscriber receives
 * every event. Its own file: minutes on a loaded machine, and a test of the gateway's back-pressure
 * rather than of Redis (the Redis Cluster run leaves this file out).
 */
let stack: Stack;
const ids = { locA: '', locB: '' };
const { ok, receive, createStore, newSku, untilLive } = stockOps(() => stack.gatewayUrl);

beforeAll(async () => {
  // The slow consumer stops reading for as long as 3,000 movements take to write: the gateway must
  // not take it for dead (it disconnects a client that misses a ping) before it reads again.
  stack = await startStack({ jobs: true, env: { SUBSCRIPTION_CLIENT_KEEPALIVE_MS: '300000' } });
  ids.locA = await createStore('Conflation Store A');
  ids.locB = await createStore('Conflation Store B');
  // Inventory takes stock at a location once its replica of it is there.
  await waitForReplicas(stack.subgraphs.inventory.dataSource, [ids.locA, ids.locB], []);
});

afterAll(async () => {
  await stack?.close();
});

describe('stockChanged to a slow subscriber', () => {
  it('conflates a deliberately slow consumer to the latest state per level while a fast one receives every event', async () => {
    const sku = await newSku('Conflation scarf');
    const filter = { skus: [sku] };
    const fast = wsClient(wsUrl(stack.gatewayUrl));
    const onFast = collect(fast, STOCK_CHANGED, { filter });
    await untilLive(onFast, sku, ids.locA);
    // The slow consumer asks for a bulky payload (the same quantities under many aliases), speaks
    // graphql-ws by hand and stops reading its socket: the gateway's writes back up through the
    // kernel buffers until its queue for this subscriber is full.
    const bulk = Array.from({ length: 60 }, (_, i) => `q${i}: before { onHand reserved available incoming damaged qualityControl safetyStock }`).join(' ');
    const SLOW = `subscription($filter: StockChangedFilter!) { stockChanged(filter: $filter) { sequence location { id } after { onHand } ${bulk} } }`;
    const slow = new WebSocket(wsUrl(stack.gatewayUrl), 'graphql-transport-ws');
    const slowMessages: { type: string; payload?: any }[] = [];
    slow.on('message', (data) => slowMessages.push(JSON.parse(String(data))));
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await waitFor('connection_ack', async () => slowMessages.some((m) => m.type === 'connection_ack'));
    slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SLOW, variables: { filter } } }));
    let probes = 0;
    await waitFor('the slow subscriber live', async () => {
      await receive(sku, ids.locB, 1);
      probes++;
      await new Promise((r) => setTimeout(r, 50));
      return slowMessages.some((m) => m.type === 'next');
    });
    // ws's own pause/resume: pausing its socket behind its back fights ws's flow control, which then
    // may never resume reading.
    const socket = slow;
    const lastSequence = (results: { data?: any }[]) => results.at(-1)?.data?.stockChanged.sequence;
    await waitFor('every probe at both consumers', async () =>
      onFast.results.length === 1 + probes &&
      lastSequence(slowMessages.filter((m) => m.type === 'next').map((m) => m.payload)) === lastSequence(onFast.results),
    );
    socket.pause();
    try {
      const before = onFast.results.length;
      const slowBefore = slowMessages.filter((m) => m.type === 'next').length;
      const batch = (locationId: string) =>
        Array.from({ length: 500 }, () => ({ idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId, quantity: 1 }));
      for (let i = 0; i < 6; i++) {
        await ok(`mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { index } }`, { inputs: batch(i % 2 ? ids.locB : ids.locA) });
      }
      await waitFor('every event at the fast consumer', async () => onFast.results.length === before + 3000, 150_000);
      const finals = await ok(`query($s: String!) { inventoryItem(sku: $s) { stockLevels { onHand location { id } } } }`, { s: sku });
      socket.resume();
      const last = (loc: string) => finals.inventoryItem.stockLevels.find((l: any) => l.location.id === loc).onHand;
      const nextsAfter = () => slowMessages.filter((m) => m.type === 'next').slice(slowBefore);
      await waitFor('the latest state of both levels at the slow consumer', async () =>
        [ids.locA, ids.locB].every((loc) => nextsAfter().filter((m) => m.payload.data.stockChanged.location.id === loc).at(-1)?.payload.data.stockChanged.after.onHand === last(loc)),
      60_000);
      const delivered = nextsAfter();
      const conflated = delivered.reduce((sum, m) => sum + (m.payload.extensions?.conflated ?? 0), 0);
      // Fewer deliveries than events, and every missing one counted as conflated: none lost unannounced.
      expect(conflated).toBeGreaterThan(0);
      expect(delivered.length + conflated).toBe(3000);
      expect(onFast.results.length - before).toBe(3000);
      expect(onFast.results.slice(before).every((r) => !r.extensions?.conflated)).toBe(true);
    } finally {
      slow.terminate();
      onFast.stop();
      await fast.dispose();
    }
    // 3,000 events through the relay, the gateway and two consumers: minutes on a loaded CI machine.
  }, 240_000);
});
