import { randomUUID } from 'node:crypto';
import { driveClassified, firstOf, table, type LoadResult } from './run.js';
import { benchSku, expiryBacklogDrained, reservedOf, WEB } from './stock.js';
import { startBenchSystem } from './system.js';

/** SKUs of the bench's own, each with more stock than any run takes: orders compete for rows, never run dry. */
const PLENTIFUL_SKUS = 500;

export const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }`;

interface OrderRun extends LoadResult {
  confirmed: number;
  rejected: number;
  pending: number;
  seconds: number;
}

const RESERVE = `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`;

/** The baseline: the same three lines reserved with one reserveStock through the gateway, as a storefront without orders would. */
async function driveReservations(
  url: string,
  pickLines: () => { sku: string; quantity: number }[],
  opts: { connections: number; seconds: number; headers: Record<string, string> },
): Promise<LoadResult> {
  const run = randomUUID();
  const r = await driveClassified({
    url,
    ...opts,
    // A short time to live: the expiry job gives the stock back soon after the run.
    body: (n) => JSON.stringify({ query: RESERVE, variables: { input: { idempotencyKey: `${run}-${n}`, channelId: WEB, ttlSeconds: 60, lines: pickLines() } } }),
    classify: firstOf(['Reservation']),
  });
  const reserved = r.counts.Reservation ?? 0;
  return {
    name: `baseline: the same three lines, one reserveStock, gateway (${reserved} reserved)`,
    requestsPerSec: reserved / r.seconds,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

/** placeOrder with a fresh idempotency key per request; req/s counts answered orders. */
async function driveOrders(
  name: string,
  url: string,
  pickLines: () => { sku: string; quantity: number }[],
  opts: { connections: number; seconds?: number; amount?: number; headers: Record<string, string> },
): Promise<OrderRun> {
  const run = randomUUID();
  const r = await driveClassified({
    url,
    ...opts,
    body: (n) =>
      JSON.stringify({
        query: PLACE,
        variables: { input: { idempotencyKey: `${run}-${n}`, channelId: WEB, lines: pickLines(), fulfilment: { method: 'SHIP', destinationRegion: 'England' } } },
      }),
    classify: firstOf(['CONFIRMED', 'REJECTED', 'PENDING']),
  });
  const [confirmed, rejected, pending] = ['CONFIRMED', 'REJECTED', 'PENDING'].map((k) => r.counts[k] ?? 0) as [number, number, number];
  return {
    name,
    requestsPerSec: (confirmed + rejected + pending) / r.seconds,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    confirmed,
    rejected,
    pending,
    seconds: r.seconds,
  };
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
    const inventory = system.subgraph('inventory');
    const gateway = system.url('gateway');
    const backlog = await expiryBacklogDrained(system.inventoryDataSource);
    if (backlog) process.stdout.write(`\nthe expiry job released ${backlog} expired reservations of earlier runs first\n`);
    const plentiful: string[] = [];
    for (let i = 0; i < PLENTIFUL_SKUS; i += 25) {
      plentiful.push(...(await Promise.all(Array.from({ length: Math.min(25, PLENTIFUL_SKUS - i) }, () => benchSku(inventory, 100_000_000)))));
    }
    const threeLines = () => distinct(plentiful, 3).map((sku) => ({ sku, quantity: 1 + Math.floor(Math.random() * 2) }));

    const { headers } = system;
    await driveOrders('warm-up', gateway, threeLines, { connections: opts.connections, seconds: 2, headers });
    const run = await driveOrders(`three-line orders over ${PLENTIFUL_SKUS} SKUs, gateway`, gateway, threeLines, { ...opts, headers });

    // Oversell: 1,500 three-line orders, each wanting 1 of a SKU with 500 on hand, safety stock 5 and WEB-UK's 2-unit buffer.
    const scarce = await benchSku(inventory, 500, 5);
    const sellable = 500 - 5 - 2;
    const race = await driveOrders(`oversell check (1,500 orders, ${sellable} sellable)`, gateway, () => [{ sku: scarce, quantity: 1 }, ...threeLines().slice(0, 2)], {
      connections: opts.connections,
      amount: 1500,
      headers,
    });
    const db = await reservedOf(system.inventoryDataSource, scarce);
    const oversell = Math.max(0, race.confirmed - sellable, db.reserved - sellable, db.lines - sellable);

    // Last, so its reservations (60 s to live) are no competition for the orders measured above.
    const baseline = await driveReservations(gateway, threeLines, { ...opts, headers });

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
