import type { DataSource } from 'typeorm';
import { InventoryItemEntity } from './item.entity.js';
import { itemStore } from './item.store.js';
import { StockLevelEntity } from './stock-level.entity.js';
import { stockLevelStore } from './stock-level.store.js';

/** About 13 levels per SKU, so a chunk's level insert stays a few MB, well under max_allowed_packet. */
const CHUNK_SKUS = 1000;

/** The SKU numbered `i` of a seeded catalogue, and its stock per location. */
export interface SeedCatalogue {
  item(i: number): { sku: string; name: string; description: string; barcode: string };
  stock(i: number): { locationId: string; onHand: number; safetyStock: number }[];
}

/**
 * Inserts SKUs 0..skus-1 of the catalogue and their stock levels, one transaction and two multi-row statements
 * per chunk. Rows already there are left alone, so a rerun only adds what is missing.
 */
export async function seedInventory(
  ds: DataSource,
  opts: { skus: number; catalogue: SeedCatalogue; onProgress?: (done: number) => void },
): Promise<{ items: number; levels: number }> {
  const inserted = { items: 0, levels: 0 };
  const now = new Date();
  for (let start = 0; start < opts.skus; start += CHUNK_SKUS) {
    const end = Math.min(opts.skus, start + CHUNK_SKUS);
    const items: InventoryItemEntity[] = [];
    const levels: StockLevelEntity[] = [];
    for (let i = start; i < end; i++) {
      const item = opts.catalogue.item(i);
      items.push(Object.assign(new InventoryItemEntity(), { ...item, status: 'ACTIVE', createdAt: now, updatedAt: now }));
      for (const s of opts.catalogue.stock(i)) {
        levels.push(
          Object.assign(new StockLevelEntity(), {
            sku: item.sku,
            locationId: s.locationId,
            onHand: s.onHand,
            reserved: 0,
            safetyStock: s.safetyStock,
            incoming: 0,
            damaged: 0,
            qualityControl: 0,
            version: 0,
            updatedAt: now,
          }),
        );
      }
    }
    await ds.transaction(async (tx) => {
      inserted.items += await itemStore.insertMissing(tx, items);
      inserted.levels += await stockLevelStore.insertMissing(tx, levels);
    });
    opts.onProgress?.(end);
  }
  return inserted;
}
