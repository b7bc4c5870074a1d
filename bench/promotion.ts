import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { progressBar } from '../lib/progress.js';
import { DEFAULT_PUSH_POLICIES, scalePolicy } from '../subgraphs/marketplaces/connectors/policies.js';
import { AMAZON_VISIBILITY_MS } from '../subgraphs/marketplaces/connectors/amazon/orders.js';
import type { MarketplaceKind } from '../subgraphs/marketplaces/connectors/types.js';
import type { SalesReport } from '../contracts/sales-import.js';
import { spawnSimulator } from '../scripts/demo/marketplaces.js';
import { awsCredentialsFor, tokenFor } from '../tools/marketplace-simulator/index.js';
import { MARKETPLACE_SETTINGS } from './marketplaces.js';
import {
  addTally,
  DEFAULT_SHARES,
  emptyTally,
  MARKETPLACES,
  planPromotion,
  reachedEveryChannelAt,
  SELLERS,
  Shelf,
  type Buyer,
  type Seller,
  type Tally,
} from './promotion-plan.js';
import { percentile, renderTable } from './run.js';
import { SimulatorClient } from './simulator-client.js';
import { benchLogDir, call, startBenchSystem, stoppingOnSignal, type BenchSystem, type Gql } from './system.js';

const PROMOTION_SIMULATOR_PORT = 4131;
/** How long Walmart takes to ingest a feed, in marketplace time (it documents up to 30 minutes; two is a good day). */
const WALMART_FEED_MS = 2 * 60_000;
/** How soon an ORDER_CHANGE notification reaches the SQS queue (Amazon documents no figure: our assumption). */
const AMAZON_NOTIFICATION_MS = 10_000;
/** Till batches post every quarter hour (simulated). */
const TILL_BATCH_MS = 15 * 60_000;
/** Our own time settings, at their defaults (marketplace time, divided by the scale). */
const INTAKE_POLL_MS = 60_000;
const PROTECT_WINDOW_MS = 15 * 60_000;
const COALESCE_MS = 1000;
const IN_FLIGHT = 400;

export interface PromotionOptions {
  skus: number;
  /** Marketplace time runs this many times faster than the clock (limits, delays and our own time settings alike). */
  timeScale: number;
  minutes: number;
  buffers: number[];
  demand: number;
  meanStock: number;
  seed: number;
  /** Seconds to wait after the promotion for intake and pushes to settle. */
  drainSeconds: number;
  /** PROTECT_CONFIDENCE for the protective channels (default: the setting's default). */
  confidence?: number;
}

interface Strategy {
  name: string;
  buffer: number | null;
  protective: boolean;
}

interface Sale {
  seller: Seller;
  sku: number;
  quantity: number;
  /** When the buyer bought (epoch ms). */
  at: number;
  /** When our stock took it: the web order's answer, the till batch's, or the marketplace order's placement by intake. */
  recordedAt?: number;
  marketplaceOrderId?: string;
}

interface Variant {
  strategy: Strategy;
  /** The location every channel sells from. */
  store: string;
  skus: string[];
  marketplaces: Map<MarketplaceKind, { channelId: string; account: string }>;
  web: string;
  shelf: Shelf;
  tallies: Map<Seller, Tally>;
  sales: Sale[];
  till: Sale[];
  /** Oversold units Omnistock recorded per marketplace, read after the run. */
  recorded: Map<MarketplaceKind, number>;
  /** When each marketplace applied each quantity it was sent, per SKU, read after the run. */
  applied: Map<MarketplaceKind, Map<string, number[]>>;
}


