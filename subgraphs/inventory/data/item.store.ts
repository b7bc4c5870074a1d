import { In, MoreThan, type EntityManager } from 'typeorm';
import { affectedRows } from '../../../lib/db.js';
import type { ReadSide } from '../../../lib/read-replicas.js';
import { InventoryItemEntity } from './item.entity.js';

/** SQL for inventory items. Every method runs on the manager it is given. */
export const itemStore = {
  findBySkus(tx: EntityManager, skus: readonly string[]): Promise<InventoryItemEntity[]> {
    return tx.find(InventoryItemEntity, { where: { sku: In([...skus]) } });
  },

  /** Keyset page ordered by SKU; fetches `limit` rows after `afterSku`. */
  page(tx: EntityManager, limit: number, afterSku: string | null): Promise<InventoryItemEntity[]> {
    return tx.find(InventoryItemEntity, {
      where: afterSku === null ? {} : { sku: MoreThan(afterSku) },
      order: { sku: 'ASC' },
      take: limit,
    });
  },

  insert(tx: EntityManager, rows: InventoryItemEntity[]): Promise<unknown> {
    return tx.insert(InventoryItemEntity, rows);
  },

  /** One multi-row INSERT IGNORE: rows whose SKU exists are skipped; returns how many were inserted. */
  async insertMissing(tx: EntityManager, rows: InventoryItemEntity[]): Promise<number> {
    const result: unknown = await tx.query(
      'INSERT IGNORE INTO inventory_items (sku, name, description, barcode, status, created_at, updated_at) VALUES ?',
      [rows.map((r) => [r.sku, r.name, r.description, r.barcode, r.status, r.createdAt, r.updatedAt])],
    );
    return affectedRows(result);
  },
};

/** Item queries that may run on a read replica (lib/read-replicas.ts): the catalogue as the API shows it. */
export const itemReads = {
  findBySkus: (r: ReadSide, skus: readonly string[]) => itemStore.findBySkus(r.manager, skus),
  page: (r: ReadSide, limit: number, afterSku: string | null) => itemStore.page(r.manager, limit, afterSku),
};
