import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import { createConnection, type Connection } from 'mysql2/promise';
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import WebSocket from 'ws';
import { configWith, databaseName, SUBGRAPH_NAMES } from '../lib/config.js';
import { DEFAULT_PUSH_POLICIES, scalePolicy } from '../subgraphs/marketplaces/connectors/policies.js';
import { AMAZON_VISIBILITY_MS } from '../subgraphs/marketplaces/connectors/amazon/orders.js';
import type { MarketplaceKind } from '../subgraphs/marketplaces/connectors/types.js';
import { spawnSimulator } from '../scripts/demo/marketplaces.js';
import { DEMO_CHANNELS, demoItem } from '../scripts/demo/estate.js';
import { ENTRY, type ServiceName } from '../scripts/system.js';
import { compiledPath } from '../scripts/build.js';
import { freePort } from '../test/ports.js';
import {
  checkLedger,
  checkMarketplaces,
  checkOrders,
  checkReserved,
  checkSubscribers,
  marketplaceMisses,
  type CommittedChange,
  type ConfirmedOrder,
  type InvariantResult,
  type LevelState,
  type MarketplaceState,
  type ScarceSku,
  type SubscriberLog,
} from './chaos-invariants.js';
import { committedChanges, confirmedOrders, levelStates, marketplaceRecords } from './chaos-state.js';
import { atsOf, connectToSimulator } from './marketplaces.js';
import { movementFeed, RECORD_MANY } from './movements.js';
import { PLACE } from './orders.js';
import { renderTable } from './run.js';
import { SimulatorClient } from './simulator-client.js';
import { benchSku, WEB } from './stock.js';
import { metric } from './subscriptions.js';
import { benchEnv, benchLogDir, benchToken, call, spawnReaper, subgraphHeaders, type Endpoint, type Gql } from './system.js';

export interface ChaosOptions {
  durationSeconds: number;
  faultEverySeconds: number;
  seed: number;
  /** How long a marketplace outage lasts. */
  outageSeconds: number;
  subscribers: number;
  /** SKUs of the seeded catalogue. */
  skus: number;
  /** Upper bound on the wait for the system to settle after the load (each of its steps). */
  settleSeconds: number;
}