/** `work` again every 200 ms while it fails, for at most `forMs`. */
async function retrying<T>(work: () => Promise<T>, forMs = 30_000): Promise<T> {
  const deadline = Date.now() + forMs;
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

let benchStart = Date.now();
/** A line with the time since the benchmark started. */
function say(line: string): void {
  const s = Math.round((Date.now() - benchStart) / 1000);
  process.stdout.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

/**
 * npm run bench -- promotion: a promotion played against the marketplace simulator, once per
 * strategy (no buffer, static buffers, protective), all at once on SKUs and channels of their own
 * so they face the same demand at the same moments: per channel and in total, units sold, oversold
 * units and lost sales (judged against the real shelf), and how long a sale took to reach every
 * other channel.
 */
export async function benchPromotion(o: PromotionOptions): Promise<void> {
  benchStart = Date.now();
  const S = o.timeScale;
  const plan = planPromotion({
    skus: o.skus,
    minutes: o.minutes,
    meanStock: o.meanStock,
    demandOverStock: o.demand,
    burst: { from: 0.25, to: 0.4, factor: 10 },
    shares: DEFAULT_SHARES,
    seed: o.seed,
  });
  const strategies: Strategy[] = [
    { name: 'no buffer', buffer: null, protective: false },
    ...o.buffers.map((b) => ({ name: `static buffer ${b}`, buffer: b, protective: false })),
    { name: 'protective', buffer: null, protective: true },
  ];
  const stockUnits = plan.stock.reduce((a, b) => a + b, 0);
  const askedUnits = plan.buyers.reduce((a, b) => a + b.quantity, 0);
  process.stdout.write(
    `Promotion: ${o.skus} SKUs, ${stockUnits} units in stock, ${plan.buyers.length} buyers asking for ${askedUnits} units over ${o.minutes} simulated minutes ` +
      `(10x burst from minute ${Math.round(o.minutes * 0.25)} to ${Math.round(o.minutes * 0.4)}), seed ${o.seed}; ` +
      `marketplace time ${S}x the clock; strategies played at once: ${strategies.map((s) => s.name).join(', ')}\n`,
  );

  const simulator = await spawnSimulator({
    port: PROMOTION_SIMULATOR_PORT,
    host: '127.0.0.1',
    logDir: benchLogDir('omnistock_bench_promotion'),
    rateScale: S,
    amazonVisibilityMs: AMAZON_VISIBILITY_MS / S,
    amazonNotificationMs: AMAZON_NOTIFICATION_MS / S,
    walmartFeedMs: WALMART_FEED_MS / S,
  });
  const control = new SimulatorClient(simulator.url);
  const secrets = await mkdtemp(join(tmpdir(), 'omnistock-bench-secrets-'));
  say('Starting the system…');
  // Databases of its own, emptied first: every channel's resync pushes every SKU inventory knows,
  // and an earlier run's would be pushed too.
  const system = await startBenchSystem({
    skus: strategies.length * o.skus,
    dbPrefix: 'omnistock_bench_promotion',
    fresh: true,
    env: {
      MARKETPLACE_SECRETS_DIR: secrets,
      MARKETPLACE_ALLOWED_HOSTS: '127.0.0.1',
      MARKETPLACE_REFRESH_MS: '500',
      MARKETPLACE_TIME_SCALE: String(S),
      MARKETPLACE_INTAKE_POLL_MS: String(Math.max(100, Math.round(INTAKE_POLL_MS / S))),
      PROTECT_WINDOW_MS: String(Math.max(1000, Math.round(PROTECT_WINDOW_MS / S))),
      MARKETPLACE_COALESCE_MS: String(Math.round(COALESCE_MS / S)),
      ...(o.confidence !== undefined ? { PROTECT_CONFIDENCE: String(o.confidence) } : {}),
    },
  });
  const stop = async () => {
    await system.stop();
    simulator.child.kill('SIGTERM');
    await rm(secrets, { recursive: true, force: true });
  };
  await stoppingOnSignal(stop, async () => {
    const gateway: Gql = (query, variables) => call(system.url('gateway'), query, variables, system.headers);
    const run = randomUUID().slice(0, 6).toUpperCase();
    const variants = await setUp(system, gateway, control, secrets, run, strategies, plan.stock, S);
    await play(system, control, variants, plan.buyers, o);
    await drain(system, gateway, variants, o.drainSeconds);
    await measure(system, control, variants);
    report(variants, S);
    say('Done.');
  });
}

/** The store every channel sells from, each strategy's SKUs with the plan's stock there, and its channels connected to the simulator. */
async function setUp(
  system: BenchSystem,
  gateway: Gql,
  control: SimulatorClient,
  secrets: string,
  run: string,
  strategies: Strategy[],
  stock: number[],
  S: number,
): Promise<Variant[]> {
  const inventory = system.subgraph('inventory');
  const inv: Gql = (query, variables) => call(inventory.url, query, variables, inventory.headers);
  const store = (
    await gateway(`mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, {
      input: {
        code: `PROMO-${run}`,
        name: 'Promotion flagship (ships online orders)',
        type: 'STORE',
        address: { line1: '1 Oxford Street', city: 'London', postalCode: 'W1D 1AN', countryCode: 'GB' },
        timezone: 'Europe/London',
        latitude: 51.516,
        longitude: -0.13,
        capabilities: { ships: true, pickup: false },
      },
    })
  ).createLocation.id as string;

  const bar = progressBar('Setting up  |{bar}| {value}/{total} SKUs and channels');
  const perVariant = stock.length + MARKETPLACES.length + 1;
  bar.start(strategies.length * perVariant, 0);
  const variants: Variant[] = [];
  for (const [v, strategy] of strategies.entries()) {
    // The seeded catalogue's SKUs, a range per strategy; only the store's stock counts (the channels sell nothing else).
    const skus = stock.map((_, i) => `SKU-${String(v * stock.length + i).padStart(6, '0')}`);
    for (let i = 0; i < skus.length; i += 500) {
      const inputs = skus.slice(i, i + 500).map((sku, j) => ({ idempotencyKey: `promo-${run}-${sku}`, type: 'RECEIPT', sku, locationId: store, quantity: stock[i + j] }));
      // Inventory learns of the new store from the locations subgraph's events, moments later: until
      // then a receipt there is NOT_FOUND. The same keys again record each receipt once.
      await retrying(async () => {
        const out = await inv(`mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { error { code message } } }`, { inputs });
        const refused = (out.recordMovements as { error: { code: string; message: string } | null }[]).filter((o) => o.error);
        if (refused.length) throw new Error(`${refused.length} receipts refused, e.g. ${JSON.stringify(refused[0]!.error)}`);
      });
      bar.increment(inputs.length);
    }
    const rule = { sources: [{ locationId: store, priority: 1 }], ...(strategy.buffer !== null ? { buffer: { kind: 'UNITS', value: strategy.buffer } } : {}) };
    const web = (
      await gateway(`mutation($i: CreateChannelInput!) { createChannel(input: $i) { id } }`, {
        // The web storefront reads us live: a static buffer holds back from it as from the marketplaces, and protection is its rule's.
        i: { code: `PROMO-${run}-${v}-WEB`, name: `Promotion web (${strategy.name})`, type: 'WEB_STOREFRONT', allocationRule: { ...rule, ...(strategy.protective ? { protection: 'PROTECTIVE' } : {}) } },
      })
    ).createChannel.id as string;
    bar.increment();
    const marketplaces = new Map<MarketplaceKind, { channelId: string; account: string }>();
    for (const kind of MARKETPLACES) {
      const account = `promo-${kind.toLowerCase()}-${run.toLowerCase()}-${v}`;
      const code = `PROMO-${run}-${v}-${kind}`;
      await writeFile(
        join(secrets, `${account}.json`),
        JSON.stringify({ kind, accountId: account, channel: code, accessToken: tokenFor(kind, account), webhookSecret: `whsec-${account}`, ...(kind === 'AMAZON' ? awsCredentialsFor(account) : {}) }),
      );
      const channelId = (
        await gateway(`mutation($i: CreateChannelInput!) { createChannel(input: $i) { id } }`, {
          i: { code, name: `Promotion ${kind} (${strategy.name})`, type: 'MARKETPLACE', marketplace: kind, allocationRule: rule },
        })
      ).createChannel.id as string;
      // The marketplaces subgraph learns of a channel from the channels subgraph's events: moments
      // later, or behind the set-up's thousands of receipts on the same feed.
      await retrying(() => gateway(`mutation($c: ID!, $i: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $c, input: $i) { id } }`, {
        c: channelId,
        i: {
          accountId: account,
          baseUrl: control.baseUrl(kind, account),
          secretName: account,
          // Amazon's orders come fast through its ORDER_CHANGE notifications; Shopify's through its webhooks (below).
          settings: kind === 'AMAZON' ? { ...MARKETPLACE_SETTINGS[kind], notificationQueueUrl: control.queueUrl(account) } : MARKETPLACE_SETTINGS[kind],
          ratePolicy: scalePolicy(DEFAULT_PUSH_POLICIES[kind], S),
          protection: strategy.protective ? 'PROTECTIVE' : 'OFF',
        },
      }), 180_000);
      if (kind === 'SHOPIFY') await control.setShopifyWebhook(account, `${system.url('jobs').replace(/\/healthz$/, '')}/webhooks/shopify/${channelId}`, `whsec-${account}`);
      marketplaces.set(kind, { channelId, account });
      bar.increment();
    }
    variants.push({ strategy, store, skus, marketplaces, web, shelf: new Shelf(stock), tallies: new Map(SELLERS.map((s) => [s, emptyTally()])), sales: [], till: [], recorded: new Map(), applied: new Map() });
  }
  bar.stop();

  // Every marketplace shows our available-to-sell of every SKU before the promotion opens.
  const deadline = Date.now() + 180_000;
  const waiting = new Set(variants.flatMap((v) => [...v.marketplaces.values()].map((m) => ({ v, ...m }))));
  say(`Initial sync of ${waiting.size} marketplace channels…`);
  while (waiting.size) {
    if (Date.now() > deadline) throw new Error(`${waiting.size} marketplace channels did not receive the initial quantities within 180 s`);
    for (const w of [...waiting]) {
      const ours = new Map<string, number>();
      try {
        for (let i = 0; i < w.v.skus.length; i += 100) {
          const data = await call(inventory.url, `query($c: ID!, $s: [String!]!) { availability(channelId: $c, skus: $s, consistency: READ_YOUR_WRITES) { sku availableToSell } }`, { c: w.channelId, s: w.v.skus.slice(i, i + 100) }, inventory.headers);
          for (const a of data.availability as { sku: string; availableToSell: number }[]) ours.set(a.sku, a.availableToSell);
        }
      } catch {
        continue; // inventory does not know the channel yet
      }
      const kind = [...w.v.marketplaces].find(([, m]) => m.channelId === w.channelId)![0];
      const theirs = await control.quantities(kind, w.account);
      if (w.v.skus.every((s) => theirs.get(s) === ours.get(s))) waiting.delete(w);
    }
    await sleep(500);
  }
  return variants;
}

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { status } }`;

/** Plays every buyer at its moment (marketplace time over the scale), for every strategy, posting the till every quarter hour. */
async function play(system: BenchSystem, control: SimulatorClient, variants: Variant[], buyers: Buyer[], o: PromotionOptions): Promise<void> {
  const S = o.timeScale;
  const gatewayUrl = system.url('gateway');
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const t = p.catch((err: unknown) => {
      errors++;
      if (errors <= 3) process.stderr.write(`\n  ${err instanceof Error ? err.message : String(err)}\n`);
    });
    inFlight.add(t);
    void t.finally(() => inFlight.delete(t));
  };
  let errors = 0;
  let served = 0;
  let late = 0;

  const buy = async (v: Variant, b: Buyer) => {
    const tally = v.tallies.get(b.seller)!;
    const sku = v.skus[b.sku]!;
    const at = Date.now();
    const sold = () => {
      tally.sold += b.quantity;
      tally.oversold += v.shelf.sell(b.sku, b.quantity).oversold;
    };
    const refused = () => {
      if (v.shelf.holds(b.sku, b.quantity)) tally.lost += b.quantity;
      else tally.soldOut += 1;
    };
    if (b.seller === 'POS') {
      // A walk-in buyer takes what is on the shelf; the till reports it with the next batch.
      if (!v.shelf.holds(b.sku, b.quantity)) return void (tally.soldOut += 1);
      sold();
      const sale: Sale = { seller: 'POS', sku: b.sku, quantity: b.quantity, at };
      v.sales.push(sale);
      v.till.push(sale);
      return;
    }
    if (b.seller === 'WEB') {
      const res = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...system.headers },
        body: JSON.stringify({ query: PLACE, variables: { input: { idempotencyKey: randomUUID(), channelId: v.web, lines: [{ sku, quantity: b.quantity }], fulfilment: { method: 'SHIP', destinationRegion: 'England' } } } }),
      });
      const body = (await res.json()) as { data?: { placeOrder: { status: string } }; errors?: unknown };
      if (!body.data) throw new Error(`placeOrder: ${JSON.stringify(body.errors)}`);
      if (body.data.placeOrder.status === 'REJECTED') return refused();
      sold();
      v.sales.push({ seller: 'WEB', sku: b.sku, quantity: b.quantity, at, recordedAt: Date.now() });
      return;
    }
    const m = v.marketplaces.get(b.seller)!;
    const orderId = await control.placeOrder(b.seller, m.account, [{ sku, quantity: b.quantity }]);
    if (orderId === null) return refused();
    sold();
    v.sales.push({ seller: b.seller, sku: b.sku, quantity: b.quantity, at, marketplaceOrderId: orderId });
  };

  const postTill = async (v: Variant) => {
    const batch = v.till.splice(0);
    if (!batch.length) return;
    const csv = ['store,sku,quantity,time,transaction_id', ...batch.map((s, i) => `${v.store},${v.skus[s.sku]},${s.quantity},${new Date(s.at).toISOString()},T-${s.at}-${i}-${s.sku}`)].join('\n');
    const res = await fetch(`${gatewayUrl.replace(/\/graphql$/, '')}/imports/sales`, { method: 'POST', headers: { 'content-type': 'text/csv', ...system.headers }, body: csv });
    if (!res.ok) throw new Error(`the till batch was refused: ${res.status} ${await res.text()}`);
    const result = (await res.json()) as SalesReport;
    const recordedAt = Date.now();
    for (const s of batch) s.recordedAt = recordedAt;
    if (result.rejected.length) throw new Error(`the till batch had rows refused: ${JSON.stringify(result.rejected.slice(0, 3))}`);
  };

  const durationMs = o.minutes * 60_000;
  const bar = progressBar('Promotion   |{bar}| minute {value}/{total} | buyers {served} | in flight {inflight} | late {late} | errors {errors}');
  say(`The promotion opens: ${o.minutes} simulated minutes, ${((o.minutes * 60) / S).toFixed(0)} s`);
  bar.start(o.minutes, 0, { served: 0, inflight: 0, late: 0, errors: 0 });
  const start = Date.now() + 500;
  let nextTill = TILL_BATCH_MS;
  let i = 0;
  const ticker = setInterval(() => {
    bar.update(Math.min(o.minutes, Math.floor(((Date.now() - start) * S) / 60_000)), { served, inflight: inFlight.size, late, errors });
  }, 250);
  try {
    while (i < buyers.length || nextTill <= durationMs) {
      const simNow = (Date.now() - start) * S;
      while (i < buyers.length && buyers[i]!.atMs <= simNow) {
        const b = buyers[i++]!;
        // More than a simulated second behind: the machine cannot keep the pace.
        if (simNow - b.atMs > 1000) late++;
        for (const v of variants) track(buy(v, b));
        served++;
        while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      }
      if (nextTill <= simNow) {
        for (const v of variants) track(postTill(v));
        nextTill += TILL_BATCH_MS;
        if (nextTill > durationMs && i >= buyers.length) break;
      }
      const next = Math.min(buyers[i]?.atMs ?? Number.POSITIVE_INFINITY, nextTill);
      await sleep(Math.max(1, Math.min(50, (next - simNow) / S)));
    }
    await Promise.all(inFlight);
    // The last quarter's till sales.
    await Promise.all(variants.map((v) => postTill(v)));
  } finally {
    clearInterval(ticker);
    bar.update(o.minutes, { served, inflight: inFlight.size, late, errors });
    bar.stop();
  }
  if (errors) process.stdout.write(`  ${errors} buyers could not be served (errors above): they are not counted\n`);
  if (late) process.stdout.write(`  ${late} buyers came more than a simulated second late: the machine could not keep this pace (lower --time-scale)\n`);
}

