import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { DataSource } from 'typeorm';
import { demoId } from '../scripts/demo/estate.js';
import { table, type LoadResult } from './run.js';
import { startBenchSystem } from './system.js';

const WEB = demoId('channel', 'WEB-UK');
const DC = demoId('location', 'DC-DAV');
/** SKUs of the bench's own, each with more stock than any run takes: orders compete for rows, never run dry. */
const PLENTIFUL_SKUS = 500;

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }`;

interface OrderRun extends LoadResult {
  confirmed: number;
  rejected: number;
  pending: number;
  seconds: number;
}

const RESERVE = `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`;

/** The baseline: the same three lines reserved with one reserveStock through the gateway, as a storefront without orders would. */
async function driveReservations(url: string, pickLines: () => { sku: string; quantity: number }[], opts: { connections: number; seconds: number }): Promise<LoadResult> {
  let reserved = 0;
  let errors = 0;
  const run = randomUUID();
  let n = 0;
  const result = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({
          ...req,
          // A short time to live: the expiry job gives the stock back soon after the run.
          body: JSON.stringify({ query: RESERVE, variables: { input: { idempotencyKey: `${run}-${n++}`, channelId: WEB, ttlSeconds: 60, lines: pickLines() } } }),
        }),
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"Reservation"')) reserved++;
          else errors++;
        },
      },
    ],
  });
  const seconds = (result.duration ?? opts.seconds) || 1;
  return {
    name: `baseline: the same three lines, one reserveStock, gateway (${reserved} reserved)`,
    requestsPerSec: reserved / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: errors + result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Drives placeOrder with a fresh idempotency key per request and counts what each answer was. */
async function driveOrders(
  name: string,
  url: string,
  pickLines: () => { sku: string; quantity: number }[],
  opts: { connections: number; seconds?: number; amount?: number },
): Promise<OrderRun> {
  let confirmed = 0;
  let rejected = 0;
  let pending = 0;
  let errors = 0;
  const run = randomUUID();
  let n = 0;
  const result = await autocannon({
    url,
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds ?? 10 }),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-client-id': 'bench-orders' },
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({
            query: PLACE,
            variables: { input: { idempotencyKey: `${run}-${n++}`, channelId: WEB, lines: pickLines(), fulfilment: { method: 'SHIP', destinationRegion: 'England' } } },
          }),
        }),
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"CONFIRMED"')) confirmed++;
          else if (status === 200 && body.includes('"REJECTED"')) rejected++;
          else if (status === 200 && body.includes('"PENDING"')) pending++;
          else errors++;
        },
      },
    ],
  });
  const seconds = (result.duration ?? opts.seconds ?? 1) || 1;
  return {
    name,
    requestsPerSec: (confirmed + rejected + pending) / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: errors + result.errors + result.timeouts,
    non2xx: result.non2xx,
    confirmed,
    rejected,
    pending,
    seconds,
  };
}

async function inventoryCall(inventoryUrl: string, query: string, variables: Record<string, unknown>): Promise<void> {
  const res = await fetch(inventoryUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

/** A SKU of the bench's own with exactly `onHand` units at the DC (a source of WEB-UK, whose buffer is 2 units). */
async function benchSku(inventoryUrl: string, onHand: number, safetyStock = 0): Promise<string> {
  const sku = `BENCH-O-${randomUUID().slice(0, 8).toUpperCase()}`;
  await inventoryCall(inventoryUrl, `mutation($i: CreateInventoryItemInput!) { createInventoryItem(input: $i) { sku } }`, { i: { sku, name: 'Bench order item' } });
  await inventoryCall(inventoryUrl, `mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, {
    i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: DC, quantity: onHand },
  });
  if (safetyStock) await inventoryCall(inventoryUrl, `mutation($i: SetSafetyStockInput!) { setSafetyStock(input: $i) { version } }`, { i: { sku, locationId: DC, safetyStock } });
  return sku;
}

async function reservedOf(ds: DataSource, sku: string): Promise<{ reserved: number; lines: number }> {
  const [level] = await ds.query('SELECT reserved FROM stock_levels WHERE sku = ? AND location_id = ?', [sku, DC]);
  const [lines] = await ds.query('SELECT COALESCE(SUM(quantity - released_quantity), 0) AS n FROM reservation_lines WHERE sku = ?', [sku]);
  return { reserved: Number(level.reserved), lines: Number(lines.n) };
}

