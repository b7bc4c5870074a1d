import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { configWith } from '../lib/config.js';
import { progressBar } from '../lib/progress.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { DEMO_LOCATIONS, demoId, demoItem, demoStock } from '../scripts/demo/estate.js';
import { seedInventory } from '../subgraphs/inventory/data/seed.js';
import { AvailabilityReadModel } from '../subgraphs/inventory/services/availability-read-model.js';
import { drive, median, mergeRuns, percentile, renderTable, type Load, type LoadResult } from './run.js';
import { call, spawnReaper, startBenchSystem, stoppingOnSignal, type BenchSystem, type Endpoint } from './system.js';

/** npm run bench -- availability: availability reads with the read model against MySQL, under a stream of stock changes. */
export interface AvailabilityBenchOptions {
  connections: number;
  seconds: number;
  rounds: number;
  /** SKUs read (and written). */
  skus: number;
  /** Stock changes per second committed while measuring. */
  writes: number;
  /** SKUs loaded into a read model in the bench process to weigh it. */
  memorySkus: number;
  /** Ask each source location's available too (the storefront's product page), not only the listing's figure. */
  locations: boolean;
}

/** Its own databases, Redis keys and ports (the system on 4500-4510, the two targets beside it). */
const PREFIX = 'omnistock_bench_availability';
const BASE_PORT = 4500;
const MODEL_PORT = BASE_PORT + 7;
const MYSQL_PORT = BASE_PORT + 8;

const CHANNEL = demoId('channel', 'WEB-UK');
/** The demo's DC and warehouses: every seeded SKU has a level there with 50 to 500 units. */
const WRITE_LOCATIONS = DEMO_LOCATIONS.filter((l) => l.type !== 'STORE').map((l) => l.id);
const PROBE_LOCATION = DEMO_LOCATIONS.find((l) => l.code === 'DC-DAV')!.id;
/** SKUs at the end of the read range written only by the staleness probe, so a probe knows what its change must show. */
const PROBE_SKUS = 50;
/** Writes in flight at most: past it the writer waits and the achieved rate shows it. */
const WRITER_IN_FLIGHT = 64;
const PROBES_PER_SECOND = 4;

const RECORD_ONE = `mutation($input: StockMovementInput!) { recordMovement(input: $input) { stockLevel { available version } } }`;
const readQuery = (locations: boolean) =>
  `query($c: ID!, $skus: [String!]!, $consistency: ReadConsistency) { availability(channelId: $c, skus: $skus, consistency: $consistency) { sku availableToSell status sequence${locations ? ' locations { available pickup location { id } }' : ''} } }`;
const FULL_QUERY = `query($c: ID!, $skus: [String!]!, $consistency: ReadConsistency) { availability(channelId: $c, skus: $skus, consistency: $consistency) { sku availableToSell status sequence locations { available location { id } } } }`;

interface Entry {
  sku: string;
  availableToSell: number;
  status: string;
  sequence: string | null;
  locations: { available: number; location: { id: string } }[];
}

const sku = (i: number) => demoItem(i).sku;

/** A seeded generator of numbers in [0, 1). */
function seeded(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => unsafeUniformIntDistribution(0, 2 ** 30 - 1, rng) / 2 ** 30;
}

/** Request bodies, each a fresh random set of `perRequest` distinct SKUs out of `skus` (the same sequence for the same seed). */
function skuSets(query: string, skus: number, perRequest: number, seed: number): () => string {
  const rnd = seeded(seed);
  return () => {
    const set = new Set<number>();
    while (set.size < perRequest) set.add(Math.floor(rnd() * skus));
    return JSON.stringify({ query, variables: { c: CHANNEL, skus: [...set].map(sku) } });
  };
}

async function availability(target: Endpoint, skus: string[], consistency: 'EVENTUAL' | 'READ_YOUR_WRITES'): Promise<Entry[]> {
  const data = await call(target.url, FULL_QUERY, { c: CHANNEL, skus, consistency }, target.headers);
  return data.availability as Entry[];
}

// ---------------------------------------------------------------- metrics

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** What a read-model inventory's /metrics says of it at one moment. */
interface ModelMetrics {
  /** Cumulative staleness bucket counts by upper bound (seconds; Infinity last). */
  buckets: [number, number][];
  fromModel: number;
  fromDatabase: number;
  loads: number;
  skusHeld: number;
}

