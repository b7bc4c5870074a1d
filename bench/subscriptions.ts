import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO_LOCATIONS, demoItem } from '../scripts/demo/estate.js';
import { startBenchSystem, type Endpoint } from './system.js';
import { percentile } from './run.js';

const PER_CONNECTION = 100;
const CHANGES_PER_SECOND = 100;
const SKUS = 2000;

const WATCH = `subscription Watch($locations: [ID!]) {
  stockChanged(filter: { locationIds: $locations }) { sequence sku available at item { name } location { name } }
}`;

interface Round {
  subscribers: number;
  events: number;
  deliveries: number;
  latencies: number[];
  seconds: number;
  restPerEvent: number;
  heapPerSubscriberKb: number;
  groups: number;
}

/** One metric's value from a Prometheus text exposition. */
export async function metric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found at ${metricsUrl}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function round(
  gatewayWs: string,
  headers: Record<string, string>,
  metricsUrl: string,
  inventory: Endpoint,
  subscribers: number,
  seconds: number,
): Promise<Round> {
  const heapBefore = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
  const clients: Client[] = [];
  const latencies: number[] = [];
  let deliveries = 0;
  let measuring = false;
  // Every distinct stock event delivered: ours, and any other change committed meanwhile (expiring reservations).
  const sequences = new Set<string>();
  for (let c = 0; c < Math.ceil(subscribers / PER_CONNECTION); c++) {
    const client = createClient({ url: gatewayWs, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: headers });
    clients.push(client);
    for (let i = 0; i < PER_CONNECTION && c * PER_CONNECTION + i < subscribers; i++) {
      // Subscribers spread over the locations: one sharing group per location.
      const location = DEMO_LOCATIONS[(c * PER_CONNECTION + i) % DEMO_LOCATIONS.length]!;
      client.subscribe<{ stockChanged: { at: string; sequence: string } }>(
        { query: WATCH, variables: { locations: [location.id] } },
        {
          next: (msg) => {
            if (!measuring || !msg.data) return;
            deliveries++;
            sequences.add(msg.data.stockChanged.sequence);
            latencies.push(Date.now() - Date.parse(msg.data.stockChanged.at));
          },
          error: (err) => process.stderr.write(`subscription error: ${JSON.stringify(err).slice(0, 200)}\n`),
          complete: () => {},
        },
      );
    }
  }
  await until(`${subscribers} subscribers`, async () => (await metric(metricsUrl, 'omnistock_subscriptions_active')) >= subscribers);
  await new Promise((r) => setTimeout(r, 1000));
  const heapAfter = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
  const groups = await metric(metricsUrl, 'omnistock_subscription_groups');
  const restBefore = await metric(metricsUrl, 'omnistock_subscription_rest_executions_total');

  // A steady 100 stock changes/s, each a one-unit receipt at a random demo location.
  measuring = true;
  let sent = 0;
  const started = Date.now();
  const pending: Promise<unknown>[] = [];
  const timer = setInterval(() => {
    const location = DEMO_LOCATIONS[Math.floor(Math.random() * DEMO_LOCATIONS.length)]!;
    const body = JSON.stringify({
      query: 'mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }',
      variables: { i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku: demoItem(Math.floor(Math.random() * SKUS)).sku, locationId: location.id, quantity: 1 } },
    });
    sent++;
    pending.push(fetch(inventory.url, { method: 'POST', headers: { 'content-type': 'application/json', ...inventory.headers }, body }));
  }, 1000 / CHANGES_PER_SECOND);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  await Promise.all(pending);
  const expected = sent * (subscribers / DEMO_LOCATIONS.length);
  // Let the last events arrive (bounded: the measurement is what arrived by then).
  await until('deliveries to drain', async () => deliveries >= expected * 0.999, 30_000).catch(() => {});
  const elapsed = (Date.now() - started) / 1000;
  const restAfter = await metric(metricsUrl, 'omnistock_subscription_rest_executions_total');
  measuring = false;
  await Promise.all(clients.map((c) => c.dispose()));
  await until('subscribers to leave', async () => (await metric(metricsUrl, 'omnistock_subscriptions_active')) === 0, 60_000);
  return {
    subscribers,
    events: sequences.size,
    deliveries,
    latencies,
    seconds: elapsed,
    restPerEvent: (restAfter - restBefore) / sequences.size,
    heapPerSubscriberKb: (heapAfter - heapBefore) / subscribers / 1024,
    groups,
  };
}

/**
 * npm run bench -- subscriptions: 1,000 and 10,000 subscribers on one gateway process while 100
 * stock changes/s are committed: commit-to-client latency, deliveries/s, entity-fetch executions
 * per event (one per sharing group, not per subscriber) and gateway heap per subscriber.
 */
export async function benchSubscriptions(opts: { seconds: number; counts: number[] }): Promise<void> {
  const system = await startBenchSystem({ skus: SKUS });
  try {
    const gatewayHttp = system.url('gateway');
    const gatewayWs = gatewayHttp.replace(/^http/, 'ws');
    const metricsUrl = gatewayHttp.replace(/\/graphql$/, '/metrics');
    const rows: string[] = [];
    for (const count of opts.counts) {
      const r = await round(gatewayWs, system.headers, metricsUrl, system.subgraph('inventory'), count, opts.seconds);
      rows.push(
        [
          String(r.subscribers).padStart(11),
          String(r.events).padStart(7),
          String(r.deliveries).padStart(10),
          (r.deliveries / r.seconds).toFixed(0).padStart(12),
          percentile(r.latencies, 50).toFixed(0).padStart(7),
          percentile(r.latencies, 99).toFixed(0).padStart(7),
          String(r.groups).padStart(7),
          r.restPerEvent.toFixed(2).padStart(15),
          r.heapPerSubscriberKb.toFixed(1).padStart(13),
        ].join('  '),
      );
    }
    process.stdout.write(
      `\n${CHANGES_PER_SECOND} stock changes/s for ${opts.seconds} s; subscribers spread over ${DEMO_LOCATIONS.length} locations (one sharing group each), ${PER_CONNECTION} per connection\n\n` +
        'subscribers   events  deliveries  deliveries/s   p50ms   p99ms   groups  fetches/event  heap KB/sub\n' +
        `${rows.join('\n')}\n\n` +
        'latency: from the commit time carried by the event to its arrival at the client; fetches/event: entity-fetch executions of the plan per stock change\n',
    );
  } finally {
    await system.stop();
  }
}
