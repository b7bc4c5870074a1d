import type { DataSource } from 'typeorm';
import type { DemoChannel } from '../../scripts/demo/estate.js';
import { ChannelEntity } from './channel.entity.js';
import { appendChannelSnapshots, ruleColumns, sourceRows } from './channel.service.js';
import { channelStore } from './channel.store.js';

/**
 * Inserts the demo channels that are not there yet, with their sources and their snapshot events;
 * returns how many were inserted.
 */
export async function seedChannels(ds: DataSource, channels: DemoChannel[]): Promise<number> {
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
