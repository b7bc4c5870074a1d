import { randomUUID } from 'node:crypto';
import { Job, Queue, type JobType } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from './queues.js';
import { pushQueueName } from '../subgraphs/marketplaces/services/queues.js';
import { errorCode } from './client.js';
import { waitFor } from './events.js';
import { KINDS, marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator, type MarketplaceChannel } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { startOrdersStack, type OrdersStack } from './orders-fixture.js';
import { runScript } from './process.js';

/**
 * Marketplace sync end to end: stock changes through the gateway, the jobs process pushing to the
 * marketplace simulator, state read back through the gateway. The simulator counts every request
 * that exceeds a documented limit; the suite ends with none.
 */

let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let store: string;
const COALESCE_MS = 1000;
const HEALTH = `query($id: ID!) { channel(id: $id) { marketplaceSync { healthy problem { code message since } deadLetterCount } } }`;

beforeAll(async () => {
  secrets = await secretsDir();
  sim = await startSimulator();
  stack = await startOrdersStack({ ...marketplaceEnv(secrets.dir), MARKETPLACE_COALESCE_MS: String(COALESCE_MS) });
  w = new MarketplaceWorld(stack, sim, secrets.dir);
  store = await w.location();
});
afterEach(() => sim.clearFaults());
afterAll(async () => {
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
});

/** One channel per marketplace fed by `sources`; Walmart lingers less than its documented 5 s so the suite stays short. */
async function allMarketplaces(sources: string[]): Promise<MarketplaceChannel[]> {
  const channels = await Promise.all(KINDS.map((kind) => w.marketplaceChannel(kind, sources, kind === 'WALMART' ? { lingerMs: 500 } : undefined)));
  await w.replicated(sources, channels.map((c) => c.channelId));
  return channels;
}

