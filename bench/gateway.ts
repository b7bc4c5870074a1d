import { demoItem } from '../scripts/demo/estate.js';
import { drive, table, type LoadResult } from './run.js';
import { startBenchSystem } from './system.js';


const SKUS = Array.from({ length: 10 }, (_, i) => demoItem(i * 7).sku);

const CROSS_SUBGRAPH = `query Bench($skus: [String!]!) {
  inventoryItems(skus: $skus) {
    sku name
    stockLevels { onHand available location { name address { city } channels { code name } } }
  }
}`;

const INVENTORY_ONLY = `query Bench($skus: [String!]!) {
  inventoryItems(skus: $skus) {
    sku name
    stockLevels { onHand available location { id } }
  }
}`;

/**
 * npm run bench -- gateway: the cross-subgraph storefront query through the gateway against its
 * inventory part sent straight to the inventory subgraph, in the same run on the same data.
 */
export async function benchGateway(opts: { connections: number; seconds: number; rounds: number }): Promise<void> {
  const system = await startBenchSystem({ skus: 2000 });
  try {
    const loads = [
      { name: `gateway: ${SKUS.length} SKUs x locations + names + channels`, url: system.url('gateway'), body: JSON.stringify({ query: CROSS_SUBGRAPH, variables: { skus: SKUS } }) },
      { name: `inventory subgraph direct: same SKUs`, url: system.url('inventory'), body: JSON.stringify({ query: INVENTORY_ONLY, variables: { skus: SKUS } }) },
    ];
    // Check both answer correctly before measuring anything.
    for (const load of loads) {
      const res = await fetch(load.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: load.body });
      const json = (await res.json()) as { errors?: unknown; data?: { inventoryItems: unknown[] } };
      if (json.errors || json.data?.inventoryItems.length !== SKUS.length) throw new Error(`${load.name}: bad response ${JSON.stringify(json).slice(0, 300)}`);
    }
    // Rounds alternate the targets so drift (thermal, background work) hits both alike.
    const results: LoadResult[][] = loads.map(() => []);
    for (let round = 0; round < opts.rounds; round++) {
      for (const [i, load] of loads.entries()) {
        results[i]!.push(await drive(load, { connections: opts.connections, seconds: opts.seconds, warmupSeconds: round === 0 ? 3 : 1 }));
      }
    }
    const merged = results.map((rs) => ({
      name: rs[0]!.name,
      requestsPerSec: median(rs.map((r) => r.requestsPerSec)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    }));
    process.stdout.write(`\n${opts.connections} connections, ${opts.rounds} rounds of ${opts.seconds} s each (median per target)\n\n${table(merged)}\n\n`);
    const [viaGateway, direct] = merged;
    process.stdout.write(
      `ratio gateway/direct: throughput ${(viaGateway!.requestsPerSec / direct!.requestsPerSec).toFixed(2)}x, p99 latency ${(viaGateway!.p99 / direct!.p99).toFixed(2)}x\n`,
    );
  } finally {
    await system.stop();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