/** Waits until intake took in every order the marketplaces accepted and no channel has a push left, for at most `seconds`. */
async function drain(system: BenchSystem, gateway: Gql, variants: Variant[], seconds: number): Promise<void> {
  const ds = system.marketplacesDataSource;
  const channels = variants.flatMap((v) => [...v.marketplaces.values()].map((m) => m.channelId));
  const accepted = variants.reduce((n, v) => n + v.sales.filter((s) => s.marketplaceOrderId).length, 0);
  const deadline = Date.now() + seconds * 1000;
  const bar = progressBar('Settling    |{bar}| {value}/{total} marketplace orders taken in | pushes left {backlog}');
  say(`Settling: waiting for intake to take in every marketplace order and for every push (at most ${seconds} s)…`);
  bar.start(accepted, 0, { backlog: '?' });
  try {
    for (;;) {
      const [row] = await ds.query(`SELECT COUNT(*) AS n FROM marketplace_orders WHERE status <> 'RECEIVED' AND channel_id IN (${channels.map(() => '?').join(',')})`, channels);
      let backlog = 0;
      for (const c of channels) backlog += (await gateway(`query($c: ID!) { channel(id: $c) { marketplaceSync { backlog } } }`, { c })).channel.marketplaceSync.backlog;
      bar.update(Number(row.n), { backlog });
      if ((Number(row.n) >= accepted && backlog === 0) || Date.now() > deadline) break;
      await sleep(1000);
    }
  } finally {
    bar.stop();
  }
}

