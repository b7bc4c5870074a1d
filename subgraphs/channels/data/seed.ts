import type { DataSource } from 'typeorm';
import { ChannelEntity } from './channel.entity.js';
import { appendChannelSnapshots, ruleColumns, sourceRows } from '../services/channel.service.js';
import { channelStore } from './channel.store.js';

/** A channel to seed, with its allocation rule: the demo estate's rows, or any caller's with the same shape. */
export interface SeedChannel {
  id: string;
  code: string;
  name: string;
  type: 'WEB_STOREFRONT' | 'MARKETPLACE' | 'POS' | 'CLIENTELING' | 'B2B_EDI';
  marketplace: 'AMAZON' | 'EBAY' | 'WALMART' | 'SHOPIFY' | null;
  priority: number;
  sources: { locationId: string; priority: number }[];
  buffer: { kind: 'UNITS' | 'PERCENT'; value: number } | null;
  cap: number | null;
  allowSplitShipments: boolean;
}

/**
 * Inserts the given channels that are not there yet, with their sources and their snapshot events;
 * returns how many were inserted.
 */
export async function seedChannels(ds: DataSource, channels: SeedChannel[]): Promise<number> {
  return ds.transaction(async (tx) => {
    const existing = new Set((await channelStore.findByIds(tx, channels.map((c) => c.id))).map((c) => c.id));
    const now = new Date();
    const missing = channels.filter((c) => !existing.has(c.id));
    const inserted: ChannelEntity[] = [];
    for (const c of missing) {
      const row = Object.assign(new ChannelEntity(), {
        id: c.id,
        code: c.code,
        name: c.name,
        type: c.type,
        marketplace: c.marketplace,
        status: 'ACTIVE',
        priority: c.priority,
        ...ruleColumns(c),
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
      await channelStore.insert(tx, row);
      await channelStore.insertSources(tx, sourceRows(c.id, c.sources));
      inserted.push(row);
    }
    await appendChannelSnapshots(tx, inserted);
    return inserted.length;
  });
}
