import type { DataSource } from 'typeorm';
import { writeTransaction } from '../../../lib/db.js';
import { channelReplicaStore } from './channel-replica.store.js';

/** A channel of the seed data, as far as this subgraph replicates it (the channels seed's rows have this shape). */
export interface SeedReplicaChannel {
  id: string;
  code: string;
  type: string;
  marketplace: 'AMAZON' | 'EBAY' | 'WALMART' | 'SHOPIFY' | null;
  priority: number;
  sources: { locationId: string; priority: number }[];
}

/**
 * Writes the seed data's channels into the channel replica at version 0, so that their connections
 * can be set before the jobs process has relayed the channels subgraph's events (which, at
 * version 1 and on, replace these rows). A channel the replica already holds is left as it is.
 */
export async function seedMarketplaces(ds: DataSource, channels: readonly SeedReplicaChannel[]): Promise<number> {
  let applied = 0;
  await writeTransaction(ds, async (tx) => {
    const known = new Set((await channelReplicaStore.byIds(tx, channels.map((c) => c.id))).map((c) => c.id));
    for (const c of channels) {
      if (known.has(c.id)) continue;
      const snapshot = { id: c.id, code: c.code, type: c.type, marketplace: c.marketplace, priority: c.priority, status: 'ACTIVE' as const, sources: c.sources };
      if (await channelReplicaStore.apply(tx, { ...snapshot, buffer: null, cap: null, allowSplitShipments: true, protection: 'OFF', version: 0 }, new Date())) applied++;
    }
  });
  return applied;
}