describe('marketplace sync', () => {
  it('pushes 1,000 changes of one SKU in a second to each marketplace as a few calls with the final quantity', async () => {
    // Ten stores counting the SKU at once: 1,000 changes of the channel's available-to-sell, the
    // level rows of one store being written one after another.
    const stores = [store, ...(await Promise.all(Array.from({ length: 9 }, () => w.location())))];
    const channels = await allMarketplaces(stores);
    const sku = await w.item();
    await w.receive(sku, store, 100);
    for (const c of channels) await w.converged(c, [sku]);
    const before = channels.map((c) => sim.calls(c.kind, c.account).push);

    const counts = (s: number) => Array.from({ length: 100 }, (_, i) => 10 * s + (i % 7));
    const burstStart = Date.now();
    await Promise.all(stores.map((location, s) => w.cycleCounts(sku, location, counts(s))));
    // Coalescing sends at most one push per coalescing window while the burst lasts (about a
    // second on an idle machine, longer on a loaded one), then the final one. Without it Amazon alone
    // would push at its 5/s for as long as the changes last, and eBay and Shopify once per change read.
    const windows = Math.ceil((Date.now() - burstStart) / COALESCE_MS);
    for (const c of channels) await w.converged(c, [sku]);

    const ours = (await w.ats(channels[0]!.channelId, [sku])).get(sku);
    expect(ours).toBe(stores.reduce((sum, _, s) => sum + counts(s).at(-1)!, 0));
    channels.forEach((c, i) => {
      expect(sim.quantity(c.kind, c.account, sku), c.kind).toBe(ours);
      const calls = sim.calls(c.kind, c.account).push - before[i]!;
      expect(calls, `${c.kind} calls for 1,000 changes`).toBeGreaterThanOrEqual(1);
      expect(calls, `${c.kind} calls for 1,000 changes in ${windows} coalescing window(s)`).toBeLessThanOrEqual(windows + 2);
      expect(sim.violations(c.kind, c.account), c.kind).toBe(0);
    });
    // The last events may still be waiting out their coalescing window, with nothing new to push.
    const state = await waitFor('the SKU no longer pending', async () => {
      const sync = await w.sync(channels[0]!.channelId, [sku]);
      return sync.skus.edges[0].node.pending ? null : sync;
    });
    expect(state.skus.edges[0].node).toMatchObject({ sku, pending: false, lastPushedQuantity: ours, lastError: null });
    expect(state.skus.edges[0].node.lastPushedSequence).toBe(state.skus.edges[0].node.lastEventSequence);
    expect(state.backlog).toBe(0);
    expect(state.lagP95Ms).toBeGreaterThanOrEqual(0);
  });

  it('fills batches: 60 SKUs waiting reach eBay in calls of up to 25 and Walmart in one feed', async () => {
    // In stock before the channels exist: only their resyncs push it, so its arrival shows each resync
    // ran (a backlog of 0 alone is also true before one starts, and a resync's pushes for the store's
    // other SKUs would then land in the paused queues below).
    const probe = await w.item();
    await w.replicated([store], []);
    await w.receive(probe, store, 1);
    const [ebay, walmart] = await Promise.all([w.marketplaceChannel('EBAY', [store]), w.marketplaceChannel('WALMART', [store], { lingerMs: 1000 })]);
    await w.replicated([store], [ebay.channelId, walmart.channelId]);
    await Promise.all([w.converged(ebay, [probe]), w.converged(walmart, [probe])]);
    await waitFor('the resyncs of the new channels', async () => (await w.sync(ebay.channelId)).backlog === 0 && (await w.sync(walmart.channelId)).backlog === 0);
    const skus = await Promise.all(Array.from({ length: 60 }, () => w.item()));
    const before = { ebay: sim.calls('EBAY', ebay.account).push, walmart: sim.calls('WALMART', walmart.account).push };
    // The queues held until all 60 jobs are queued, then their coalescing delays cut short: how fast
    // the change feed queues them on a loaded machine is not what this test is about, filling calls from what waits is.
    const queues = [ebay, walmart].map((c) => openQueue(stack.cfg, pushQueueName(c.kind, c.account)));
    // A job for every one of the 60 (another of the account's jobs, say a late repeat of the
    // probe, may wait beside them and go in the same calls): how many SKUs each queue held.
    const queued = new Map<Queue, number>();
    try {
      await Promise.all(queues.map((q) => q.pause()));
      await w.ok(`mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { __typename } }`, {
        inputs: skus.map((sku, i) => ({ idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: store, quantity: i + 1 })),
      });
      let seen: Record<string, number> = {};
      const ready = async (q: Queue, states: JobType[]) => {
        seen = await q.getJobCounts(...states, 'active', 'completed', 'failed');
        const waiting = new Set((await q.getJobs(states)).map((job) => (job.data as { sku: string }).sku));
        queued.set(q, waiting.size);
        return skus.every((sku) => waiting.has(sku));
      };
      for (const q of queues) {
        // 60 events through the relay and the change feed: generous on a loaded machine (a bound, not a measure).
        await waitFor(`jobs for the 60 SKUs queued in ${q.name}`, () => ready(q, ['wait', 'prioritized', 'delayed']), 45_000).catch((err: Error) => {
          throw new Error(`${err.message}; job counts ${JSON.stringify(seen)}`);
        });
        await q.promoteJobs();
        await waitFor(`the 60 jobs ready in ${q.name}`, () => ready(q, ['wait', 'prioritized']));
      }
    } finally {
      await Promise.all(queues.map((q) => q.resume().finally(() => q.close())));
    }
    await w.converged(ebay, skus);
    await w.converged(walmart, skus);
    expect(queued.get(queues[0]!)).toBeGreaterThanOrEqual(skus.length);
    expect(sim.calls('EBAY', ebay.account).push - before.ebay).toBe(Math.ceil(queued.get(queues[0]!)! / 25));
    expect(sim.calls('WALMART', walmart.account).push - before.walmart).toBe(1);
    expect(sim.violations('EBAY', ebay.account) + sim.violations('WALMART', walmart.account)).toBe(0);
  });

  it('pauses an account for the Retry-After of a 429 and then resumes, without failing the push', async () => {
    const ebay = await w.marketplaceChannel('EBAY', [store]);
    await w.replicated([store], [ebay.channelId]);
    const sku = await w.item();
    sim.inject('EBAY', ebay.account, { type: 'throttle', count: 2, retryAfterMs: 700 });
    await w.receive(sku, store, 7);
    await w.converged(ebay, [sku]);
    expect(sim.calls('EBAY', ebay.account).throttled).toBe(2);
    const state = await w.sync(ebay.channelId, [sku]);
    expect(state.throttleCount).toBe(2);
    expect(state.deadLetterCount).toBe(0);
    expect(state.skus.edges[0].node.lastError).toBeNull();
    expect(sim.violations('EBAY', ebay.account)).toBe(0);
  });

  it('retries a 5xx with backoff until the push succeeds', async () => {
    const amazon = await w.marketplaceChannel('AMAZON', [store]);
    await w.replicated([store], [amazon.channelId]);
    const sku = await w.item();
    sim.inject('AMAZON', amazon.account, { type: 'error', status: 503, count: 2 });
    await w.receive(sku, store, 11);
    await w.converged(amazon, [sku]);
    const state = await w.sync(amazon.channelId, [sku]);
    expect(state.deadLetterCount).toBe(0);
    expect(state.skus.edges[0].node).toMatchObject({ pending: false, lastPushedQuantity: 11, lastError: null });
  });

  it('dead-letters a validation error with the marketplace message and replays it once the cause is fixed', async () => {
    // The new connection's resync pushes every SKU the store holds: it must be over before the SKU
    // exists, or it may push (and dead-letter) the SKU again after the letter below. Only the resync
    // pushes the probe, in stock before the channel exists, so its arrival shows the resync ran.
    const probe = await w.item();
    await w.receive(probe, store, 1);
    const shopify = await w.marketplaceChannel('SHOPIFY', [store]);
    await w.replicated([store], [shopify.channelId]);
    await w.converged(shopify, [probe]);
    await waitFor('the resync of the new channel', async () => (await w.sync(shopify.channelId)).backlog === 0);
    const sku = await w.item();
    sim.rejectSku('SHOPIFY', shopify.account, sku, 'Inventory item is not stocked at this location');
    await w.receive(sku, store, 5);
    const letter = await waitFor('the dead letter', async () => (await w.sync(shopify.channelId)).deadLetters.edges.find((e: any) => e.node.sku === sku)?.node);
    expect(letter.message).toContain('not stocked at this location');
    expect(letter.quantity).toBe(5);
    expect(sim.quantity('SHOPIFY', shopify.account, sku)).toBeUndefined();
    const state = await w.sync(shopify.channelId, [sku]);
    expect(state.deadLetterCount).toBe(1);
    expect(state.skus.edges[0].node).toMatchObject({ pending: false, lastPushedQuantity: null });
    expect(state.skus.edges[0].node.lastError).toContain('not stocked');

    sim.acceptSku('SHOPIFY', shopify.account, sku);
    await w.receive(sku, store, 2);
    const replay = await w.gql(`mutation($c: ID!) { replayDeadLetters(channelId: $c) { replayed { id sku replayedAt } } }`, { c: shopify.channelId });
    expect(replay.errors).toBeUndefined();
    expect(replay.data!.replayDeadLetters.replayed).toEqual([expect.objectContaining({ id: letter.id, sku })]);
    await w.converged(shopify, [sku]);
    expect(sim.quantity('SHOPIFY', shopify.account, sku)).toBe(7);
    expect((await w.sync(shopify.channelId)).deadLetterCount).toBe(0);
  });

  it('repairs drift: a quantity changed at the marketplace is recorded and corrected', async () => {
    const shop = await w.location();
    const ebay = await w.marketplaceChannel('EBAY', [shop]);
    await w.replicated([shop], [ebay.channelId]);
    const skus = [await w.item(), await w.item()];
    for (const sku of skus) await w.receive(sku, shop, 9);
    await w.converged(ebay, skus);
    await waitFor('the pushes recorded', async () => (await w.sync(ebay.channelId)).backlog === 0);
    sim.setQuantity('EBAY', ebay.account, skus[0]!, 3);

    const res = await w.gql(`mutation($c: ID!) { requestDriftRepair(channelId: $c) }`, { c: ebay.channelId });
    expect(res.errors).toBeUndefined();
    const run = await waitFor('a drift run', async () => (await w.sync(ebay.channelId)).driftRuns.edges[0]?.node);
    // The resync of the new connection pushed every SKU inventory knows (0 for the ones the shop lacks): all are checked.
    expect(run).toMatchObject({ drifted: 1, corrected: 1, error: null, lines: [{ sku: skus[0], ours: 9, theirs: 3 }] });
    expect(run.checked).toBeGreaterThanOrEqual(2);
    await w.converged(ebay, skus);
  });

  it('refuses bad connection input with BAD_USER_INPUT and writes nothing', async () => {
    const web = await w.channel([store]);
    const notMarketplace = await w.gql(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`, {
      id: web,
      input: { accountId: 'x', baseUrl: 'http://127.0.0.1:1', secretName: 'x' },
    });
    expect(errorCode(notMarketplace)).toBe('BAD_USER_INPUT');
    const amazon = await w.marketplaceChannel('AMAZON', [store]);
    for (const input of [
      { accountId: 'bad account', baseUrl: 'http://127.0.0.1:1', secretName: 'x', settings: { marketplaceIds: ['A1'] } },
      { accountId: 'a', baseUrl: 'ftp://example.com', secretName: 'x', settings: { marketplaceIds: ['A1'] } },
      { accountId: 'a', baseUrl: 'http://127.0.0.1:1', secretName: 'x' },
      { accountId: 'a', baseUrl: 'http://127.0.0.1:1', secretName: 'x', settings: { marketplaceIds: ['A1'] }, ratePolicy: { capacity: 5, refillPerSecond: 5, maxBatch: 2, lingerMs: 0 } },
    ]) {
      const res = await w.gql(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`, { id: amazon.channelId, input });
      expect(errorCode(res), JSON.stringify(input)).toBe('BAD_USER_INPUT');
    }
    const connection = await w.ok(`query($id: ID!) { channel(id: $id) { marketplaceConnection { accountId secretName ratePolicy { maxBatch } ratePolicyOverridden } } }`, { id: amazon.channelId });
    expect(connection.channel.marketplaceConnection).toEqual({ accountId: amazon.account, secretName: amazon.account, ratePolicy: { maxBatch: 1 }, ratePolicyOverridden: false });
  });

  it('holds the pushes of a connection whose secret is missing: unhealthy in GraphQL, the CLI and /readyz, no dead letters, pushed once the secret is there', async () => {
    const shop = await w.location();
    const ebay = await w.marketplaceChannel('EBAY', [shop], undefined, { secret: false });
    await w.replicated([shop], [ebay.channelId]);
    const skus = [await w.item(), await w.item()];
    await w.receive(skus[0]!, shop, 3);
    await w.receive(skus[1]!, shop, 4);

    const health = async () => (await w.ok(HEALTH, { id: ebay.channelId })).channel.marketplaceSync;
    const unhealthy = await waitFor('the connection unhealthy', async () => ((await health()).healthy === false ? health() : null));
    expect(unhealthy.problem).toMatchObject({ code: 'SECRET_MISSING', message: expect.stringContaining(`"${ebay.account}"`), since: expect.any(String) });

    // Its work waits: both SKUs pending, their push jobs still queued.
    const queue = openQueue(stack.cfg, pushQueueName('EBAY', ebay.account));
    try {
      await waitFor('both SKUs pending with a queued push job each', async () => {
        const sync = await w.sync(ebay.channelId, skus);
        if (!sync.skus.edges.every((e: any) => e.node.pending) || sync.skus.edges.length !== 2) return false;
        for (const sku of skus) {
          const id = await queue.getDeduplicationJobId(`${ebay.channelId}:${sku}`);
          if (!id || !(await Job.fromId(queue, id))) return false;
        }
        return true;
      });
    } finally {
      await queue.close();
    }
    const held = await w.sync(ebay.channelId, skus);
    expect(held.deadLetterCount).toBe(0);
    expect(held.deadLetters.edges).toEqual([]);
    // The listing's order is the marketplace state's, not the order the SKUs were made in.
    const heldSkus = held.skus.edges.map((e: any) => e.node).sort((a: { sku: string }, b: { sku: string }) => a.sku.localeCompare(b.sku));
    expect(heldSkus).toEqual([...skus].sort().map((sku) => expect.objectContaining({ sku, pending: true, lastPushedQuantity: null, lastError: null })));
    expect((await health()).healthy).toBe(false);

    const readyz = stack.jobs!.url.replace(/\/healthz$/, '/readyz');
    const degraded = await fetch(readyz);
    // Still ready: the jobs process does the rest of its work, and a restart would not bring the secret.
    expect(degraded.status).toBe(200);
    const body = await degraded.json();
    expect(body.status).toBe('degraded');
    expect(body.checks).toMatchObject({ mysql: 'ok', redis: 'ok' });
    expect(body.checks.marketplace).toContain(`${ebay.code} SECRET_MISSING`);

    const env = { DB_PREFIX: stack.cfg.DB_PREFIX, REDIS_KEY_PREFIX: stack.cfg.REDIS_KEY_PREFIX, LOG_LEVEL: 'warn' };
    const cli = await runScript('scripts/cli.ts', ['marketplace', 'status'], env, 50_000);
    expect(cli.code, cli.stderr).toBe(0);
    const line = cli.stdout.split('\n').find((l) => l.startsWith(`${ebay.code} `));
    expect(line).toMatch(new RegExp(`^${ebay.code} \\(EBAY ${ebay.account}\\): UNHEALTHY SECRET_MISSING since \\S+ \\(.*${ebay.account}.*\\), its pushes wait; backlog \\d+, .*dead letters 0,`));
    const json = await runScript('scripts/cli.ts', ['marketplace', 'status', '--json'], env, 50_000);
    expect(JSON.parse(json.stdout).find((r: any) => r.channel === ebay.code)).toMatchObject({ healthy: false, deadLetters: 0, problem: { code: 'SECRET_MISSING' } });

    // The secret appears: the connection recovers by itself and the held SKUs reach the marketplace.
    await w.writeSecret(ebay);
    await w.converged(ebay, skus);
    expect(sim.quantity('EBAY', ebay.account, skus[0]!)).toBe(3);
    expect(sim.quantity('EBAY', ebay.account, skus[1]!)).toBe(4);
    const healthy = await waitFor('the connection healthy', async () => ((await health()).healthy ? health() : null));
    expect(healthy).toEqual({ healthy: true, problem: null, deadLetterCount: 0 });
    const ready = await (await fetch(readyz)).json();
    expect(ready).toMatchObject({ status: 'ready', checks: { marketplace: 'ok' } });
    const after = await runScript('scripts/cli.ts', ['marketplace', 'status'], env, 50_000);
    expect(after.stdout.split('\n').find((l) => l.startsWith(`${ebay.code} `))).toMatch(/: healthy; backlog \d+, .*dead letters 0,/);
  });

  it("brings a rule change, units set aside for another channel and a location going offline to the marketplace once inventory applied them", async () => {
    const [ebay] = [await w.marketplaceChannel('EBAY', [store])];
    const web = await w.channel([store]);
    const dc = await w.location();
    const both = await w.marketplaceChannel('EBAY', [store, dc]);
    await w.replicated([store, dc], [ebay.channelId, web, both.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 10);
    await w.receive(sku, dc, 5);
    await w.converged(ebay, [sku]);
    await w.converged(both, [sku]);
    expect([sim.quantity('EBAY', ebay.account, sku), sim.quantity('EBAY', both.account, sku)]).toEqual([10, 15]);
    // A buffer on the channel's rule: a resync once inventory has the rule (not before, when it would push 10 again).
    await w.ok(`mutation($id: ID!, $input: AllocationRuleInput!) { setAllocationRule(channelId: $id, input: $input) { id } }`, {
      id: ebay.channelId,
      input: { sources: [{ locationId: store, priority: 1 }], buffer: { kind: 'UNITS', value: 3 } },
    });
    await waitFor('eBay shown 10 less the buffer', async () => sim.quantity('EBAY', ebay.account, sku) === 7, 30_000);
    // 4 units set aside for the web storefront, which shares the store: neither eBay channel may take the store's last 4.
    await w.ok(`mutation($c: ID!, $s: String!) { setChannelSetAside(channelId: $c, sku: $s, units: 4) { units } }`, { c: web, s: sku });
    await waitFor('the set-aside pushed', async () => sim.quantity('EBAY', ebay.account, sku) === 3 && sim.quantity('EBAY', both.account, sku) === 11, 30_000);
    // The warehouse goes offline: the channel it feeds is resynced once inventory knows.
    await w.ok(`mutation($id: ID!, $input: UpdateLocationInput!) { updateLocation(id: $id, input: $input) { id } }`, { id: dc, input: { status: 'OFFLINE' } });
    await waitFor('the offline warehouse pushed', async () => sim.quantity('EBAY', both.account, sku) === 6, 30_000);
  });

  it('never exceeded a documented limit', () => {
    expect(sim.violations(), JSON.stringify(sim.violationLog())).toBe(0);
  });
});
