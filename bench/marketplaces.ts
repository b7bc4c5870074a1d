import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_PUSH_POLICIES, scalePolicy } from '../subgraphs/marketplaces/connectors/policies.js';
import { MUTATION_COST } from '../subgraphs/marketplaces/connectors/shopify/push.js';
import type { MarketplaceKind, RatePolicy } from '../subgraphs/marketplaces/connectors/types.js';
import { spawnSimulator } from '../scripts/demo/marketplaces.js';
import { tokenFor } from '../tools/marketplace-simulator/index.js';
import { DC } from './stock.js';
import { renderTable } from './run.js';
import { SimulatorClient } from './simulator-client.js';
import { benchLogDir, call, startBenchSystem, stoppingOnSignal, type Endpoint, type Gql } from './system.js';

const KINDS: MarketplaceKind[] = ['AMAZON', 'EBAY', 'WALMART', 'SHOPIFY'];
export const MARKETPLACE_SETTINGS: Record<MarketplaceKind, Record<string, unknown>> = {
  AMAZON: { marketplaceIds: ['A1F83G8C2ARO7P'] },
  EBAY: {},
  WALMART: {},
  SHOPIFY: { locationId: 'gid://shopify/Location/1' },
};
const BENCH_SIMULATOR_PORT = 4130;
const sku = (i: number) => `SKU-${String(i).padStart(6, '0')}`;

interface Target {
  kind: MarketplaceKind;
  channelId: string;
  /** The channel's code: the secret names it. */
  code: string;
  account: string;
  policy: RatePolicy;
}

/**
 * Connects a marketplace channel to its account at the simulator, pushing at `policy`: the account's
 * credentials go to the secrets folder (MARKETPLACE_SECRETS_DIR) under the account's name, issued
 * for the channel's code.
 */
export async function connectToSimulator(gateway: Gql, sim: SimulatorClient, secrets: string, t: Target): Promise<void> {
  await writeFile(join(secrets, `${t.account}.json`), JSON.stringify({ kind: t.kind, accountId: t.account, channel: t.code, accessToken: tokenFor(t.kind, t.account) }));
  await gateway(`mutation($c: ID!, $i: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $c, input: $i) { id } }`, {
    c: t.channelId,
    i: { accountId: t.account, baseUrl: sim.baseUrl(t.kind, t.account), secretName: t.account, settings: MARKETPLACE_SETTINGS[t.kind], ratePolicy: t.policy },
  });
}

interface PhaseResult {
  kind: MarketplaceKind;
  convergedS: number;
  forcedS: number;
  calls: number;
  minCalls: number;
  violations: number;
}

/** Our available-to-sell of every SKU on a channel, 100 per call. */
export async function atsOf(inventory: Endpoint, channelId: string, skus: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < skus.length; i += 100) {
    const data = await call(inventory.url, `query($c: ID!, $s: [String!]!) { availability(channelId: $c, skus: $s, consistency: READ_YOUR_WRITES) { sku availableToSell } }`, { c: channelId, s: skus.slice(i, i + 100) }, inventory.headers);
    for (const a of data.availability as { sku: string; availableToSell: number }[]) out.set(a.sku, a.availableToSell);
  }
  return out;
}

/**
 * The time the limits force for `calls` calls from a full bucket: the first `capacity` go at once,
 * the rest at the refill rate (cost units for Shopify).
 */
function forcedSeconds(policy: RatePolicy, calls: number, costPerCall: number): number {
  return Math.max(0, calls * costPerCall - policy.capacity) / policy.refillPerSecond;
}

/**
 * Waits until each marketplace holds our available-to-sell of every SKU, timing each from `start`,
 * and counts the push calls it took against the fewest the batch limits allow.
 */