/** When our stock took each marketplace sale, what Omnistock recorded as oversold, and when each marketplace applied each quantity. */
async function measure(system: BenchSystem, control: SimulatorClient, variants: Variant[]): Promise<void> {
  const ds = system.marketplacesDataSource;
  for (const v of variants) {
    const byChannel = new Map([...v.marketplaces].map(([kind, m]) => [m.channelId, kind]));
    const rows: { channel_id: string; marketplace_order_id: string; status: string; updated_at: Date; oversold_units: number | null }[] = await ds.query(
      `SELECT channel_id, marketplace_order_id, status, updated_at, oversold_units FROM marketplace_orders WHERE channel_id IN (${[...byChannel.keys()].map(() => '?').join(',')})`,
      [...byChannel.keys()],
    );
    const taken = new Map(rows.filter((r) => r.status !== 'RECEIVED').map((r) => [`${byChannel.get(r.channel_id)}\n${r.marketplace_order_id}`, new Date(r.updated_at).getTime()]));
    for (const kind of MARKETPLACES) v.recorded.set(kind, rows.filter((r) => byChannel.get(r.channel_id) === kind && r.status === 'OVERSOLD').reduce((n, r) => n + (r.oversold_units ?? 0), 0));
    for (const s of v.sales) if (s.marketplaceOrderId) s.recordedAt = taken.get(`${s.seller}\n${s.marketplaceOrderId}`);
    for (const [kind, m] of v.marketplaces) v.applied.set(kind, await control.appliedAt(kind, m.account));
  }
}

