import { compose, readSupergraphConfig } from '../gateway/compose.js';
import { startGateway } from '../gateway/gateway.js';
import type { SubgraphName } from '../lib/config.js';
import type { RunningService } from '../lib/server.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { SUBGRAPHS } from '../scripts/system.js';

export interface Stack {
  gatewayUrl: string;
  subgraphs: Record<SubgraphName, RunningSubgraph>;
  gateway: RunningService;
  close(): Promise<void>;
}

/**
 * The four subgraphs and the gateway in this process on free ports, against the real MariaDB
 * (test databases), composed from supergraph.yaml with the routing URLs pointed at those ports.
 */
export async function startStack(): Promise<Stack> {
  const names = Object.keys(SUBGRAPHS) as SubgraphName[];
  const running = await Promise.all(names.map((n) => startSubgraph(SUBGRAPHS[n], { port: 0 })));
  const subgraphs = Object.fromEntries(names.map((n, i) => [n, running[i]!])) as Record<SubgraphName, RunningSubgraph>;
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  const gateway = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: Object.fromEntries(names.map((n) => [n, subgraphs[n].url])),
    host: '127.0.0.1',
    port: 0,
  });
  return {
    gatewayUrl: gateway.url,
    subgraphs,
    gateway,
    async close() {
      await gateway.close();
      await Promise.all(running.map((s) => s.close()));
    },
  };
}
