import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from './queues.js';
import { pushQueueName } from '../subgraphs/marketplaces/services/queues.js';
import { waitFor } from './events.js';
import { KINDS, marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator, type MarketplaceChannel } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import type { OrdersStack } from './orders-fixture.js';
import { PrivateRedis } from './private-redis.js';
import { forceClusterKeyLayout } from '../lib/redis-keys.js';
import { startStack } from './stack.js';
import { serviceArgs } from '../scripts/system.js';

/**
 * Marketplace sync across crashes: a jobs process killed (SIGKILL) while a batch is on its way, and
 * a Redis restart that loses every queue, stream and bucket (our Redis keeps nothing on disk). Both
 * must end with every marketplace holding our final available-to-sell. The test runs a Redis server
 * of its own, so restarting it disturbs no other test file. Limits are scaled up 360x (Walmart's 10
 * feeds an hour become one a second) on both sides, so the suite does not wait for an hourly budget.
 */

const RATE_SCALE = 360;
let redis: PrivateRedis;
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let jobs: ChildProcess | undefined;
let env: Record<string, string>;
/** The jobs processes' last log lines, printed when a test fails (what they did is not otherwise kept). */
const jobsLog: string[] = [];
let store: string;
let channels: MarketplaceChannel[];
let skus: string[];