async function converge(opts: {
  sim: SimulatorClient;
  inventory: Endpoint;
  targets: Target[];
  skus: string[];
  start: number;
  callsBefore: Map<MarketplaceKind, number>;
  changesEndS: number;
  costPerCall: (kind: MarketplaceKind) => number;
  timeoutS: number;
}): Promise<PhaseResult[]> {
  const expected = new Map(await Promise.all(opts.targets.map(async (t) => [t.kind, await atsOf(opts.inventory, t.channelId, opts.skus)] as const)));
  const done = new Map<MarketplaceKind, number>();
  const deadline = Date.now() + opts.timeoutS * 1000;
  while (done.size < opts.targets.length && Date.now() < deadline) {
    for (const t of opts.targets) {
      if (done.has(t.kind)) continue;
      const ours = expected.get(t.kind)!;
      const theirs = await opts.sim.quantities(t.kind, t.account);
      if (opts.skus.every((s) => theirs.get(s) === ours.get(s))) done.set(t.kind, (Date.now() - opts.start) / 1000);
    }
    await sleep(250);
  }
  return Promise.all(
    opts.targets.map(async (t) => {
      const minCalls = Math.ceil(opts.skus.length / t.policy.maxBatch);
      const violations = await opts.sim.violations(t.kind, t.account);
      if (violations.violations) process.stdout.write(`  ${t.kind} violations: ${JSON.stringify(violations.log.slice(0, 3))}\n`);
      return {
        kind: t.kind,
        convergedS: done.get(t.kind) ?? Number.NaN,
        forcedS: Math.max(opts.changesEndS, forcedSeconds(t.policy, minCalls, opts.costPerCall(t.kind))),
        calls: (await opts.sim.pushCalls(t.kind, t.account)) - (opts.callsBefore.get(t.kind) ?? 0),
        minCalls,
        violations: violations.violations,
      };
    }),
  );
}

function print(title: string, rows: PhaseResult[]): void {
  const head = ['marketplace', 'converged s', 'limits force s', 'time ratio', 'calls', 'min calls', 'calls ratio', 'violations'];
  const body = rows.map((r) => [
    r.kind,
    Number.isNaN(r.convergedS) ? 'timeout' : r.convergedS.toFixed(1),
    r.forcedS.toFixed(1),
    Number.isNaN(r.convergedS) ? '-' : `${(r.convergedS / Math.max(r.forcedS, 0.1)).toFixed(2)}x`,
    String(r.calls),
    String(r.minCalls),
    `${(r.calls / r.minCalls).toFixed(2)}x`,
    String(r.violations),
  ]);
  process.stdout.write(`\n${title}\n${renderTable(head, body)}\n`);
}

/**
 * npm run bench -- marketplaces: four marketplace channels fed by the DC, connected to the local
 * simulator; first the initial sync of every SKU, then a burst of stock changes (receipts at the
 * DC, spread evenly over the SKUs). Each marketplace's limits (and our policies, identically) are
 * scaled by --rate-scale so the run takes minutes rather than Amazon's 33 at 5 requests/s.
 */