async function scrape(port: number): Promise<ModelMetrics> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics of the inventory on ${port} answered ${res.status}`);
  const samples = parseMetrics(await res.text());
  const one = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
  const buckets = samples
    .filter((s) => s.name === 'omnistock_availability_staleness_seconds_bucket')
    .map((s): [number, number] => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value])
    .sort((a, b) => a[0] - b[0]);
  if (!buckets.length) throw new Error(`the inventory on ${port} reports no staleness histogram: is its read model on?`);
  return {
    buckets,
    fromModel: one('omnistock_availability_entries_total', { from: 'read_model' }),
    fromDatabase: one('omnistock_availability_entries_total', { from: 'database' }),
    loads: one('omnistock_availability_read_model_loads_total'),
    skusHeld: one('omnistock_availability_read_model_skus'),
  };
}

/** What happened between two scrapes. */
function between(a: ModelMetrics, b: ModelMetrics): ModelMetrics {
  return {
    buckets: b.buckets.map(([le, n], i) => [le, n - (a.buckets[i]?.[1] ?? 0)]),
    fromModel: b.fromModel - a.fromModel,
    fromDatabase: b.fromDatabase - a.fromDatabase,
    loads: b.loads - a.loads,
    skusHeld: b.skusHeld,
  };
}

function sum(list: ModelMetrics[]): ModelMetrics {
  return list.reduce((acc, m) => ({
    buckets: acc.buckets.map(([le, n], i) => [le, n + m.buckets[i]![1]]),
    fromModel: acc.fromModel + m.fromModel,
    fromDatabase: acc.fromDatabase + m.fromDatabase,
    loads: acc.loads + m.loads,
    skusHeld: m.skusHeld,
  }));
}

/**
 * A quantile of a histogram's counts: the upper bound of the bucket it falls in (what the histogram
 * can say for sure: at most this), and a linear estimate within that bucket (as Prometheus'
 * histogram_quantile).
 */
function bucketQuantile(buckets: [number, number][], q: number): { bound: number; estimate: number } | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, n] of buckets) {
    if (n >= rank) {
      if (le === Infinity) return { bound: Infinity, estimate: lower };
      return { bound: le, estimate: lower + ((le - lower) * (rank - below)) / Math.max(1, n - below) };
    }
    lower = le;
    below = n;
  }
  return null;
}

const ms = (seconds: number) => (seconds === Infinity ? '∞' : `${+(seconds * 1000).toFixed(1)} ms`);

function stalenessLine(label: string, m: ModelMetrics): string {
  const events = m.buckets.at(-1)?.[1] ?? 0;
  const p50 = bucketQuantile(m.buckets, 0.5);
  const p99 = bucketQuantile(m.buckets, 0.99);
  if (!p50 || !p99) return `${label}: no stock event applied`;
  const within100 = m.buckets.find(([le]) => le === 0.1)?.[1] ?? 0;
  return (
    `${label} (${events} events): p50 <= ${ms(p50.bound)} (~${ms(p50.estimate)}), p99 <= ${ms(p99.bound)} (~${ms(p99.estimate)}); ` +
    `${((100 * within100) / events).toFixed(2)}% within 100 ms`
  );
}

// ---------------------------------------------------------------- writer and probe

interface WriteTally {
  committed: number;
  refused: number;
  failed: number;
}

/** What the bench is doing, for samples taken meanwhile. */
type Phase = 'setup' | 'writes only' | 'read model' | 'MySQL' | 'warm-up';

/**
 * Stock changes at a steady rate: single recordMovement calls (RECEIPT or SALE, one transaction each)
 * on random SKUs of the read range at the DC and warehouses, each sent at its due time with up to
 * WRITER_IN_FLIGHT at once. A writer that falls behind does not burst to catch up by more than a
 * quarter of a second: the achieved rate shows what it could do.
 */
class StockWriter {
  readonly tally: WriteTally = { committed: 0, refused: 0, failed: 0 };
  /** Each committed write's latency (ms), with the phase it was sent in. */
  readonly latencies: { phase: Phase; ms: number }[] = [];
  phase: Phase = 'setup';
  lastError = '';
  private inFlight = 0;
  private wake: (() => void) | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly run = randomUUID();
  private n = 0;
  private readonly rnd = seeded(19);

  constructor(
    private readonly target: Endpoint,
    private readonly rate: number,
    /** SKUs 0..skus-1 are written. */
    private readonly skus: number,
  ) {}

  start(): void {
    this.loop = this.pace();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async pace(): Promise<void> {
    const interval = 1000 / this.rate;
    let next = performance.now();
    while (!this.stopped) {
      const now = performance.now();
      if (next > now) await sleep(next - now);
      while (this.inFlight >= WRITER_IN_FLIGHT && !this.stopped) await new Promise<void>((r) => (this.wake = r));
      if (this.stopped) break;
      this.send();
      next = Math.max(next + interval, performance.now() - 250);
    }
    while (this.inFlight > 0) await new Promise<void>((r) => (this.wake = r));
  }

  private send(): void {
    const int = (lo: number, hi: number) => lo + Math.floor(this.rnd() * (hi - lo + 1));
    const base = { idempotencyKey: `bench-availability-${this.run}-${this.n++}`, sku: sku(int(0, this.skus - 1)), locationId: WRITE_LOCATIONS[int(0, WRITE_LOCATIONS.length - 1)]! };
    // More units in than out, so repeated runs never run a level dry.
    const input = this.rnd() < 0.5 ? { ...base, type: 'RECEIPT', quantity: int(1, 5), reference: `asn-${int(1, 99_999)}` } : { ...base, type: 'SALE', quantity: int(1, 3), occurredAt: new Date().toISOString() };
    this.inFlight++;
    const phase = this.phase;
    const sent = performance.now();
    call(this.target.url, RECORD_ONE, { input }, this.target.headers)
      .then(() => {
        this.tally.committed++;
        this.latencies.push({ phase, ms: performance.now() - sent });
      })
      .catch((err: Error) => {
        if (err.message.includes('INSUFFICIENT_STOCK')) this.tally.refused++;
        else {
          this.tally.failed++;
          this.lastError = err.message.slice(0, 300);
        }
      })
      .finally(() => {
        this.inFlight--;
        const wake = this.wake;
        this.wake = null;
        wake?.();
      });
  }
}

interface ProbeResult {
  samples: {
    phase: Phase;
    /** From the write's answer to the first EVENTUAL read showing it (ms). */
    fromAnswer: number;
    /** From sending the write (ms): the commit lies between the two. */
    fromSend: number;
  }[];
  timedOut: number;
  /** Polls the model did not answer (sequence null: MySQL answered). */
  fromDatabase: number;
}

/**
 * Staleness as a client sees it: a receipt of one unit on a probe SKU (written by nothing else) at
 * the DC, then EVENTUAL reads of it from the read-model target, one after another, until the DC's
 * available is what the write answered.
 */
class StalenessProbe {
  readonly result: ProbeResult = { samples: [], timedOut: 0, fromDatabase: 0 };
  phase: Phase = 'setup';
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly run = randomUUID();

  constructor(
    private readonly writeTo: Endpoint,
    private readonly readFrom: Endpoint,
    private readonly probeSkus: string[],
  ) {}

  start(): void {
    this.loop = this.probe();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async probe(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const due = performance.now() + 1000 / PROBES_PER_SECOND;
      const target = this.probeSkus[n % this.probeSkus.length]!;
      const input = { idempotencyKey: `bench-availability-probe-${this.run}-${n}`, type: 'RECEIPT', sku: target, locationId: PROBE_LOCATION, quantity: 1, reference: 'probe' };
      const phase = this.phase;
      try {
        const sent = performance.now();
        const data = await call(this.writeTo.url, RECORD_ONE, { input }, this.writeTo.headers);
        const answered = performance.now();
        const expected = data.recordMovement.stockLevel.available as number;
        for (;;) {
          const [entry] = await availability(this.readFrom, [target], 'EVENTUAL');
          if (entry!.sequence === null) this.result.fromDatabase++;
          if (entry!.locations.find((l) => l.location.id === PROBE_LOCATION)?.available === expected) {
            const seen = performance.now();
            this.result.samples.push({ phase, fromAnswer: seen - answered, fromSend: seen - sent });
            break;
          }
          if (performance.now() - answered > 5000) {
            this.result.timedOut++;
            break;
          }
        }
      } catch {
        this.result.timedOut++;
      }
      const left = due - performance.now();
      if (left > 0 && !this.stopped) await sleep(left);
    }
  }
}

// ---------------------------------------------------------------- memory

/** A full collection on demand: global.gc under --expose-gc, else the flag set at run time and gc taken from a new context. */
function forcedGc(): { gc: () => void; how: string } | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return { gc: exposed, how: 'global.gc (--expose-gc)' };
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return { gc: gc as () => void, how: "global.gc obtained at run time (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc'))" };
  } catch {
    // not available
  }
  return null;
}

/** The heap in use after full collections, or (no way to collect) the median of several readings after pauses. */
async function heapUsed(gc: { gc: () => void } | null): Promise<number> {
  if (gc) {
    for (let i = 0; i < 3; i++) {
      gc.gc();
      await sleep(50);
    }
    return v8.getHeapStatistics().used_heap_size;
  }
  const readings: number[] = [];
  for (let i = 0; i < 7; i++) {
    await sleep(300);
    readings.push(process.memoryUsage().heapUsed);
  }
  return median(readings);
}

interface MemoryResult {
  skus: number;
  levels: number;
  bytes: number;
  released: number;
  how: string;
  seconds: number;
}

/**
 * A read model in this process, on the bench's inventory database and Redis, made to load
 * `count` SKUs (answer() for WEB-UK in batches of 100): the heap it holds, after full collections.
 * A warm-up batch of other SKUs first, so what the first load leaves behind (statement caches, the
 * channel's rule) is in the baseline.
 */
async function weighReadModel(ds: DataSource, count: number): Promise<MemoryResult> {
  const cfg = configWith({ REDIS_KEY_PREFIX: PREFIX });
  const metrics = new Registry();
  const reader = createRedis(redisTarget(cfg));
  let model: AvailabilityReadModel | null = new AvailabilityReadModel(ds, {
    redis: createRedis(redisTarget(cfg)),
    reader,
    keyPrefix: PREFIX,
    maxLagMs: 1000,
    maxSkus: Math.max(100, 2 * (count + 100)),
    // The SKU entries alone: the figures it keeps as handed out are bounded apart (AVAILABILITY_READ_MODEL_MAX_FIGURES).
    maxFigures: 1,
    readYourWritesTimeoutMs: 2000,
    lowStockThreshold: cfg.LOW_STOCK_THRESHOLD,
    protection: null,
    log: pino({ level: 'silent' }),
    metrics,
  });
  const held = async () => (await metrics.getSingleMetric('omnistock_availability_read_model_skus')!.get()).values[0]?.value ?? 0;
  try {
    model.start();
    const warm = Array.from({ length: 100 }, (_, i) => sku(count + i));
    const deadline = Date.now() + 30_000;
    while (!(await model.answer(CHANNEL, warm))) {
      if (Date.now() > deadline) throw new Error('the read model in the bench process never started answering (is the jobs process relaying?)');
      await sleep(100);
    }
    const gc = forcedGc();
    const heldBefore = await held();
    const before = await heapUsed(gc);
    const started = performance.now();
    const bar = progressBar(`${'Read model'.padEnd(12)} |{bar}| {value}/{total} SKUs loaded in the bench process`);
    bar.start(count, 0);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let b = next++; b * 100 < count; b = next++) {
          const batch = Array.from({ length: Math.min(100, count - b * 100) }, (_, i) => sku(b * 100 + i));
          for (let attempt = 0; !(await model!.answer(CHANNEL, batch)); attempt++) {
            if (attempt > 50) throw new Error('the read model stopped answering while loading');
            await sleep(100);
          }
          bar.increment(batch.length);
        }
      }),
    );
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    const loaded = (await held()) - heldBefore;
    const after = await heapUsed(gc);
    // As seeded (the writers add no level: they write where every SKU has one).
    let levels = 0;
    for (let i = 0; i < count; i++) levels += demoStock(i).length;
    await model.stop();
    model = null;
    // The registry's gauge reads the model's map: it goes too.
    metrics.clear();
    const dropped = await heapUsed(gc);
    return { skus: loaded, levels, bytes: after - before, released: after - dropped, how: gc?.how ?? 'no forced GC: median of 7 process.memoryUsage().heapUsed readings 300 ms apart', seconds };
  } finally {
    await model?.stop();
    reader.disconnect();
  }
}

// ---------------------------------------------------------------- the bench

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

/** A bar over a timed run's seconds, with the writer's rate during it. */
async function timed<T>(label: string, seconds: number, writer: StockWriter, work: () => Promise<T>): Promise<T> {
  const bar = progressBar(`${label} |{bar}| {value}/{total} s | writes {writes}/s`);
  const c0 = writer.tally.committed;
  const t0 = performance.now();
  const update = () => {
    const elapsed = (performance.now() - t0) / 1000;
    bar.update(Math.min(seconds, Math.floor(elapsed)), { writes: Math.round((writer.tally.committed - c0) / Math.max(elapsed, 0.001)) });
  };
  bar.start(seconds, 0, { writes: 0 });
  const timer = setInterval(update, 500);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    update();
    bar.stop();
  }
}

/**
 * Reads both targets for every SKU 0..skus-1 in requests of 100 (the read model loads each, MySQL's
 * buffer pool warms), then again, the read model with READ_YOUR_WRITES (every change committed
 * before included), and compares the figures.
 * @returns SKUs whose figures differ, and answers of either target that came from the wrong place
 */
async function compareTargets(model: Endpoint, mysql: Endpoint, skus: number, label: string, warm: boolean): Promise<{ differ: string[]; modelFromDb: number; mysqlFromModel: number }> {
  const batches = Math.ceil(skus / 100);
  const bar = progressBar(`${label.padEnd(12)} |{bar}| {value}/{total} SKUs`);
  bar.start(skus * (warm ? 2 : 1), 0);
  const batchOf = (b: number) => Array.from({ length: Math.min(100, skus - b * 100) }, (_, i) => sku(b * 100 + i));
  if (warm) {
    for (let b = 0; b < batches; b++) {
      await Promise.all([availability(model, batchOf(b), 'EVENTUAL'), availability(mysql, batchOf(b), 'EVENTUAL')]);
      bar.increment(batchOf(b).length);
    }
  }
  const differ: string[] = [];
  let modelFromDb = 0;
  let mysqlFromModel = 0;
  for (let b = 0; b < batches; b++) {
    const ask = batchOf(b);
    const fromModel = await availability(model, ask, 'READ_YOUR_WRITES');
    const fromMysql = await availability(mysql, ask, 'EVENTUAL');
    ask.forEach((s, i) => {
      const a = fromModel[i]!;
      const m = fromMysql[i]!;
      if (a.sequence === null) modelFromDb++;
      if (m.sequence !== null) mysqlFromModel++;
      const figure = (e: Entry) => JSON.stringify([e.availableToSell, e.status, e.locations.map((l) => [l.location.id, l.available])]);
      if (figure(a) !== figure(m)) differ.push(`${s}: read model ${figure(a)}, MySQL ${figure(m)}`);
    });
    bar.increment(ask.length);
  }
  bar.stop();
  return { differ, modelFromDb, mysqlFromModel };
}

/**
 * npm run bench -- availability: `availability(channelId, skus)` for WEB-UK (28 sources) straight
 * from two inventory subgraph processes on the same databases and Redis, one with its read model
 * (AVAILABILITY_READ_MODEL=on) and one without (off: every read goes to MySQL), with the same load
 * (`connections` connections, every request a fresh random set of 1, then 20, SKUs out of `skus`),
 * alternating targets in rounds, while a writer commits `writes` stock changes per second on the
 * SKUs being read (so the model is kept by events throughout). Before timing, both must answer the
 * same figures for every SKU, the model from itself. Staleness from the model target's histogram
 * (commit to applied) and from probes (write, then read until it shows); memory from a read model
 * in this process loading `memorySkus` SKUs.
 */
export async function benchAvailability(opts: AvailabilityBenchOptions): Promise<void> {
  const wallStart = performance.now();
  if (opts.skus <= PROBE_SKUS + 20) throw new Error(`--skus must be more than ${PROBE_SKUS + 20}`);
  process.stdout.write(`Starting the system on databases and ports of its own (${BASE_PORT}-${BASE_PORT + 10}; ${opts.skus} SKUs)…\n`);
  // Its own inventory answers writes; it keeps no read model (the targets are the two started after).
  const system = await startBenchSystem({ skus: opts.skus, dbPrefix: PREFIX, basePort: BASE_PORT, env: { AVAILABILITY_READ_MODEL: 'off' } });
  const reaper = spawnReaper();
  const stoppers: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | null = null;
  // Once: a signal stops it while the interrupted work may still reach its own end.
  const stop = () =>
    (stopping ??= (async () => {
      for (const s of stoppers.splice(0).reverse()) await s().catch(() => {});
      await system.stop();
      reaper?.kill();
    })());
  // stoppingOnSignal handles the first SIGINT/SIGTERM once; tsx sends Ctrl-C again when its
  // acknowledgement is late, which with no listener left would end this process before its
  // services have exited (as bench/peers.ts): later signals are only acknowledged until then.
  const holdOn = () => {
    if (stopping) process.stderr.write('still stopping the services…\n');
  };
  process.on('SIGINT', holdOn).on('SIGTERM', holdOn);
  try {
    await stoppingOnSignal(stop, () => measure(opts, system, stoppers, wallStart));
  } finally {
    process.off('SIGINT', holdOn).off('SIGTERM', holdOn);
  }
}

async function measure(opts: AvailabilityBenchOptions, system: BenchSystem, stoppers: (() => Promise<void>)[], wallStart: number): Promise<void> {
  const ds = system.inventoryDataSource;
  const writeTo = system.subgraph('inventory');

  // ---- memory, first: this process's heap holds nothing else yet
  const memorySkus = opts.memorySkus + 100;
  // seedInventory commits a chunk of SKUs at a time in order: the last SKU there means every one is.
  const [last] = await ds.query('SELECT COUNT(*) AS n FROM stock_levels WHERE sku = ?', [sku(memorySkus - 1)]);
  if (Number(last.n) === demoStock(memorySkus - 1).length) {
    process.stdout.write(`${memorySkus} SKUs for the memory figure already seeded by an earlier run (${sku(memorySkus - 1)} and its levels are there)\n`);
  } else {
    const seedBar = progressBar(`${'Seeding'.padEnd(12)} |{bar}| {value}/{total} SKUs`);
    const seedStarted = performance.now();
    seedBar.start(memorySkus, 0);
    const seeded = await seedInventory(ds, { skus: memorySkus, catalogue: { item: demoItem, stock: demoStock }, onProgress: (done) => seedBar.update(done) });
    seedBar.stop();
    process.stdout.write(
      `Seeded ${memorySkus} SKUs for the memory figure with the seed helper's multi-row SQL (not the API; kept for later runs): ${seeded.items} items and ${seeded.levels} levels inserted, ` +
        `in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s\n`,
    );
  }
  const memory = await weighReadModel(ds, opts.memorySkus);

  // ---- the two targets
  process.stdout.write(`Starting the targets: inventory with its read model on ${MODEL_PORT}, with AVAILABILITY_READ_MODEL=off on ${MYSQL_PORT}\n`);
  const model = await system.startSubgraph('inventory', MODEL_PORT, { AVAILABILITY_READ_MODEL: 'on' });
  const mysql = await system.startSubgraph('inventory', MYSQL_PORT, { AVAILABILITY_READ_MODEL: 'off' });
  const readyBy = Date.now() + 30_000;
  while ((await availability(model, [sku(0)], 'EVENTUAL'))[0]!.sequence === null) {
    if (Date.now() > readyBy) throw new Error('the read-model target never answered from its model');
    await sleep(100);
  }

  // ---- both answer alike, each from where it should
  const m0 = await scrape(MODEL_PORT);
  const check = await compareTargets(model, mysql, opts.skus, 'Checking', true);
  const m1 = await scrape(MODEL_PORT);
  if (check.differ.length) throw new Error(`the targets answer different figures for ${check.differ.length} SKUs, e.g.\n${check.differ.slice(0, 5).join('\n')}`);
  if (check.modelFromDb || check.mysqlFromModel) throw new Error(`answers from the wrong place: ${check.modelFromDb} read-model answers with no sequence, ${check.mysqlFromModel} MySQL answers with one`);
  if (between(m0, m1).fromModel < 2 * opts.skus) throw new Error(`the read model counted ${between(m0, m1).fromModel} entries answered from itself for ${2 * opts.skus} asked`);
  process.stdout.write(
    `Checked: both targets answer the same figures for all ${opts.skus} SKUs (the read model with READ_YOUR_WRITES); every read-model answer carries a sequence, ` +
      `no MySQL one does; the model's entries_total{from="read_model"} rose by ${between(m0, m1).fromModel} (from="database" by ${between(m0, m1).fromDatabase}), holding ${m1.skusHeld} SKUs\n`,
  );

  // ---- writes and probes from here to the end of the rounds
  const probeSkus = Array.from({ length: PROBE_SKUS }, (_, i) => sku(opts.skus - PROBE_SKUS + i));
  const writer = new StockWriter(writeTo, opts.writes, opts.skus - PROBE_SKUS);
  const probe = new StalenessProbe(writeTo, model, probeSkus);
  const phase = (p: Phase) => {
    writer.phase = p;
    probe.phase = p;
  };
  stoppers.push(
    () => writer.stop(),
    () => probe.stop(),
  );
  writer.start();
  probe.start();
  await sleep(2000);

  // Staleness with no read load: what the events' path takes on this machine by itself.
  phase('writes only');
  const quiet = { at: performance.now(), tally: { ...writer.tally }, metrics: await scrape(MODEL_PORT) };
  await timed(`${'writes only, no reads'.padEnd(47)}`, opts.seconds, writer, () => sleep(opts.seconds * 1000));
  const quietEnd = { at: performance.now(), tally: { ...writer.tally }, metrics: await scrape(MODEL_PORT) };
  phase('warm-up');

  const windowStart = quietEnd;
  const query = readQuery(opts.locations);
  const sizes = [1, 20];
  const targets = [
    { name: 'read model', phase: 'read model' as const, endpoint: model },
    { name: 'MySQL (read model off)', phase: 'MySQL' as const, endpoint: mysql },
  ];
  const results = new Map<string, LoadResult[]>();
  const during = new Map<Phase, ModelMetrics[]>([['read model', []], ['MySQL', []]]);
  for (let round = 0; round < opts.rounds; round++) {
    for (const size of sizes) {
      // The order alternates by round, so neither target always runs right after the other.
      for (const target of round % 2 ? [...targets].reverse() : targets) {
        const seed = 1000 * round + size;
        const warmup = round === 0 ? 3 : 1;
        const label = `round ${round + 1}/${opts.rounds} · ${String(size).padStart(2)} SKU${size > 1 ? 's' : ' '} · ${target.name.padEnd(22)}`;
        const load = (n: number): Load => {
          const next = skuSets(query, opts.skus, size, seed * 2 + n);
          return { name: target.name, url: target.endpoint.url, headers: target.endpoint.headers, body: next(), bodies: () => next() };
        };
        const r = await timed(label, warmup + opts.seconds, writer, async () => {
          phase('warm-up');
          await drive(load(0), { connections: opts.connections, seconds: warmup, warmupSeconds: 0 });
          const before = await scrape(MODEL_PORT);
          phase(target.phase);
          const run = await drive(load(1), { connections: opts.connections, seconds: opts.seconds, warmupSeconds: 0 });
          phase('warm-up');
          during.get(target.phase)!.push(between(before, await scrape(MODEL_PORT)));
          return run;
        });
        process.stdout.write(`  ${label}: ${Math.round(r.requestsPerSec)} reads/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors + r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}\n`);
        const key = `${target.name}|${size}`;
        results.set(key, [...(results.get(key) ?? []), r]);
      }
    }
  }

  const windowEnd = { at: performance.now(), tally: { ...writer.tally }, metrics: await scrape(MODEL_PORT) };
  stoppers.splice(0);
  await Promise.all([writer.stop(), probe.stop()]);
  const after = await compareTargets(model, mysql, opts.skus, 'Rechecking', false);

  // ---- the figures
  const rows: string[][] = [];
  const merged = new Map<string, LoadResult>();
  for (const size of sizes) {
    for (const t of targets) {
      const m = mergeRuns(results.get(`${t.name}|${size}`)!);
      merged.set(`${t.name}|${size}`, m);
      rows.push([t.name, String(size), m.requestsPerSec.toFixed(0), (m.requestsPerSec * size).toFixed(0), m.p50.toFixed(1), m.p99.toFixed(1), String(m.errors), String(m.non2xx)]);
    }
  }
  const out = (s: string) => process.stdout.write(s);
  out(
    `\nWEB-UK (${opts.locations ? 'figure and every source location' : "the listing's figure: sku, availableToSell, status, sequence"}), straight to each inventory process with a service token; ` +
      `${opts.connections} connections, every request a fresh random set of SKUs out of ${opts.skus}; ${opts.rounds} rounds of ${opts.seconds} s per target and size, alternating (median per row); ` +
      `${opts.writes} stock changes/s asked meanwhile\n\n`,
  );
  out(`${renderTable(['target', 'SKUs/request', 'reads/s', 'entries/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'], rows)}\n\n`);
  for (const size of sizes) {
    const a = merged.get(`read model|${size}`)!;
    const b = merged.get(`MySQL (read model off)|${size}`)!;
    out(`ratio read model/MySQL, ${String(size).padStart(2)} SKU${size > 1 ? 's' : ' '}: reads/s ${ratio(a.requestsPerSec, b.requestsPerSec)}, p50 ${ratio(a.p50, b.p50)}, p99 ${ratio(a.p99, b.p99)}\n`);
  }

  const rate = (a: typeof quiet, b: typeof quiet) => ((b.tally.committed - a.tally.committed) / ((b.at - a.at) / 1000)).toFixed(1);
  const latency = (p: Phase | null) => {
    const l = writer.latencies.filter((x) => p === null || x.phase === p).map((x) => x.ms);
    return `p50 ${percentile(l, 50).toFixed(0)} ms, p99 ${percentile(l, 99).toFixed(0)} ms`;
  };
  const windowSeconds = (windowEnd.at - windowStart.at) / 1000;
  const refused = windowEnd.tally.refused - quiet.tally.refused;
  const failed = windowEnd.tally.failed - quiet.tally.failed;
  out(
    `\nstock changes (single recordMovement RECEIPT/SALE on the SKUs read, at the DC and warehouses, ${opts.writes}/s asked, up to ${WRITER_IN_FLIGHT} in flight): ` +
      `${windowEnd.tally.committed - windowStart.tally.committed} committed over the ${windowSeconds.toFixed(0)} s of the rounds = ${rate(windowStart, windowEnd)}/s achieved ` +
      `(write latency ${latency('read model')} during read-model runs, ${latency('MySQL')} during MySQL runs); ${rate(quiet, quietEnd)}/s with no reads (${latency('writes only')})` +
      `${refused ? `; ${refused} refused (INSUFFICIENT_STOCK)` : ''}${failed ? `; ${failed} FAILED (${writer.lastError})` : ''}; the probes added ${probe.result.samples.length + probe.result.timedOut} receipts\n`,
  );
  const modelRuns = sum(during.get('read model')!);
  const mysqlRuns = sum(during.get('MySQL')!);
  const whole = between(windowStart.metrics, windowEnd.metrics);
  const share = (m: ModelMetrics) => `${((100 * m.fromModel) / Math.max(1, m.fromModel + m.fromDatabase)).toFixed(2)}%`;
  out(
    `the read model answered ${share(modelRuns)} of the entries of its measured runs (${modelRuns.fromModel} from the model, ${modelRuns.fromDatabase} from MySQL; ${modelRuns.loads} SKU loads from MySQL), ` +
      `${share(whole)} over the rounds; it holds ${whole.skusHeld} SKUs\n`,
  );
  out(
    `\nstaleness, commit to applied by the read model (the read-model target's /metrics histogram, differences; figures are bucket upper bounds, ~ a linear estimate within the bucket; ` +
      `'commit' is the time the writing transaction took as its own, a little before it commits):\n`,
  );
  out(`  ${stalenessLine('writes only, no reads', between(quiet.metrics, quietEnd.metrics))}\n`);
  out(`  ${stalenessLine('during the read-model target’s measured runs', modelRuns)}\n`);
  out(`  ${stalenessLine('during the MySQL target’s measured runs', mysqlRuns)}\n`);
  out(`  ${stalenessLine('all the rounds', whole)}\n`);
  const p = probe.result;
  out(
    `staleness as a client sees it (probes, ${PROBES_PER_SECOND}/s: a receipt on a SKU nothing else writes, then EVENTUAL reads of it from the read-model target one after another until it shows; ` +
      `the commit lies between the write's send and its answer):\n`,
  );
  for (const [label, ph] of [
    ['writes only, no reads', 'writes only'],
    ['during the read-model target’s measured runs', 'read model'],
    ['during the MySQL target’s measured runs', 'MySQL'],
  ] as const) {
    const got = p.samples.filter((x) => x.phase === ph);
    const a = got.map((x) => x.fromAnswer);
    const b = got.map((x) => x.fromSend);
    out(
      `  ${label} (${got.length} probes): from the write's answer p50 ${percentile(a, 50).toFixed(1)} ms, p99 ${percentile(a, 99).toFixed(1)} ms, max ${Math.max(...a).toFixed(1)} ms; ` +
        `from its send p50 ${percentile(b, 50).toFixed(1)} ms, p99 ${percentile(b, 99).toFixed(1)} ms\n`,
    );
  }
  if (p.timedOut || p.fromDatabase) out(`  ${p.timedOut} probes not seen within 5 s or failed; ${p.fromDatabase} probe reads answered by MySQL\n`);
  out(`  (aim: p99 < 100 ms)\n`);
  out(
    `\nmemory: ${memory.skus} SKUs (${memory.levels} levels, ${(memory.levels / memory.skus).toFixed(1)} per SKU) loaded into a read model in the bench process in ${memory.seconds.toFixed(1)} s held ${mb(memory.bytes)} of heap: ` +
      `${Math.round(memory.bytes / memory.skus)} bytes per SKU entry, ${mb((memory.bytes / memory.skus) * 100_000)} per 100,000; dropping the model released ${mb(memory.released)}. ` +
      `One SKU entry serves every channel, so a (channel, SKU) entry costs the same: ${mb((memory.bytes / memory.skus) * 100_000)} per 100,000 ` +
      `(no set-asides in the demo, so no per-channel held figures; the figures it keeps as handed out, at most AVAILABILITY_READ_MODEL_MAX_FIGURES, are not in it). Heap measured with ${memory.how}; V8 heap only\n`,
  );
  out(
    `\nafter the run (writes stopped): ${after.differ.length ? `${after.differ.length} SKUs DIFFER, e.g. ${after.differ.slice(0, 3).join('; ')}` : `both targets answer the same figures for all ${opts.skus} SKUs`}` +
      `${after.modelFromDb ? `; ${after.modelFromDb} read-model answers came from MySQL` : ''}\n`,
  );
  out(`wall time ${((performance.now() - wallStart) / 1000).toFixed(0)} s\n`);
}
