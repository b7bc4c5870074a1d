import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { progressBar } from '../lib/progress.js';
import { DEMO_LOCATIONS, demoItem } from '../scripts/demo/estate.js';
import { driveClassified, percentile, renderTable } from './run.js';
import { call, startBenchSystem, stoppingOnSignal, type Endpoint } from './system.js';

/** npm run bench -- movements: recordMovements batches against one transaction per movement. */
export interface MovementsBenchOptions {
  movements: number;
  skus: number;
  batch: number;
  concurrency: number;
  baselineMovements: number;
  baselineConnections: number;
}

export const RECORD_MANY = `mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { index error { code } } }`;
const RECORD_ONE = `mutation($input: StockMovementInput!) { recordMovement(input: $input) { replayed } }`;

/** The demo's DC and warehouses: every seeded SKU has a level there, with 50 to 500 units. */
const LOCATIONS = DEMO_LOCATIONS.filter((l) => l.type !== 'STORE').map((l) => l.id);

/**
 * A feed's movements (as an ERP, WMS or till would send them): receipts, sales and adjustments of
 * random SKUs at the DC and warehouses (or the `locations` given), under fresh keys. More units come in than go out, so
 * repeated runs on the bench database do not run the levels dry.
 */
export function movementFeed(skus: number, seed: number, locations: readonly string[] = LOCATIONS): () => Record<string, unknown> {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const run = randomUUID();
  let n = 0;
  return () => {
    const base = { idempotencyKey: `bench-${run}-${n++}`, sku: demoItem(int(0, skus - 1)).sku, locationId: locations[int(0, locations.length - 1)]! };
    const r = rnd();
    if (r < 0.4) return { ...base, type: 'RECEIPT', quantity: int(1, 12), reference: `asn-${int(1, 99_999)}` };
    if (r < 0.85) return { ...base, type: 'SALE', quantity: int(1, 3), occurredAt: new Date().toISOString() };
    return r < 0.95 ? { ...base, type: 'ADJUSTMENT', reason: 'SHRINKAGE', quantity: -1 } : { ...base, type: 'ADJUSTMENT', reason: 'FOUND', quantity: int(1, 2) };
  };
}

interface PhaseResult {
  name: string;
  movements: number;
  seconds: number;
  /** Per call: a batch, or one movement. */
  p50: number;
  p99: number;
  refused: number;
  failed: number;
  events: number;
  /** From the phase's first call until the relay had published its last event. */
  relaySeconds: number;
}

/** The last outbox row written so far: a phase's events are the rows after it. */
async function lastSeq(ds: DataSource): Promise<number> {
  const [row] = await ds.query('SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox_events');
  return Number(row.seq);
}

/** Waits until the relay has published every outbox row after `afterSeq`; returns how many there are. */
async function relayDrained(ds: DataSource, afterSeq: number, label: string): Promise<number> {
  const [total] = await ds.query('SELECT COUNT(*) AS n FROM outbox_events WHERE seq > ?', [afterSeq]);
  const events = Number(total.n);
  const bar = progressBar(`${label.padEnd(11)} |{bar}| {value}/{total} events published`);
  bar.start(events, 0);
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const [left] = await ds.query('SELECT COUNT(*) AS n FROM outbox_events WHERE seq > ? AND published_at IS NULL', [afterSeq]);
    bar.update(events - Number(left.n));
    if (Number(left.n) === 0) break;
    if (Date.now() > deadline) throw new Error(`the outbox relay left ${left.n} events unpublished for 10 minutes`);
    await sleep(50);
  }
  bar.stop();
  return events;
}

/** `movements` in recordMovements calls of `batch`, `concurrency` calls in flight. */
async function batched(inventory: Endpoint, ds: DataSource, next: () => Record<string, unknown>, o: { movements: number; batch: number; concurrency: number; label: string }): Promise<PhaseResult> {
  const fromSeq = await lastSeq(ds);
  const calls = Math.ceil(o.movements / o.batch);
  const latencies: number[] = [];
  let refused = 0;
  let failed = 0;
  let done = 0;
  let claimed = 0;
  const bar = progressBar(`${o.label.padEnd(11)} |{bar}| {value}/{total} movements | {rate} movements/s`);
  bar.start(o.movements, 0, { rate: 0 });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (let c = claimed++; c < calls; c = claimed++) {
        const inputs = Array.from({ length: Math.min(o.batch, o.movements - c * o.batch) }, next);
        const t = performance.now();
        const data = await call(inventory.url, RECORD_MANY, { inputs }, inventory.headers);
        latencies.push(performance.now() - t);
        for (const out of data.recordMovements as { error: { code: string } | null }[]) {
          if (out.error?.code === 'INSUFFICIENT_STOCK') refused++;
          else if (out.error) failed++;
        }
        done += inputs.length;
        bar.update(done, { rate: Math.round(done / ((performance.now() - started) / 1000)) });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  bar.stop();
  const events = await relayDrained(ds, fromSeq, 'Relay');
  const relaySeconds = (performance.now() - started) / 1000;
  return { name: '', movements: o.movements, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), refused, failed, events, relaySeconds };
}

