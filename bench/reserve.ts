import { randomUUID } from 'node:crypto';
import { demoItem } from '../scripts/demo/estate.js';
import { driveClassified, firstOf, table, type LoadResult } from './run.js';
import { benchSku, expiryBacklogDrained, reservedOf, WEB } from './stock.js';
import { startBenchSystem } from './system.js';

const SPREAD_SKUS = 10_000;
const RESERVE = `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`;

interface ReserveRun extends LoadResult {
  reserved: number;
  refused: number;
}

/** reserveStock of one unit with a fresh idempotency key per request; req/s counts reservations made. */
async function driveReservations(
  name: string,
  url: string,
  pickSku: () => string,
  opts: { connections: number; seconds?: number; amount?: number; headers?: Record<string, string> },
): Promise<ReserveRun> {
  const run = randomUUID();
  const r = await driveClassified({
    url,
    ...opts,
    body: (n) =>
      JSON.stringify({
        query: RESERVE,
        variables: { input: { idempotencyKey: `${run}-${n}`, channelId: WEB, ttlSeconds: 300, lines: [{ sku: pickSku(), quantity: 1 }] } },
      }),
    classify: firstOf(['Reservation', 'InsufficientStock']),
  });
  const reserved = r.counts.Reservation ?? 0;
  return { name, requestsPerSec: reserved / r.seconds, p50: r.p50, p99: r.p99, errors: r.errors, non2xx: r.non2xx, reserved, refused: r.counts.InsufficientStock ?? 0 };
}

/**
 * npm run bench -- reserve: reservations/s and latency for one hot SKU and spread over 10,000 SKUs,
 * straight to the inventory subgraph and through the gateway, then an oversell check.
 */
export async function benchReserve(opts: { connections: number; seconds: number }): Promise<void> {
  const system = await startBenchSystem({ skus: SPREAD_SKUS });
  try {
    const inventory = system.subgraph('inventory');
    const gateway = { url: system.url('gateway'), headers: system.headers };
    const backlog = await expiryBacklogDrained(system.inventoryDataSource);
    if (backlog) process.stdout.write(`\nthe expiry job released ${backlog} expired reservations of earlier runs first\n`);
    const hot = await benchSku(inventory, 100_000_000, 5);
    const hotViaGateway = await benchSku(inventory, 100_000_000, 5);
    const spread = () => demoItem(Math.floor(Math.random() * SPREAD_SKUS)).sku;
    const runs: ReserveRun[] = [];
    for (const [name, target, pick] of [
      ['hot SKU, inventory subgraph', inventory, () => hot],
      ['hot SKU, gateway', gateway, () => hotViaGateway],
      [`spread over ${SPREAD_SKUS} SKUs, inventory subgraph`, inventory, spread],
      [`spread over ${SPREAD_SKUS} SKUs, gateway`, gateway, spread],
    ] as const) {
      const { url, headers } = target;
      await driveReservations(name, url, pick, { connections: opts.connections, seconds: 2, headers }); // warm-up
      runs.push(await driveReservations(name, url, pick, { connections: opts.connections, seconds: opts.seconds, headers }));
    }

    // Oversell: 2,000 attempts at 500 units with safety stock 5 and the channel's 2-unit buffer.
    const scarce = await benchSku(inventory, 500, 5);
    const allowed = 500 - 5 - 2;
    const race = await driveReservations('oversell check', inventory.url, () => scarce, { connections: opts.connections, amount: 2000, headers: inventory.headers });
    const db = await reservedOf(system.inventoryDataSource, scarce);
    const oversell = Math.max(0, race.reserved - allowed, db.reserved - allowed, db.lines - allowed);

    const rows = runs.map((r) => ({ ...r, name: `${r.name} (${r.reserved} reserved, ${r.refused} refused)` }));
    process.stdout.write(`\n${opts.connections} concurrent clients, ${opts.seconds} s per run; req/s counts successful reservations\n\n${table(rows)}\n\n`);
    process.stdout.write(
      `oversell: ${oversell} (2,000 attempts: granted ${race.reserved} of ${allowed} sellable; level reserved=${db.reserved}, reservation lines=${db.lines}; ${race.refused} refused)\n`,
    );
    const [hotDirect, hotGw, spreadDirect, spreadGw] = runs;
    process.stdout.write(
      `ratio gateway/direct: hot ${(hotGw!.requestsPerSec / hotDirect!.requestsPerSec).toFixed(2)}x, spread ${(spreadGw!.requestsPerSec / spreadDirect!.requestsPerSec).toFixed(2)}x\n`,
    );
  } finally {
    await system.stop();
  }
}