interface Row {
  name: string;
  tally: Tally;
  recorded: number | null;
  /** From a sale on this channel to every other channel showing it (marketplace seconds). */
  reach: number[];
  /** From a sale on this channel to our stock taking it. */
  heard: number[];
  /** From a sale elsewhere reaching our stock to this marketplace applying a quantity after it. */
  told: number[];
  unrecorded: number;
}

/** Per channel: the tallies, and the times that make up a sale reaching every channel, in marketplace seconds. */
function rowsOf(v: Variant, S: number): Row[] {
  // In marketplace time: the clock's milliseconds times the scale, in seconds.
  const simSeconds = (ms: number) => (ms * S) / 1000;
  const rows = new Map<Seller, Row>(
    SELLERS.map((seller) => [
      seller,
      { name: seller, tally: v.tallies.get(seller)!, recorded: MARKETPLACES.includes(seller as MarketplaceKind) ? v.recorded.get(seller as MarketplaceKind)! : null, reach: [], heard: [], told: [], unrecorded: 0 },
    ]),
  );
  for (const s of v.sales) {
    const row = rows.get(s.seller)!;
    if (s.recordedAt === undefined) {
      row.unrecorded++;
      continue;
    }
    const sku = v.skus[s.sku]!;
    const times = new Map(MARKETPLACES.map((k) => [k, v.applied.get(k)?.get(sku) ?? []] as const));
    row.reach.push(simSeconds(reachedEveryChannelAt(s.recordedAt, s.seller, times) - s.at));
    row.heard.push(simSeconds(s.recordedAt - s.at));
    for (const [kind, applied] of times) {
      const first = kind === s.seller ? undefined : applied.find((t) => t >= s.recordedAt!);
      if (first !== undefined) rows.get(kind)!.told.push(simSeconds(first - s.recordedAt));
    }
  }
  const all = [...rows.values()];
  return [
    ...all,
    {
      name: 'total',
      tally: all.map((r) => r.tally).reduce(addTally, emptyTally()),
      recorded: [...v.recorded.values()].reduce((a, b) => a + b, 0),
      reach: all.flatMap((r) => r.reach),
      heard: all.flatMap((r) => r.heard),
      told: all.flatMap((r) => r.told),
      unrecorded: all.reduce((n, r) => n + r.unrecorded, 0),
    },
  ];
}