/** `movements` single recordMovement calls (one transaction each) over `connections` connections. */
async function oneByOne(inventory: Endpoint, ds: DataSource, next: () => Record<string, unknown>, o: { movements: number; connections: number; label: string }): Promise<PhaseResult> {
  const fromSeq = await lastSeq(ds);
  const bar = progressBar(`${o.label.padEnd(11)} |{bar}| {value}/{total} movements`);
  bar.start(o.movements, 0);
  let sent = 0;
  const started = performance.now();
  const r = await driveClassified({
    url: inventory.url,
    connections: o.connections,
    amount: o.movements,
    headers: inventory.headers,
    body: () => {
      bar.update(++sent);
      return JSON.stringify({ query: RECORD_ONE, variables: { input: next() } });
    },
    classify: (status, body) => (status !== 200 ? null : body.includes('INSUFFICIENT_STOCK') ? 'refused' : body.includes('"errors"') ? null : 'applied'),
  });
  const seconds = (performance.now() - started) / 1000;
  bar.stop();
  const events = await relayDrained(ds, fromSeq, 'Relay');
  const relaySeconds = (performance.now() - started) / 1000;
  return { name: '', movements: o.movements, seconds, p50: r.p50, p99: r.p99, refused: r.counts.refused ?? 0, failed: r.errors + r.non2xx, events, relaySeconds };
}

/**
 * npm run bench -- movements: `movements` receipts, sales and adjustments over `skus` SKUs sent to
 * the inventory subgraph directly (with a service token, as the gateway would sign; the gateway adds
 * the same per call whatever the batch holds) through recordMovements in batches, against the same
 * kind of movements sent one per recordMovement call (one transaction each) from
 * `baselineConnections` concurrent connections. Each phase ends when the outbox relay (in the jobs
 * process) has published every event it wrote: its events/s counts from the phase's first call.
 */
export async function benchMovements(opts: MovementsBenchOptions): Promise<void> {
  if (opts.batch > 1000) throw new Error('recordMovements takes at most 1,000 movements per call');
  process.stdout.write(`Starting the system on databases of its own (emptied first, seeded with ${opts.skus} SKUs)…\n`);
  // Its own databases, emptied first: the ledger grows by every run's movements, and a run should
  // neither start on an earlier one's nor leave them to the other benchmarks. Its own ports too.
  const system = await startBenchSystem({ skus: opts.skus, dbPrefix: 'omnistock_bench_movements', basePort: 4400, fresh: true });
  await stoppingOnSignal(system.stop, async () => {
    const inventory = system.subgraph('inventory');
    const ds = system.inventoryDataSource;
    const next = movementFeed(opts.skus, 19);

    process.stdout.write(`Warming up (not measured)\n`);
    await batched(inventory, ds, next, { movements: Math.min(opts.movements, 2 * opts.batch), batch: opts.batch, concurrency: opts.concurrency, label: 'Warm-up' });
    await oneByOne(inventory, ds, next, { movements: Math.min(opts.baselineMovements, 500), connections: opts.baselineConnections, label: 'Warm-up' });

    process.stdout.write(`\nOne transaction per movement: ${opts.baselineMovements} recordMovement calls, ${opts.baselineConnections} connections\n`);
    const single = await oneByOne(inventory, ds, next, { movements: opts.baselineMovements, connections: opts.baselineConnections, label: 'Singles' });
    process.stdout.write(`\nBatches: ${opts.movements} movements over ${opts.skus} SKUs in recordMovements calls of ${opts.batch}, ${opts.concurrency} in flight\n`);
    const batches = await batched(inventory, ds, next, { movements: opts.movements, batch: opts.batch, concurrency: opts.concurrency, label: 'Batches' });

    single.name = `recordMovement, 1 per call (${opts.baselineConnections} connections)`;
    batches.name = `recordMovements, ${opts.batch} per call (${opts.concurrency} in flight)`;
    const rate = (r: PhaseResult) => r.movements / r.seconds;
    const eventRate = (r: PhaseResult) => r.events / r.relaySeconds;
    const rows = [single, batches].map((r) => [
      r.name,
      String(r.movements),
      r.seconds.toFixed(1),
      rate(r).toFixed(0),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      String(r.refused),
      String(r.failed),
      String(r.events),
      eventRate(r).toFixed(0),
      (r.relaySeconds - r.seconds).toFixed(1),
    ]);
    process.stdout.write(
      `\nInventory subgraph direct; p50/p99 per call (a batch, or one movement); refused = INSUFFICIENT_STOCK; events/s from the first call until the relay published the phase's last event\n\n${renderTable(
        ['path', 'movements', 's', 'movements/s', 'p50 ms', 'p99 ms', 'refused', 'failed', 'events', 'events/s', 'relay behind s'],
        rows,
      )}\n\n`,
    );
    process.stdout.write(
      `ratio batched/one per call: movements/s ${(rate(batches) / rate(single)).toFixed(1)}x, events/s ${(eventRate(batches) / eventRate(single)).toFixed(1)}x (aim: movements/s >= 10x)\n`,
    );
    if (single.failed || batches.failed) process.stdout.write(`FAILED movements: ${single.failed + batches.failed} (anything but INSUFFICIENT_STOCK)\n`);
  });
}
