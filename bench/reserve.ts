import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { DataSource } from 'typeorm';
import { demoId, demoItem } from '../scripts/demo/estate.js';
import { table, type LoadResult } from './run.js';
import { startBenchSystem } from './system.js';

const SPREAD_SKUS = 10_000;
const WEB = demoId('channel', 'WEB-UK');
const DC = demoId('location', 'DC-DAV');

const RESERVE = `mutation($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`;

interface ReserveRun extends LoadResult {
  reserved: number;
  refused: number;
}

/** Drives reserveStock with a fresh idempotency key per request and counts what each answer was. */
async function driveReservations(
  name: string,
  url: string,
  pickSku: () => string,
  opts: { connections: number; seconds?: number; amount?: number },
): Promise<ReserveRun> {
  let reserved = 0;
  let refused = 0;
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
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({
            query: RESERVE,
            variables: { input: { idempotencyKey: `${run}-${n++}`, channelId: WEB, ttlSeconds: 300, lines: [{ sku: pickSku(), quantity: 1 }] } },
          }),
        }),
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"Reservation"')) reserved++;
          else if (status === 200 && body.includes('"InsufficientStock"')) refused++;
          else errors++;
        },
      },
    ],
  });
  const seconds = (result.duration ?? opts.seconds ?? 1) || 1;
  return {
    name,
    requestsPerSec: reserved / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: errors + result.errors + result.timeouts,
    non2xx: result.non2xx,
    reserved,
    refused,
  };
}

/** A SKU of its own with exactly `onHand` units at the DC, so runs never see each other's reservations. */
async function hotSku(inventoryUrl: string, onHand: number, safetyStock: number): Promise<string> {
  const sku = `BENCH-${randomUUID().slice(0, 8).toUpperCase()}`;
  const call = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(inventoryUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  };
  await call(`mutation($i: CreateInventoryItemInput!) { createInventoryItem(input: $i) { sku } }`, { i: { sku, name: 'Bench hot SKU' } });
  await call(`mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, {
    i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: DC, quantity: onHand },
  });
  await call(`mutation($i: SetSafetyStockInput!) { setSafetyStock(input: $i) { version } }`, { i: { sku, locationId: DC, safetyStock } });
  return sku;
}

async function reservedOf(ds: DataSource, sku: string): Promise<{ reserved: number; lines: number }> {
  const [level] = await ds.query('SELECT reserved FROM stock_levels WHERE sku = ? AND location_id = ?', [sku, DC]);
  const [lines] = await ds.query('SELECT COALESCE(SUM(quantity), 0) AS n FROM reservation_lines WHERE sku = ?', [sku]);
  return { reserved: Number(level.reserved), lines: Number(lines.n) };
}

/**
 * npm run bench -- reserve: reservations/s and latency for one hot SKU and spread over 10,000 SKUs,
 * straight to the inventory subgraph and through the gateway, then an oversell check.
 */
export async function benchReserve(opts: { connections: number; seconds: number }): Promise<void> {
  const system = await startBenchSystem({ skus: SPREAD_SKUS });
  try {
    const inventory = system.url('inventory');
    const gateway = system.url('gateway');
    const hot = await hotSku(inventory, 100_000_000, 5);
    const hotViaGateway = await hotSku(inventory, 100_000_000, 5);
    const spread = () => demoItem(Math.floor(Math.random() * SPREAD_SKUS)).sku;
    const runs: ReserveRun[] = [];
    for (const [name, url, pick] of [
      ['hot SKU, inventory subgraph', inventory, () => hot],
      ['hot SKU, gateway', gateway, () => hotViaGateway],
      [`spread over ${SPREAD_SKUS} SKUs, inventory subgraph`, inventory, spread],
      [`spread over ${SPREAD_SKUS} SKUs, gateway`, gateway, spread],
    ] as const) {
      await driveReservations(name, url, pick, { connections: opts.connections, seconds: 2 }); // warm-up
      runs.push(await driveReservations(name, url, pick, { connections: opts.connections, seconds: opts.seconds }));
    }

    // Oversell: 2,000 attempts at 500 units with safety stock 5 and the channel's 2-unit buffer.
    const scarce = await hotSku(inventory, 500, 5);
    const allowed = 500 - 5 - 2;
    const race = await driveReservations('oversell check (2,000 attempts, 493 sellable)', inventory, () => scarce, {
      connections: opts.connections,
      amount: 2000,
    });
    const db = await reservedOf(system.inventoryDataSource, scarce);
    const oversell = Math.max(0, race.reserved - allowed, db.reserved - allowed, db.lines - allowed);

    const rows = runs.map((r) => ({ ...r, name: `${r.name} (${r.reserved} reserved, ${r.refused} refused)` }));
    process.stdout.write(`\n${opts.connections} concurrent clients, ${opts.seconds} s per run; req/s counts successful reservations\n\n${table(rows)}\n\n`);
    process.stdout.write(
      `oversell: ${oversell} (granted ${race.reserved} of ${allowed} sellable; level reserved=${db.reserved}, reservation lines=${db.lines}; ${race.refused} refused)\n`,
    );
    const [hotDirect, hotGw, spreadDirect, spreadGw] = runs;
    process.stdout.write(
      `ratio gateway/direct: hot ${(hotGw!.requestsPerSec / hotDirect!.requestsPerSec).toFixed(2)}x, spread ${(spreadGw!.requestsPerSec / spreadDirect!.requestsPerSec).toFixed(2)}x\n`,
    );
  } finally {
    await system.stop();
  }
}