/** The jobs process (compiled, as production runs it) on the stack's databases and Redis; resolves once it is ready. */
async function startJobsProcess(): Promise<void> {
  const child = spawn(process.execPath, serviceArgs('jobs'), { env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  jobs = child;
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      jobsLog.push(line);
      if (jobsLog.length > 300) jobsLog.shift();
      if (line.includes('"jobs listening"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the jobs process exited with ${code} before listening`)));
  });
}

async function killJobsProcess(): Promise<void> {
  const child = jobs;
  jobs = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** A receipt of `quantity` for every SKU, one request. */
async function receiveAll(quantity: number): Promise<void> {
  await w.ok(`mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { __typename } }`, {
    inputs: skus.map((sku) => ({ idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: store, quantity })),
  });
}

async function allConverged(): Promise<void> {
  for (const c of channels) await w.converged(c, skus, 60_000);
}

beforeAll(async () => {
  // A Redis server of its own, which it restarts: a single server even in a Redis Cluster run
  // (OMNISTOCK_TEST_REDIS=cluster), keys laid out for it here and in the jobs processes it spawns.
  forceClusterKeyLayout(false);
  redis = await PrivateRedis.create();
  secrets = await secretsDir();
  sim = await startSimulator(RATE_SCALE);
  const base = await startStack({ jobs: 'external', env: { ...marketplaceEnv(secrets.dir), REDIS_URL: redis.url, REDIS_CLUSTER_NODES: '' } });
  stack = { ...base, inventory: base.subgraphs.inventory.dataSource, orders: base.subgraphs.orders.dataSource };
  env = {
    ...marketplaceEnv(secrets.dir),
    DB_PREFIX: stack.cfg.DB_PREFIX,
    REDIS_KEY_PREFIX: stack.cfg.REDIS_KEY_PREFIX,
    REDIS_URL: stack.cfg.REDIS_URL,
    REDIS_CLUSTER_NODES: '',
    JOBS_PORT: '0',
    HOST: '127.0.0.1',
    MARKETPLACE_INVENTORY_URL: stack.subgraphs.inventory.url,
    ORDERS_INVENTORY_URL: stack.subgraphs.inventory.url,
    MARKETPLACE_ORDERS_URL: stack.subgraphs.orders.url,
    MARKETPLACE_INTAKE_POLL_MS: '1000',
  };
  await startJobsProcess();
  w = new MarketplaceWorld(stack, sim, secrets.dir, RATE_SCALE);
  store = await w.location();
  channels = await Promise.all(KINDS.map((kind) => w.marketplaceChannel(kind, [store], kind === 'WALMART' ? { lingerMs: 300 } : undefined)));
  await w.replicated([store], channels.map((c) => c.channelId));
  skus = await Promise.all(Array.from({ length: 30 }, () => w.item()));
  await receiveAll(10);
  await allConverged();
}, 120_000);

afterEach(({ task }) => {
  if (task.result?.state === 'fail') process.stderr.write(`the jobs processes' last ${jobsLog.length} log lines:\n${jobsLog.join('\n')}\n`);
});

afterAll(async () => {
  forceClusterKeyLayout(undefined);
  await killJobsProcess();
  await stack?.close();
  await sim?.close();
  await redis?.stop();
  await secrets?.remove();
});

describe('marketplace sync across crashes', () => {
  it("a marketplace's own sale taken in just before Redis lost its data: the resync tells it ours again, though a cap kept ours unchanged", async () => {
    const { channel: capped, sku } = await w.cappedEbaySku(store, 5, 20);
    // The account throttles every push (each asking for 20 s) until the faults are cleared: the one intake asks for waits in Redis.
    sim.inject('EBAY', capped.account, { type: 'throttle', count: 1_000_000, retryAfterMs: 20_000 });
    const { orderId } = sim.placeOrder('EBAY', capped.account, [{ sku, quantity: 2 }]);
    expect(sim.quantity('EBAY', capped.account, sku)).toBe(3);
    const INTAKE = `query($c: ID!) { channel(id: $c) { marketplaceSync { orders(first: 10) { marketplaceOrderId status } } } }`;
    await waitFor('the order taken in', async () => (await w.ok(INTAKE, { c: capped.channelId })).channel.marketplaceSync.orders.some((o: { marketplaceOrderId: string; status: string }) => o.marketplaceOrderId === orderId && o.status === 'PLACED'), 60_000);
    await waitFor('the push intake asked for throttled', async () => (await w.sync(capped.channelId)).throttleCount > 0, 60_000);
    // (First in the file: no resync or drift repair of an earlier test's Redis restart pushes meanwhile.)
    // It no longer counts on the marketplace showing what it was last told: a resync pushes it whatever Redis lost.
    expect((await w.sync(capped.channelId, [sku])).skus.edges[0].node.lastPushedQuantity).toBeNull();
    // Ours is still the cap (18 left): no stock event asks for a push, and the one intake queued is lost.
    expect((await w.ats(capped.channelId, [sku])).get(sku)).toBe(5);
    expect(sim.quantity('EBAY', capped.account, sku)).toBe(3);
    await redis.stop();
    await redis.start();
    sim.clearFaults();
    await waitFor('eBay showing the cap again', async () => sim.quantity('EBAY', capped.account, sku) === 5, 90_000);
  }, 240_000);

  it('a jobs process killed mid-batch: the next one pushes what it held, and every marketplace ends on our quantity', async () => {
    // Every call now hangs for 3 s at eBay and Shopify: the kill lands while their batches are on the wire.
    sim.inject('EBAY', '*', { type: 'latency', ms: 3000 });
    sim.inject('SHOPIFY', '*', { type: 'latency', ms: 3000 });
    await receiveAll(5);
    const ebay = channels.find((c) => c.kind === 'EBAY')!;
    const queue = openQueue(stack.cfg, pushQueueName('EBAY', ebay.account));
    try {
      await waitFor('an eBay batch in flight', async () => (await queue.getActiveCount()) > 0);
    } finally {
      await queue.close();
    }
    await killJobsProcess();
    sim.clearFaults();
    await receiveAll(1);
    await startJobsProcess();
    await allConverged();
    expect((await w.ats(channels[0]!.channelId, skus)).get(skus[0]!)).toBe(16);
    expect(sim.violations(), JSON.stringify(sim.violationLog())).toBe(0);
  });

  it('a Redis restart that loses every queue and stream: a resync brings every marketplace to our quantity', async () => {
    await receiveAll(2);
    await redis.stop();
    // Written while Redis is away: the outbox keeps the events until the relay can publish them.
    await receiveAll(3);
    await sleep(500);
    await redis.start();
    await receiveAll(4);
    await allConverged();
    expect((await w.ats(channels[0]!.channelId, skus)).get(skus[0]!)).toBe(25);
    expect(sim.violations(), JSON.stringify(sim.violationLog())).toBe(0);
  });
});