export const FAULT_KINDS = ['kill-service', 'restart-redis', 'restart-mariadb', 'marketplace-outage'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
const SERVICES: ServiceName[] = ['gateway', ...SUBGRAPH_NAMES, 'jobs'];

const PREFIX = 'omnistock_bench_chaos';
const BASE_PORT = 4600;
const SIMULATOR_PORT = BASE_PORT + 30;
/** Marketplace time (limits and delays of the simulator, our policies and time settings alike) runs this many times faster. */
const TIME_SCALE = 30;
const WALMART_FEED_MS = 2 * 60_000;
const AMAZON_NOTIFICATION_MS = 10_000;
/** SKUs only the bench's web orders sell, and the units each receives: orders race for them until they run out. */
const SCARCE_SKUS = 20;
const SCARCE_UNITS = 100;
/** WEB-UK's buffer: what it never sells of the DC's stock. */
const WEB_BUFFER = 2;
const ORDER_CLIENTS = 2;
const MOVEMENTS_PER_BATCH = 25;
const SUBSCRIPTION_GROUPS = 50;
const SKUS_PER_GROUP = 20;
const PER_CONNECTION = 100;
const REQUEST_TIMEOUT_MS = 30_000;

const MARKETPLACE_CHANNELS = DEMO_CHANNELS.filter((c) => c.marketplace !== null).map((c) => ({
  kind: c.marketplace as MarketplaceKind,
  channelId: c.id,
  code: c.code,
  account: `chaos-${c.marketplace!.toLowerCase()}`,
  policy: scalePolicy(DEFAULT_PUSH_POLICIES[c.marketplace as MarketplaceKind], TIME_SCALE),
}));

const WATCH = `subscription Watch($skus: [String!], $since: String) {
  stockChanged(filter: { skus: $skus }, since: $since) { sequence sku version location { id } }
}`;

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Requests of one kind: answered, and failed (a transport error, a timeout, an answer with errors). */
class Tally {
  served = 0;
  failed = 0;
  readonly outcomes = new Map<string, number>();
  count(outcome: string | null): void {
    if (outcome === null) this.failed++;
    else {
      this.served++;
      this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    }
  }
}

/** A process's children with their command lines (Linux /proc). */
function childrenOf(pid: number): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      out.push({ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The system as `npm start` runs it (scripts/start.ts: its supervisor, private MariaDB and Redis), on the bench's ports. */
interface StartedSystem {
  start: ChildProcess;
  env: Record<string, string>;
  mysqlUrl: string;
  output: () => string;
  /** The pid of one of its processes now (null: none, e.g. while it restarts). */
  pidOf(target: ServiceName | 'mariadb' | 'redis'): number | null;
  stop(): Promise<void>;
}

async function startSystem(dir: string, skus: number): Promise<StartedSystem> {
  const mysqlUrl = `mysql://root@127.0.0.1:${await freePort()}`;
  const env: Record<string, string> = {
    ...benchEnv(BASE_PORT, PREFIX),
    MYSQL_URL: mysqlUrl,
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    // Nothing answers at those ports: npm start brings its own MariaDB and Redis there, and supervises them.
    LOCAL_SERVICES: 'auto',
    LOCAL_SERVICES_DIR: join(dir, 'services'),
    // Six subgraphs load at once: on two cores busy with other work that can take longer than npm start's default minute.
    START_READY_TIMEOUT_MS: '300000',
    SEED_DEMO: 'true',
    SEED_SKUS: String(skus),
    // The bench runs the simulator itself, its limits scaled, and connects the demo marketplace channels to it.
    DEMO_MARKETPLACES: 'false',
    MARKETPLACE_SECRETS_DIR: join(dir, 'secrets'),
    MARKETPLACE_ALLOWED_HOSTS: '127.0.0.1',
    MARKETPLACE_REFRESH_MS: '500',
    MARKETPLACE_TIME_SCALE: String(TIME_SCALE),
    MARKETPLACE_INTAKE_POLL_MS: String(Math.round(60_000 / TIME_SCALE)),
    MARKETPLACE_COALESCE_MS: String(Math.round(1000 / TIME_SCALE)),
  };
  const logFile = join(benchLogDir(PREFIX), 'npm-start.log');
  mkdirSync(benchLogDir(PREFIX), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  // A process group of its own: the reaper can end it and everything it started, whatever happens to this process.
  const start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    log.write(d);
  };
  start.stdout!.on('data', keep);
  start.stderr!.on('data', keep);
  const stop = async () => {
    if (start.exitCode === null && start.signalCode === null) {
      const exited = new Promise<void>((resolve) => start.once('exit', () => resolve()));
      start.kill('SIGTERM');
      await Promise.race([exited, sleep(60_000)]);
      try {
        process.kill(-start.pid!, 'SIGKILL');
      } catch {
        // all gone
      }
    }
    log.end();
  };
  const deadline = Date.now() + 10 * 60_000;
  while (!output.includes('Omnistock is up')) {
    if (start.exitCode !== null) throw new Error(`npm start exited (code ${start.exitCode}):\n${output.slice(-3000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`npm start was not up within 10 minutes:\n${output.slice(-3000)}`);
    }
    await sleep(250);
  }
  const pidOf = (target: ServiceName | 'mariadb' | 'redis'): number | null => {
    const match = (args: string[]) =>
      target === 'mariadb' ? /(mariadbd|mysqld)$/.test(args[0] ?? '') : target === 'redis' ? (args[0] ?? '').includes('redis-server') : args.includes(compiledPath(ENTRY[target]));
    return childrenOf(start.pid!).find((c) => match(c.args))?.pid ?? null;
  };
  return { start, env, mysqlUrl, output: () => output, pidOf, stop };
}

/** One subscriber: its filter, what it received, and where it resumes. */
interface Subscriber extends SubscriberLog {
  since: string | null;
  dispose: (() => void) | null;
}

/** A graphql-ws connection to the gateway carrying up to PER_CONNECTION subscribers, reopened (and each resumed with `since`) whenever it drops. */
class SubscriberConnection {
  private client: Client | null = null;
  connected = false;
  closed = false;
  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    readonly subscribers: Subscriber[],
    private readonly stats: { events: number; connects: number; resubscribes: number; refused: number; errors: Map<string, number> },
  ) {}

  open(): void {
    if (this.closed) return;
    const client = createClient({
      url: this.url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: this.headers,
      on: {
        connected: () => {
          this.connected = true;
          this.stats.connects++;
        },
        closed: () => {
          if (this.client !== client) return;
          this.connected = false;
          this.client = null;
          for (const s of this.subscribers) s.dispose = null;
          void client.dispose();
          if (!this.closed) setTimeout(() => this.open(), 1000);
        },
      },
    });
    this.client = client;
    for (const s of this.subscribers) this.subscribe(s);
  }

  private subscribe(s: Subscriber): void {
    const client = this.client;
    if (!client || this.closed) return;
    s.dispose = client.subscribe<{ stockChanged: { sequence: string; sku: string; version: number; location: { id: string } } }>(
      { query: WATCH, variables: { skus: [...s.skus!], since: s.since } },
      {
        next: (msg) => {
          const c = msg.data?.stockChanged;
          if (!c) return;
          s.received.push({ sku: c.sku, locationId: c.location.id, version: c.version });
          s.since = c.sequence;
          this.stats.events++;
        },
        error: (err) => {
          // A dropped connection is reopened by `closed`; GraphQL errors end this subscription only.
          if (!Array.isArray(err) || this.client !== client) return;
          const reason = (err as { extensions?: { reason?: string; code?: string } }[])[0]?.extensions;
          const what = reason?.reason ?? reason?.code ?? 'error';
          this.stats.errors.set(what, (this.stats.errors.get(what) ?? 0) + 1);
          if (what === 'SINCE_EXPIRED' || what === 'SINCE_IN_FUTURE') {
            // It cannot resume: it starts again from now (the checks then count what it missed).
            this.stats.refused++;
            s.since = null;
          }
          this.resubscribeLater(s, client);
        },
        complete: () => {
          if (this.client === client && !this.closed) this.resubscribeLater(s, client);
        },
      },
    );
  }

  private resubscribeLater(s: Subscriber, client: Client): void {
    setTimeout(() => {
      if (this.client !== client || this.closed) return;
      this.stats.resubscribes++;
      this.subscribe(s);
    }, 1000);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    for (const s of this.subscribers) s.dispose?.();
    await client?.dispose();
  }
}

const rngInt = (rng: RandomGenerator, lo: number, hi: number) => unsafeUniformIntDistribution(lo, hi, rng);

/** Calls a GraphQL endpoint with a timeout; the data, or null for any failure. */
async function tryCall(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<Record<string, any> | null> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
    return body.errors || !body.data ? null : body.data;
  } catch {
    return null;
  }
}

/** Retries `work` until it succeeds or `timeoutMs` passes (a service still learning of a channel, or restarting). */
async function retrying<T>(what: string, work: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message.slice(0, 500)}`);
      await sleep(500);
    }
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; whether it held. */
/**
 * Waits until `check` answers true, at most `timeoutMs`; an error is "not yet" (a service or the
 * database still coming back). A string answer says how far it is: printed every 10 s with `what`.
 */
async function settled(what: string, check: () => Promise<boolean | string>, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let told = started;
  let status = 'not yet';
  for (;;) {
    try {
      const answer = await check();
      if (answer === true) return true;
      if (typeof answer === 'string') status = answer;
    } catch (err) {
      status = `not yet (${(err as Error).message.slice(0, 80)})`;
    }
    if (Date.now() > deadline) return false;
    if (Date.now() - told >= 10_000) {
      told = Date.now();
      say(`  … ${what}: ${status} (${((told - started) / 1000).toFixed(0)} s)`);
    }
    await sleep(1000);
  }
}

/** Every marketplace holding our available-to-sell, or how many SKUs do not yet. */
const marketplacesHold = (inventory: Endpoint, sim: SimulatorClient, catalogue: string[]) => async (): Promise<true | string> => {
  const check = checkMarketplaces(await marketplaceStates(inventory, sim, catalogue));
  return check.violations === 0 || `${check.violations} of ${check.checked} marketplace SKUs differ from ours`;
};

/**
 * npm run bench -- chaos: the system as `npm start` runs it under mixed load (orders through the
 * gateway, movement batches, subscribers, marketplace pushes and intake) while a fault is injected
 * every `faultEverySeconds` at random (seeded); then, the load stopped and the system settled, the
 * invariants (chaos-invariants.ts) checked against MySQL and what the clients observed.
 * @returns the total of invariant violations
 */
export async function benchChaos(o: ChaosOptions): Promise<number> {
  const rng = xoroshiro128plus(o.seed);
  say(`Chaos: ${o.durationSeconds} s of mixed load, a fault every ${o.faultEverySeconds} s (seed ${o.seed}; --seed ${o.seed} replays the same faults), ${o.subscribers} subscribers`);
  const dir = await mkdtemp(join(tmpdir(), 'omnistock-chaos-'));
  mkdirSync(join(dir, 'secrets'));
  let simulator: Awaited<ReturnType<typeof spawnSimulator>> | undefined;
  let system: StartedSystem | undefined;
  let reaper: ChildProcess | null = null;
  let stopping: Promise<void> | null = null;
  const stopAll = () =>
    (stopping ??= (async () => {
      await system?.stop();
      simulator?.child.kill('SIGTERM');
      reaper?.kill();
      await rm(dir, { recursive: true, force: true });
    })());
  const interrupted = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    say('Starting the system the way npm start does (private MariaDB and Redis on free ports, seeded catalogue) and the marketplace simulator…');
    simulator = await spawnSimulator({
      port: SIMULATOR_PORT,
      host: '127.0.0.1',
      logDir: benchLogDir(PREFIX),
      rateScale: TIME_SCALE,
      amazonVisibilityMs: AMAZON_VISIBILITY_MS / TIME_SCALE,
      amazonNotificationMs: AMAZON_NOTIFICATION_MS / TIME_SCALE,
      walmartFeedMs: WALMART_FEED_MS / TIME_SCALE,
    });
    reaper = spawnReaper();
    system = await startSystem(dir, o.skus);
    reaper?.kill();
    // From here on the watchdog also ends npm start's process group (services, MariaDB, Redis).
    reaper = spawnReaper({ groups: [system.start.pid!] });
    return await run(o, rng, system, new SimulatorClient(simulator.url), join(dir, 'secrets'));
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await stopAll();
  }
}

async function run(o: ChaosOptions, rng: RandomGenerator, system: StartedSystem, sim: SimulatorClient, secrets: string): Promise<number> {
  const cfg = configWith(system.env);
  const gatewayUrl = `http://127.0.0.1:${cfg.GATEWAY_PORT}/graphql`;
  const headers = { authorization: `Bearer ${await benchToken(cfg.AUTH_JWT_SECRET!)}` };
  const inventory: Endpoint = { url: `http://127.0.0.1:${cfg.INVENTORY_PORT}/graphql`, headers: await subgraphHeaders(cfg) };
  const gateway: Gql = (query, variables) => call(gatewayUrl, query, variables, headers);

  // The demo's marketplace channels, connected to the simulator at its scaled limits.
  for (const t of MARKETPLACE_CHANNELS) await retrying(`connecting ${t.code}`, () => connectToSimulator(gateway, sim, secrets, t));
  const scarce: string[] = [];
  for (let i = 0; i < SCARCE_SKUS; i++) scarce.push(await retrying('a scarce SKU', () => benchSku(inventory, SCARCE_UNITS)));
  const catalogue = [...Array.from({ length: o.skus }, (_, i) => demoItem(i).sku), ...scarce];
  say(`Connected ${MARKETPLACE_CHANNELS.map((t) => t.code).join(', ')} to the simulator (limits x${TIME_SCALE}); ${SCARCE_SKUS} scarce SKUs of ${SCARCE_UNITS} units for the web orders`);
  const synced = await settled('the initial marketplace sync', marketplacesHold(inventory, sim, catalogue), o.settleSeconds * 1000);
  say(synced ? 'Initial marketplace sync done' : `The initial marketplace sync was not done within ${o.settleSeconds} s: going on`);

  // Subscribers: SUBSCRIPTION_GROUPS filters of SKUS_PER_GROUP SKUs each (a sharing group per filter), PER_CONNECTION per connection.
  const filters = Array.from({ length: SUBSCRIPTION_GROUPS }, () => {
    const skus = new Set<string>();
    while (skus.size < SKUS_PER_GROUP) skus.add(catalogue[rngInt(rng, 0, catalogue.length - 1)]!);
    return skus;
  });
  const subscribers: Subscriber[] = Array.from({ length: o.subscribers }, (_, id) => ({ id, skus: filters[id % filters.length]!, locationIds: null, received: [], since: null, dispose: null }));
  const subStats = { events: 0, connects: 0, resubscribes: 0, refused: 0, errors: new Map<string, number>() };
  const wsUrl = gatewayUrl.replace(/^http/, 'ws');
  const connections: SubscriberConnection[] = [];
  for (let i = 0; i < subscribers.length; i += PER_CONNECTION) {
    const c = new SubscriberConnection(wsUrl, headers, subscribers.slice(i, i + PER_CONNECTION), subStats);
    connections.push(c);
    c.open();
  }
  const metricsUrl = gatewayUrl.replace(/\/graphql$/, '/metrics');
  if (!(await settled('the subscribers', async () => { const n = await metric(metricsUrl, 'omnistock_subscriptions_active'); return n >= o.subscribers || `${n} of ${o.subscribers} subscribed`; }, 120_000))) throw new Error(`${o.subscribers} subscribers did not all subscribe within 120 s`);
  // Each subscription reaches inventory through the gateway's own connection: a moment more before counting on it.
  await sleep(5000);
  const inventoryDb = databaseName(cfg, 'inventory');
  const fromSeq = await withMysql(system.mysqlUrl, async (db) => Number((await db.query<any[]>(`SELECT COALESCE(MAX(seq), 0) AS s FROM \`${inventoryDb}\`.outbox_events`))[0][0].s));
  say(`${o.subscribers} subscribers listening (changes committed after outbox seq ${fromSeq} must reach each exactly once)`);

  // The load.
  const tallies = { orders: new Tally(), movements: new Tally(), 'marketplace buyers': new Tally() };
  let loading = true;
  const runId = randomUUID().slice(0, 8);
  let n = 0;
  const orderClient = async () => {
    while (loading) {
      const lines = [...new Set(Array.from({ length: 1 + (n % 2) }, () => scarce[Math.floor(Math.random() * scarce.length)]!))].map((sku) => ({ sku, quantity: 1 + Math.floor(Math.random() * 2) }));
      const data = await tryCall(gatewayUrl, PLACE, { input: { idempotencyKey: `chaos-${runId}-${n++}`, channelId: WEB, lines, fulfilment: { method: 'SHIP', destinationRegion: 'England' } } }, headers);
      tallies.orders.count(data?.placeOrder?.status ?? null);
      if (!data) await sleep(200);
    }
  };
  const nextMovement = movementFeed(o.skus, o.seed);
  const movementClient = async () => {
    while (loading) {
      const started = Date.now();
      const data = await tryCall(inventory.url, RECORD_MANY, { inputs: Array.from({ length: MOVEMENTS_PER_BATCH }, nextMovement) }, inventory.headers);
      tallies.movements.count(data ? 'batch' : null);
      await sleep(Math.max(0, 1000 - (Date.now() - started)));
    }
  };
  const buyer = async () => {
    while (loading) {
      const t = MARKETPLACE_CHANNELS[Math.floor(Math.random() * MARKETPLACE_CHANNELS.length)]!;
      const sku = demoItem(Math.floor(Math.random() * o.skus)).sku;
      const outcome = await sim.placeOrder(t.kind, t.account, [{ sku, quantity: 1 }]).then(
        (id) => (id ? 'ordered' : 'sold out'),
        () => null,
      );
      tallies['marketplace buyers'].count(outcome);
      await sleep(2000);
    }
  };
  const load = [...Array.from({ length: ORDER_CLIENTS }, orderClient), movementClient(), buyer()];

  // The faults.
  const faults: { at: number; kind: FaultKind; target: string }[] = [];
  const started = Date.now();
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  const inject = async (): Promise<void> => {
    const kind = FAULT_KINDS[rngInt(rng, 0, FAULT_KINDS.length - 1)]!;
    let target: string;
    if (kind === 'marketplace-outage') {
      const t = MARKETPLACE_CHANNELS[rngInt(rng, 0, MARKETPLACE_CHANNELS.length - 1)]!;
      target = `${t.kind} for ${o.outageSeconds} s`;
      await sim.inject(t.kind, t.account, { type: 'outage' });
      setTimeout(() => void sim.clearFaults().catch(() => {}), o.outageSeconds * 1000);
    } else {
      const what = kind === 'kill-service' ? SERVICES[rngInt(rng, 0, SERVICES.length - 1)]! : kind === 'restart-redis' ? 'redis' : 'mariadb';
      const pid = system.pidOf(what);
      target = pid ? `${what} (pid ${pid}, SIGKILL)` : `${what}: not running (still restarting), nothing killed`;
      if (pid) process.kill(pid, 'SIGKILL');
    }
    faults.push({ at: Date.now(), kind, target });
    say(`[${elapsed()} s] fault ${faults.length}: ${kind} ${target}`);
  };
  const progress = setInterval(() => {
    const t = tallies;
    say(
      `[${elapsed()} s] faults ${faults.length} | orders ${t.orders.served} ok ${t.orders.failed} failed | movement batches ${t.movements.served} ok ${t.movements.failed} failed | ` +
        `subscribers connected ${connections.filter((c) => c.connected).length * PER_CONNECTION} | events received ${subStats.events}`,
    );
  }, 5000);
  try {
    while (Date.now() - started < o.durationSeconds * 1000) {
      const nextAt = started + (faults.length + 1) * o.faultEverySeconds * 1000;
      await sleep(Math.max(0, Math.min(nextAt, started + o.durationSeconds * 1000) - Date.now()));
      if (Date.now() < started + o.durationSeconds * 1000) await inject();
    }
  } finally {
    loading = false;
    clearInterval(progress);
  }
  await Promise.all(load);
  await sim.clearFaults();
  const loadSeconds = (Date.now() - started) / 1000;

  // Settling: every service back, every outbox published, the subscribers and marketplaces caught up (each bounded).
  say(`Load stopped after ${loadSeconds.toFixed(0)} s; waiting for the system to settle (each step at most ${o.settleSeconds} s)…`);
  const ports = [cfg.GATEWAY_PORT, cfg.INVENTORY_PORT, cfg.ORDERS_PORT, cfg.LOCATIONS_PORT, cfg.CHANNELS_PORT, cfg.MARKETPLACES_PORT, cfg.EXCEPTIONS_PORT, cfg.JOBS_PORT];
  const up = await settled('the services', async () => {
    const ready = await Promise.all(ports.map((p) => fetch(`http://127.0.0.1:${p}/readyz`).then((r) => r.ok, () => false)));
    return ready.every(Boolean) || `${ready.filter(Boolean).length} of ${ports.length} ready`;
  }, o.settleSeconds * 1000);
  say(`  services ready: ${up ? 'yes' : 'NO'}`);
  const outboxes = await withMysql(system.mysqlUrl, async (db) => {
    const [rows] = await db.query<any[]>(`SELECT table_schema AS db FROM information_schema.tables WHERE table_name = 'outbox_events' AND table_schema LIKE ?`, [`${cfg.DB_PREFIX}\\_%`]);
    return rows.map((r) => String(r.db));
  });
  const drained = await settled(
    'the outboxes',
    () => withMysql(system.mysqlUrl, async (db) => {
      let waiting = 0;
      for (const name of outboxes) waiting += Number((await db.query<any[]>(`SELECT COUNT(*) AS n FROM \`${name}\`.outbox_events WHERE published_at IS NULL`))[0][0].n);
      return waiting === 0 || `${waiting} events not yet published`;
    }),
    o.settleSeconds * 1000,
  );
  say(`  outboxes published: ${drained ? 'yes' : 'NO'}`);
  const committed = await withMysql(system.mysqlUrl, (db) => committedChanges(db, inventoryDb));
  let lastEvents = -1;
  let quietSince = Date.now();
  const caughtUp = await settled('the subscribers', async () => {
    const missing = checkSubscribers(subscribers, committed, fromSeq).violations;
    if (missing === 0) return true;
    if (subStats.events !== lastEvents) [lastEvents, quietSince] = [subStats.events, Date.now()];
    // Nothing more arriving for 20 s: what is missing will not come.
    return Date.now() - quietSince > 20_000 || `${missing} subscribers not caught up`;
  }, o.settleSeconds * 1000);
  say(`  subscribers caught up: ${caughtUp ? 'yes' : 'NO'}`);
  const converged = await settled('the marketplaces', marketplacesHold(inventory, sim, catalogue), o.settleSeconds * 1000);
  say(`  marketplaces converged: ${converged ? 'yes' : 'NO (checked as they are)'}`);

  // The invariants.
  const [levels, orders] = await withMysql(system.mysqlUrl, async (db) => [await levelStates(db, inventoryDb), await confirmedOrders(db, databaseName(cfg, 'orders'), inventoryDb, WEB)] as const);
  const scarceSkus: ScarceSku[] = scarce.map((sku) => ({ sku, sellable: SCARCE_UNITS - WEB_BUFFER }));
  const finalCommitted = await withMysql(system.mysqlUrl, (db) => committedChanges(db, inventoryDb));
  const markets = await marketplaceStates(inventory, sim, catalogue);
  const results: InvariantResult[] = [
    checkLedger(levels),
    checkReserved(levels),
    checkOrders(orders, scarceSkus),
    checkSubscribers(subscribers, finalCommitted, fromSeq),
    checkMarketplaces(markets),
  ];
  // What our records say of the first few marketplace SKUs not showing ours.
  const explained = await withMysql(system.mysqlUrl, async (db) => {
    const out: string[] = [];
    for (const { channel, sku } of marketplaceMisses(markets).slice(0, 5)) {
      out.push(`${channel} ${sku}: ${await marketplaceRecords(db, databaseName(cfg, 'marketplaces'), MARKETPLACE_CHANNELS.find((t) => t.code === channel)!.channelId, sku)}`);
    }
    return out;
  });
  await Promise.all(connections.map((c) => c.close()));

  // The report.
  const restarts = (system.output().match(/^↻ /gm) ?? []).length;
  const back = (system.output().match(/^✔ .* is back/gm) ?? []).length;
  say(`\nFaults injected: ${faults.length} in ${loadSeconds.toFixed(0)} s (seed ${o.seed}); the supervisor restarted ${restarts} processes (${back} reported back)`);
  say(renderTable(['fault', 'injected'], FAULT_KINDS.map((k) => [k, String(faults.filter((f) => f.kind === k).length)])));
  say(`\nRequests`);
  say(
    renderTable(
      ['kind', 'served', 'failed', 'outcomes'],
      Object.entries(tallies).map(([kind, t]) => [kind, String(t.served), String(t.failed), [...t.outcomes].map(([k, v]) => `${k} ${v}`).join(', ')]),
    ),
  );
  const received = subscribers.reduce((a, s) => a + s.received.length, 0);
  say(
    `\nSubscribers: ${o.subscribers} (${SUBSCRIPTION_GROUPS} filters of ${SKUS_PER_GROUP} SKUs), ${received} changes received, ` +
      `${subStats.connects} connections opened, ${subStats.resubscribes} subscriptions resumed after an error or completion, ${subStats.refused} resumes refused` +
      (subStats.errors.size ? ` (errors: ${[...subStats.errors].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''),
  );
  say(`Committed stock changes: ${finalCommitted.length} (${finalCommitted.filter((c) => c.seq > fromSeq).length} while every subscriber listened)`);
  say(`\nInvariants`);
  say(renderTable(['invariant', 'checked', 'result'], results.map((r) => [r.name, String(r.checked), r.violations ? `${r.violations} violations` : 'PASS'])));
  for (const r of results.filter((x) => x.violations)) {
    say(`\n${r.name}: ${r.violations} violations, e.g.`);
    for (const e of r.examples) say(`  - ${e}`);
  }
  if (explained.length) say(`\nWhat our records say of those marketplace SKUs:\n${explained.map((e) => `  - ${e}`).join('\n')}`);
  const violations = results.reduce((a, r) => a + r.violations, 0);
  say(`\nInvariant violations: ${violations} (aim: 0)`);
  return violations;
}

async function withMysql<T>(url: string, work: (db: Connection) => Promise<T>): Promise<T> {
  const db = await createConnection({ uri: url, multipleStatements: false });
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** What each connected marketplace shows against our available-to-sell, for every SKU of the catalogue. */
async function marketplaceStates(inventory: Endpoint, sim: SimulatorClient, skus: string[]): Promise<MarketplaceState[]> {
  return Promise.all(
    MARKETPLACE_CHANNELS.map(async (t) => ({ channel: t.code, ours: await atsOf(inventory, t.channelId, skus), theirs: await sim.quantities(t.kind, t.account) })),
  );
}