/**
 * Waits until the expiry job has released every reservation past its expiry. Earlier benchmark runs
 * (`reserve` leaves thousands with a 300 s time to live) leave a backlog that the jobs process works
 * off when the system starts again; measured alongside it, orders would compete with it for rows
 * and CPU.
 */
async function expiryBacklogDrained(ds: DataSource, timeoutMs = 15 * 60_000): Promise<number> {
  const backlog = async () =>
    Number((await ds.query(`SELECT COUNT(*) AS n FROM reservations WHERE status = 'ACTIVE' AND expires_at <= ?`, [new Date()]))[0].n);
  const first = await backlog();
  const deadline = Date.now() + timeoutMs;
  for (let left = first; left > 0; left = await backlog()) {
    if (Date.now() > deadline) throw new Error(`${left} expired reservations still waiting for the expiry job`);
    process.stdout.write(`waiting for the expiry job: ${left} expired reservations of earlier runs left\r`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return first;
}

/** `count` distinct entries of `from`, at random. */
function distinct<T>(from: readonly T[], count: number): T[] {
  const picked = new Set<T>();
  while (picked.size < count) picked.add(from[Math.floor(Math.random() * from.length)]!);
  return [...picked];
}

/**
 * npm run bench -- orders: three-line orders/s and p50/p99 latency end to end through the gateway
 * (gateway → orders → inventory reserve → orders confirm → inventory hold), an oversell check
 * (three-line orders racing for a scarce SKU never confirm more of it than the channel could sell),
 * and as the baseline the same three lines reserved with one bare reserveStock through the gateway.
 */
export async function benchOrders(opts: { connections: number; seconds: number }): Promise<void> {
  const system = await startBenchSystem({ skus: 2000 });
  try {
    const inventory = system.url('inventory');
    const gateway = system.url('gateway');
    const backlog = await expiryBacklogDrained(system.inventoryDataSource);
    if (backlog) process.stdout.write(`\nthe expiry job released ${backlog} expired reservations of earlier runs first\n`);
    const plentiful: string[] = [];
    for (let i = 0; i < PLENTIFUL_SKUS; i += 25) {
      plentiful.push(...(await Promise.all(Array.from({ length: Math.min(25, PLENTIFUL_SKUS - i) }, () => benchSku(inventory, 100_000_000)))));
    }
    const threeLines = () => distinct(plentiful, 3).map((sku) => ({ sku, quantity: 1 + Math.floor(Math.random() * 2) }));

    await driveOrders('warm-up', gateway, threeLines, { connections: opts.connections, seconds: 2 });
    const run = await driveOrders(`three-line orders over ${PLENTIFUL_SKUS} SKUs, gateway`, gateway, threeLines, opts);

    // Oversell: 1,500 three-line orders, each wanting 1 of a SKU with 500 on hand, safety stock 5 and WEB-UK's 2-unit buffer.
    const scarce = await benchSku(inventory, 500, 5);
    const sellable = 500 - 5 - 2;
    const race = await driveOrders(`oversell check (1,500 orders, ${sellable} sellable)`, gateway, () => [{ sku: scarce, quantity: 1 }, ...threeLines().slice(0, 2)], {
      connections: opts.connections,
      amount: 1500,
    });
    const db = await reservedOf(system.inventoryDataSource, scarce);
    const oversell = Math.max(0, race.confirmed - sellable, db.reserved - sellable, db.lines - sellable);

    // Last, so its reservations (60 s to live) are no competition for the orders measured above.
    const baseline = await driveReservations(gateway, threeLines, opts);

    const named = (r: OrderRun) => ({ ...r, name: `${r.name} (${r.confirmed} confirmed, ${r.rejected} rejected${r.pending ? `, ${r.pending} pending` : ''})` });
    process.stdout.write(
      `\n${opts.connections} concurrent clients, ${opts.seconds} s measured; req/s counts answered orders (confirmed, rejected or pending), and reservations made for the baseline\n\n${table([named(run), baseline, named(race)])}\n\n`,
    );
    process.stdout.write(`confirmed three-line orders/s: ${(run.confirmed / run.seconds).toFixed(0)}; orders/baseline: ${(run.requestsPerSec / baseline.requestsPerSec).toFixed(2)}x\n`);
    process.stdout.write(
      `oversell: ${oversell} (confirmed ${race.confirmed} orders of ${sellable} sellable units; level reserved=${db.reserved}, reservation lines=${db.lines}; ${race.rejected} rejected)\n`,
    );
  } finally {
    await system.stop();
  }
}
