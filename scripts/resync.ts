/**
 * npm run resync: has the channels and locations subgraphs append a snapshot event of every row,
 * so inventory's replicas catch up (the jobs process relays and applies them). The jobs process
 * does this by itself when it creates its consumer group; this is the on-demand way.
 */
import { republishReplicaSources } from '../jobs/resync.js';
import { config } from '../lib/config.js';
import { openSubgraphDatabase } from '../lib/subgraph.js';
import { SUBGRAPHS } from '../subgraphs/index.js';

const cfg = config();
const [channels, locations] = await Promise.all([
  openSubgraphDatabase(cfg, SUBGRAPHS.channels),
  openSubgraphDatabase(cfg, SUBGRAPHS.locations),
]);
try {
  const appended = await republishReplicaSources({ channels, locations });
  process.stdout.write(`Appended ${appended.channels} channel, ${appended.setAsides} set-aside and ${appended.locations} location snapshots to the outboxes.\n`);
} finally {
  await Promise.all([channels.destroy(), locations.destroy()]);
}
