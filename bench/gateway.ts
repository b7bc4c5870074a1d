import { demoId, demoItem } from '../scripts/demo/estate.js';
import { drive, mergeRuns, table, type Load, type LoadResult } from './run.js';
import { BENCH_SCOPES, startBenchSystem } from './system.js';

/** The port of the second gateway, the one without governance (the bench system's own is 4100, its subgraphs 4101-4105). */
const BARE_GATEWAY_PORT = 4109;

/** The ports of the second system, whose services sign and check no service tokens (SERVICE_AUTH=off). */
const UNSIGNED_BASE_PORT = 4200;

const STOREFRONT_SKUS = Array.from({ length: 20 }, (_, i) => demoItem(i * 7).sku);
const CROSS_SKUS = STOREFRONT_SKUS.slice(0, 10);

/** A product-listing page: available-to-sell of 20 SKUs on one channel with the pickup locations' names. */
const STOREFRONT = `query Storefront($c: ID!, $skus: [String!]!) {
  availability(channelId: $c, skus: $skus) {
    sku availableToSell status
    locations { available pickup location { name } }
  }
}`;

const CROSS_SUBGRAPH = `query StockByLocation($skus: [String!]!) {
  inventoryItems(skus: $skus) {
    sku name
    stockLevels { onHand available location { name address { city } channels { code name } } }
  }
}`;

const INVENTORY_ONLY = `query StockByLocation($skus: [String!]!) {
  inventoryItems(skus: $skus) {
    sku name
    stockLevels { onHand available location { id } }
  }
}`;

/**
 * npm run bench -- gateway: what governance, service tokens and federation cost, in the same run on
 * the same data. Two gateway processes serve the same subgraphs: the bench system's own, governed as
 * in production (credentials checked, a rate-limit step in Redis per request, field usage recorded,
 * a service token signed for each subgraph fetch and checked there), and a bare one (no credentials
 * checked: every scope is public; no rate limit, no usage recording). A second system on other ports
 * runs with SERVICE_AUTH=off: its governed gateway is the baseline of the tokens' cost. Each query
 * goes through each, and its inventory part straight to the inventory subgraph.
 */