export async function benchMarketplaces(opts: { skus: number; changes: number; rateScale: number; timeoutSeconds: number }): Promise<void> {
  const simulator = await spawnSimulator({ port: BENCH_SIMULATOR_PORT, host: '127.0.0.1', logDir: benchLogDir(), rateScale: opts.rateScale });
  const sim = new SimulatorClient(simulator.url);
  const secrets = await mkdtemp(join(tmpdir(), 'omnistock-bench-secrets-'));
  process.stdout.write(`Seeding ${opts.skus} SKUs and starting the system…\n`);
  const system = await startBenchSystem({ skus: opts.skus, env: { MARKETPLACE_SECRETS_DIR: secrets, MARKETPLACE_REFRESH_MS: '500', MARKETPLACE_ALLOWED_HOSTS: '127.0.0.1' } });
  const stop = async () => {
    await system.stop();
    simulator.child.kill('SIGTERM');
    await rm(secrets, { recursive: true, force: true });
  };
  await stoppingOnSignal(stop, async () => {
    const gateway: Gql = (query, variables) => call(system.url('gateway'), query, variables, system.headers);
    const inventory = system.subgraph('inventory');
    await disconnectEarlierRuns(gateway);
    const run = randomUUID().slice(0, 6).toUpperCase();
    const targets: Target[] = [];
    for (const kind of KINDS) {
      const account = `bench-${kind.toLowerCase()}-${run.toLowerCase()}`;
      const policy = scalePolicy(DEFAULT_PUSH_POLICIES[kind], opts.rateScale);
      const code = `BENCH-${kind}-${run}`;
      const created = await gateway(`mutation($i: CreateChannelInput!) { createChannel(input: $i) { id } }`, {
        i: { code, name: `Bench ${kind}`, type: 'MARKETPLACE', marketplace: kind, allocationRule: { sources: [{ locationId: DC, priority: 1 }] } },
      });
      targets.push({ kind, channelId: created.createChannel.id, code, account, policy });
    }
    // Inventory must know the channels (their replicas) before the connections start the initial sync.
    for (const t of targets) {
      for (;;) {
        try {
          await atsOf(inventory, t.channelId, [sku(0)]);
          break;
        } catch {
          await sleep(200);
        }
      }
    }
    const skus = Array.from({ length: opts.skus }, (_, i) => sku(i));
    // Shopify charges points, not calls: the fewest calls still pay the mutation (SKU ids are cached after the initial sync).
    const costPerCall = (kind: MarketplaceKind) => (kind === 'SHOPIFY' ? MUTATION_COST : 1);
    process.stdout.write(`Limits x${opts.rateScale}: ${targets.map((t) => `${t.kind} ${t.policy.refillPerSecond.toFixed(2)}/s, burst ${t.policy.capacity}, batch ${t.policy.maxBatch}`).join('; ')}\n`);

    const syncStart = Date.now();
    const callsAtStart = new Map(await Promise.all(targets.map(async (t) => [t.kind, await sim.pushCalls(t.kind, t.account)] as const)));
    for (const t of targets) await connectToSimulator(gateway, sim, secrets, t);
    print(
      `Initial sync of ${opts.skus} SKUs`,
      await converge({ sim, inventory, targets, skus, start: syncStart, callsBefore: callsAtStart, changesEndS: 0, costPerCall, timeoutS: opts.timeoutSeconds }),
    );

    process.stdout.write(`\nBurst: ${opts.changes} stock changes over ${opts.skus} SKUs…\n`);
    const callsBefore = new Map(await Promise.all(targets.map(async (t) => [t.kind, await sim.pushCalls(t.kind, t.account)] as const)));
    const burstStart = Date.now();
    const batches: { sku: string; quantity: number }[][] = [];
    for (let i = 0; i < opts.changes; i += 1000) {
      batches.push(Array.from({ length: Math.min(1000, opts.changes - i) }, (_, j) => ({ sku: sku((i + j) % opts.skus), quantity: 1 + ((i + j) % 3) })));
    }
    let next = 0;
    // Four writers, each batch a different slice of SKUs, so the writes do not queue on the same rows.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          await call(
            inventory.url,
            `mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { __typename } }`,
            { inputs: batch.map((b) => ({ idempotencyKey: randomUUID(), type: 'RECEIPT', sku: b.sku, locationId: DC, quantity: b.quantity })) },
            inventory.headers,
          );
        }
      }),
    );
    const changesEndS = (Date.now() - burstStart) / 1000;
    process.stdout.write(`  changes written in ${changesEndS.toFixed(1)} s (${Math.round(opts.changes / changesEndS)}/s)\n`);
    const rows = await converge({ sim, inventory, targets, skus, start: burstStart, callsBefore, changesEndS, costPerCall, timeoutS: opts.timeoutSeconds });
    print(`Burst of ${opts.changes} changes (times from the first change; "limits force" = the longer of writing the changes and the fewest calls at the limits)`, rows);
    process.stdout.write(`\nAim: calls within 1.10x of the minimum, time within 1.10x of what the limits force, 0 violations.\n`);
    await disconnectEarlierRuns(gateway);
  });
}

/**
 * The bench database outlives a run: the channels of earlier runs (whose credentials were removed
 * with their run) are disconnected, so the jobs process does not keep pushing their SKUs or polling
 * their orders.
 */
async function disconnectEarlierRuns(gateway: Gql): Promise<void> {
  for (let after: string | null = null; ; ) {
    const data = await gateway(
      `query($after: String) { channels(first: 100, after: $after, filter: { types: [MARKETPLACE] }) { edges { node { id code marketplaceConnection { accountId } } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    for (const { node } of data.channels.edges as { node: { id: string; code: string; marketplaceConnection: unknown } }[]) {
      if (node.code.startsWith('BENCH-') && node.marketplaceConnection) {
        await gateway(`mutation($c: ID!) { removeMarketplaceConnection(channelId: $c) { id } }`, { c: node.id });
      }
    }
    if (!data.channels.pageInfo.hasNextPage) return;
    after = data.channels.pageInfo.endCursor;
  }
}