const pct = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(2)}%` : '-');
const secs = (s: number) => (Number.isNaN(s) ? '-' : s < 10 ? s.toFixed(1) : s.toFixed(0));

function report(variants: Variant[], S: number): void {
  const head = ['channel', 'units sold', 'oversold', 'of sold', 'lost sales', 'of asked', 'recorded oversold', 'reach p50 s', 'reach p99 s', 'heard p50 s', 'told p50 s', 'told p99 s'];
  const summaries: { name: string; total: Row }[] = [];
  process.stdout.write(
    `\nPer channel, judged against the real shelf. Times in marketplace seconds (the clock's times ${S}): reach, from a sale on the channel to every other channel showing it; ` +
      `heard, from the sale to our stock taking it; told, from a sale elsewhere reaching our stock to this marketplace applying a quantity after it. ` +
      `"Recorded oversold": the units Omnistock's intake itself recorded as OVERSOLD.\n`,
  );
  for (const v of variants) {
    const rows = rowsOf(v, S);
    const body = rows.map((r) => [
      r.name,
      String(r.tally.sold),
      String(r.tally.oversold),
      pct(r.tally.oversold, r.tally.sold),
      String(r.tally.lost),
      pct(r.tally.lost, r.tally.sold + r.tally.lost),
      r.recorded === null ? '-' : String(r.recorded),
      secs(percentile(r.reach, 50)),
      secs(percentile(r.reach, 99)),
      secs(percentile(r.heard, 50)),
      secs(percentile(r.told, 50)),
      secs(percentile(r.told, 99)),
    ]);
    process.stdout.write(`\n${v.strategy.name}\n${renderTable(head, body)}\n`);
    const total = rows.at(-1)!;
    if (total.unrecorded) process.stdout.write(`  ${total.unrecorded} sales never reached our stock within the settling time (not in the reach figures)\n`);
    summaries.push({ name: v.strategy.name, total });
  }
  const statics = summaries.filter((s) => s.name.startsWith('static'));
  const cost = (s: { total: Row }) => s.total.tally.oversold + s.total.tally.lost;
  const best = statics.length ? statics.reduce((a, b) => (cost(b) < cost(a) ? b : a)) : null;
  const body = summaries.map((s) => [
    s.name + (s === best ? ' (best static)' : ''),
    String(s.total.tally.sold),
    `${s.total.tally.oversold} (${pct(s.total.tally.oversold, s.total.tally.sold)})`,
    `${s.total.tally.lost} (${pct(s.total.tally.lost, s.total.tally.sold + s.total.tally.lost)})`,
    secs(percentile(s.total.reach, 50)),
    secs(percentile(s.total.reach, 99)),
  ]);
  process.stdout.write(
    `\nIn total (marketplace time: the clock's seconds times ${S}; "lost sales": units of buyers turned away while the shelf held them, of units sold and lost; the best static buffer has the fewest units oversold and lost)\n` +
      `${renderTable(['strategy', 'units sold', 'oversold', 'lost sales', 'reach p50 s', 'reach p99 s'], body)}\n`,
  );
  const protective = summaries.find((s) => s.name === 'protective')!;
  const t = protective.total.tally;
  process.stdout.write(
    `\nAim: protective oversells under 0.1% of units sold (${pct(t.oversold, t.sold)}), loses under 2% of sales (${pct(t.lost, t.sold + t.lost)})` +
      (best ? `, and beats the best static buffer on both (oversold ${best.total.tally.oversold} → ${t.oversold}, lost ${best.total.tally.lost} → ${t.lost}).\n` : '.\n'),
  );
}