export async function benchGateway(opts: { connections: number; seconds: number; rounds: number }): Promise<void> {
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  progress('▸ starting the bench system (ports 4100-4110)');
  const system = await startBenchSystem({ skus: 2000 });
  progress(`▸ starting a second system without service tokens (ports ${UNSIGNED_BASE_PORT}-${UNSIGNED_BASE_PORT + 10})`);
  const unsigned = await startBenchSystem({ skus: 2000, basePort: UNSIGNED_BASE_PORT, dbPrefix: 'omnistock_bench_unsigned', env: { SERVICE_AUTH: 'off' } }).catch(async (err) => {
    await system.stop();
    throw err;
  });
  try {
    const governed = system.url('gateway');
    const governedUnsigned = unsigned.url('gateway');
    const bare = await system.startGateway(BARE_GATEWAY_PORT, { AUTH_PUBLIC_SCOPES: BENCH_SCOPES.join(' '), RATE_LIMIT_PER_MINUTE: '0', REGISTRY_USAGE_RECORDING: 'false' });
    const channel = demoId('channel', 'WEB-UK');
    const storefront = JSON.stringify({ query: STOREFRONT, variables: { c: channel, skus: STOREFRONT_SKUS } });
    const cross = JSON.stringify({ query: CROSS_SUBGRAPH, variables: { skus: CROSS_SKUS } });
    const groups: { title: string; loads: Load[] }[] = [
      {
        title: `storefront: availability of ${STOREFRONT_SKUS.length} SKUs on one channel with location names`,
        loads: [
          { name: 'bare gateway', url: bare, body: storefront },
          { name: 'governed gateway (JWT)', url: governed, body: storefront, headers: system.headers },
          { name: 'governed gateway (API key)', url: governed, body: storefront, headers: system.apiKeyHeaders },
          { name: 'governed, no service tokens (API key)', url: governedUnsigned, body: storefront, headers: unsigned.apiKeyHeaders },
        ],
      },
      {
        title: `${CROSS_SKUS.length} SKUs x locations + names + channels (three subgraphs)`,
        loads: [
          { name: 'inventory subgraph direct (its part only)', url: system.url('inventory'), headers: system.subgraph('inventory').headers, body: JSON.stringify({ query: INVENTORY_ONLY, variables: { skus: CROSS_SKUS } }) },
          { name: 'bare gateway', url: bare, body: cross },
          { name: 'governed gateway (JWT)', url: governed, body: cross, headers: system.headers },
          { name: 'governed gateway (API key)', url: governed, body: cross, headers: system.apiKeyHeaders },
          { name: 'governed, no service tokens (API key)', url: governedUnsigned, body: cross, headers: unsigned.apiKeyHeaders },
        ],
      },
    ];
    // Every target answers correctly (and the governed one admits the credentials) before anything is measured.
    for (const load of groups.flatMap((g) => g.loads)) await expectAnswer(load);

    const results = new Map<Load, LoadResult[]>();
    // Rounds alternate the targets so drift (thermal, background work) hits all alike.
    for (let round = 0; round < opts.rounds; round++) {
      for (const [g, group] of groups.entries()) {
        for (const load of group.loads) {
          const r = await drive(load, { connections: opts.connections, seconds: opts.seconds, warmupSeconds: round === 0 ? 3 : 1 });
          results.set(load, [...(results.get(load) ?? []), r]);
          progress(`  round ${round + 1}/${opts.rounds} · query ${g + 1} · ${load.name}: ${Math.round(r.requestsPerSec)} req/s`);
        }
      }
    }
    process.stdout.write(`\n${opts.connections} connections, ${opts.rounds} rounds of ${opts.seconds} s per target, alternating (median per target)\n`);
    for (const group of groups) {
      const merged = group.loads.map((load) => mergeRuns(results.get(load)!));
      process.stdout.write(`\n${group.title}\n\n${table(merged)}\n\n`);
      const bareRun = merged.find((m) => m.name === 'bare gateway')!;
      for (const governed of merged.filter((m) => m.name.startsWith('governed gateway'))) {
        process.stdout.write(
          `governance cost, ${governed.name.replace('governed gateway ', '')}: throughput ${ratio(governed.requestsPerSec, bareRun.requestsPerSec)} of bare, ` +
            `p50 ${ratio(governed.p50, bareRun.p50)}, p99 ${ratio(governed.p99, bareRun.p99)}\n`,
        );
      }
      const signedRun = merged.find((m) => m.name === 'governed gateway (API key)')!;
      const unsignedRun = merged.find((m) => m.name.startsWith('governed, no service tokens'))!;
      process.stdout.write(
        `service token cost (signed at the gateway, checked at each subgraph): throughput ${ratio(signedRun.requestsPerSec, unsignedRun.requestsPerSec)} of without, ` +
          `p50 ${ratio(signedRun.p50, unsignedRun.p50)}, p99 ${ratio(signedRun.p99, unsignedRun.p99)}\n`,
      );
      const direct = merged.find((m) => m.name.startsWith('inventory'));
      if (direct) process.stdout.write(`federation cost (bare gateway/inventory direct): throughput ${ratio(bareRun.requestsPerSec, direct.requestsPerSec)}\n`);
    }
  } finally {
    await unsigned.stop();
    await system.stop();
  }
}

async function expectAnswer(load: Load): Promise<void> {
  const res = await fetch(load.url, { method: 'POST', headers: { 'content-type': 'application/json', ...load.headers }, body: load.body });
  const json = (await res.json()) as { errors?: unknown; data?: Record<string, unknown[] | null> };
  const list = json.data && Object.values(json.data)[0];
  if (json.errors || !Array.isArray(list) || list.length === 0 || list.some((x) => x === null)) {
    throw new Error(`${load.name}: bad response ${JSON.stringify(json).slice(0, 300)}`);
  }
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}x`;
