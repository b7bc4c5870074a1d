import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import type { SetAsideSnapshot } from '../../../contracts/events.js';
import type { ReadSide } from '../../../lib/read-replicas.js';

const row = z.object({ channel_id: z.string(), sku: z.string(), units: z.number(), version: z.coerce.number(), updated_at: z.date() });

export interface SetAside extends SetAsideSnapshot {
  updatedAt: Date;
}

const fromRow = (r: unknown): SetAside => {
  const v = row.parse(r);
  return { channelId: v.channel_id, sku: v.sku, units: v.units, version: v.version, updatedAt: v.updated_at };
};

/** SQL of the units set aside per (channel, SKU). */
export const setAsideStore = {
  /** Sets the units (a new row at version 1, else the next version) and answers the row as it now is. */
  async upsert(tx: EntityManager, channelId: string, sku: string, units: number, at: Date): Promise<SetAside> {
    await tx.query(
      `INSERT INTO channel_set_asides (channel_id, sku, units, version, updated_at) VALUES (?, ?, ?, 1, ?)
       ON DUPLICATE KEY UPDATE units = VALUES(units), version = version + 1, updated_at = VALUES(updated_at)`,
      [channelId, sku, units, at],
    );
    const [current] = await tx.query('SELECT channel_id, sku, units, version, updated_at FROM channel_set_asides WHERE channel_id = ? AND sku = ?', [channelId, sku]);
    return fromRow(current);
  },

  /** A channel's set-asides above 0, by SKU, `limit` after `afterSku`. */
  async page(tx: EntityManager, channelId: string, limit: number, afterSku: string | null): Promise<SetAside[]> {
    const rows: unknown[] = await tx.query(
      `SELECT channel_id, sku, units, version, updated_at FROM channel_set_asides
        WHERE channel_id = ? AND units > 0 ${afterSku === null ? '' : 'AND sku > ?'} ORDER BY sku LIMIT ?`,
      afterSku === null ? [channelId, limit] : [channelId, afterSku, limit],
    );
    return rows.map(fromRow);
  },

  /** Every row (lifted ones too), `limit` after the key given, for republishing. */
  async all(tx: EntityManager, limit: number, after: { channelId: string; sku: string } | null): Promise<SetAside[]> {
    const rows: unknown[] = await tx.query(
      `SELECT channel_id, sku, units, version, updated_at FROM channel_set_asides
        ${after ? 'WHERE (channel_id, sku) > (?, ?)' : ''} ORDER BY channel_id, sku LIMIT ?`,
      after ? [after.channelId, after.sku, limit] : [limit],
    );
    return rows.map(fromRow);
  },
};

/** Set-aside queries that may run on a read replica (lib/read-replicas.ts): a channel's list as the API shows it. */
export const setAsideReads = {
  page: (r: ReadSide, channelId: string, limit: number, afterSku: string | null) => setAsideStore.page(r.manager, channelId, limit, afterSku),
};
