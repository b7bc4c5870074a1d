import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { demoId } from '../scripts/demo/estate.js';
import { startBenchSystem } from './system.js';

const WEB = demoId('channel', 'WEB-UK');
const DC = demoId('location', 'DC-DAV');
const system = await startBenchSystem({ skus: 2000 });
const call = async (url: string, query: string, variables: Record<string, unknown>) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
};
try {
  const inv = system.url('inventory');
  const skus: string[] = [];
  for (let i = 0; i < 300; i++) {
    const sku = `PROBE-${randomUUID().slice(0, 8)}`;
    await call(inv, `mutation($i: CreateInventoryItemInput!) { createInventoryItem(input: $i) { sku } }`, { i: { sku, name: 'x' } });
    await call(inv, `mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, { i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: DC, quantity: 100000000 } });
    skus.push(sku);
  }
  const pick = () => { const s = new Set<string>(); while (s.size < 3) s.add(skus[Math.floor(Math.random() * skus.length)]!); return [...s].map((sku) => ({ sku, quantity: 1 })); };
  let n = 0;
  const run = async (name: string, url: string, body: () => string) => {
    setTimeout(() => {
      const { execSync } = require('node:child_process');

      console.log(execSync('ps -eo pid,args | grep -E "subgraphs/|jobs/main|gateway/main" | grep -v grep').toString());
    }, 2000);
    const r = await autocannon({ url, connections: 50, duration: 5, requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: body() }) }] });
    console.log(name, Math.round(r.requests.average), 'req/s p50', r.latency.p50, 'p99', r.latency.p99, 'non2xx', r.non2xx, 'errors', r.errors);
  };
  const reserve = (lines: unknown) => JSON.stringify({ query: 'mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }', variables: { input: { idempotencyKey: `p-${randomUUID()}`, channelId: WEB, ttlSeconds: 300, lines } } });
  const place = () => JSON.stringify({ query: 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }', variables: { input: { idempotencyKey: `o-${randomUUID()}-${n++}`, channelId: WEB, lines: pick(), fulfilment: { method: 'SHIP' } } } });
  
  
  
  await run('placeOrder, orders subgraph', system.url('orders'), place);
  
} finally {
  await system.stop();
}
