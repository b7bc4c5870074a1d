import { In, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { affectedRows } from '../../lib/db.js';
import { StockLevelEntity } from './stock-level.entity.js';

export interface StockTotals {
  onHand: number;
  reserved: number;
  available: number;
  incoming: number;
  damaged: number;
  qualityControl: number;
}

const levelRow = z
  .object({
    sku: z.string(),
    location_id: z.string(),
    on_hand: z.number(),
    reserved: z.number(),
    safety_stock: z.number(),
    incoming: z.number(),
    damaged: z.number(),
    quality_control: z.number(),
    version: z.number(),
    updated_at: z.date(),
  })
  .transform((r) =>
    Object.assign(new StockLevelEntity(), {
      sku: r.sku,
      locationId: r.location_id,
      onHand: r.on_hand,
      reserved: r.reserved,
      safetyStock: r.safety_stock,
      incoming: r.incoming,
      damaged: r.damaged,
      qualityControl: r.quality_control,
      version: r.version,
      updatedAt: r.updated_at,
    }),
  );

// SUM over INT columns is a DECIMAL, which mysql2 returns as a string.
const totalsRow = z.object({
  sku: z.string(),
  on_hand: z.coerce.number(),
  reserved: z.coerce.number(),
  available: z.coerce.number(),
  incoming: z.coerce.number(),
  damaged: z.coerce.number(),
  quality_control: z.coerce.number(),
});

export interface LocationPageFilter {
  skus: readonly string[] | null;
  afterSku: string | null;
}

/** SQL for stock levels. Every method runs on the manager it is given. */
export const stockLevelStore = {
  /** Every level of the given SKUs, ordered by SKU then location id. */
  findBySkus(tx: EntityManager, skus: readonly string[]): Promise<StockLevelEntity[]> {
    return tx.find(StockLevelEntity, { where: { sku: In([...skus]) }, order: { sku: 'ASC', locationId: 'ASC' } });
  },

  find(tx: EntityManager, sku: string, locationId: string): Promise<StockLevelEntity | null> {
    return tx.findOne(StockLevelEntity, { where: { sku, locationId } });
  },

  /** A level known to exist; `lock` holds it FOR UPDATE until the transaction ends. */
  get(tx: EntityManager, sku: string, locationId: string, lock: boolean): Promise<StockLevelEntity> {
    return tx.findOneOrFail(StockLevelEntity, {
      where: { sku, locationId },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
  },

  /**
   * Sums per SKU; SKUs without levels are absent. `available` sums each location's own available
   * (availableOf in stock.service.ts), so one location's shortfall never hides another's stock.
   */
  async totalsBySkus(tx: EntityManager, skus: readonly string[]): Promise<(StockTotals & { sku: string })[]> {
    const rows: unknown[] = await tx.query(
      `SELECT sku, SUM(on_hand) AS on_hand, SUM(reserved) AS reserved,
              SUM(GREATEST(on_hand - reserved - safety_stock, 0)) AS available,
              SUM(incoming) AS incoming, SUM(damaged) AS damaged, SUM(quality_control) AS quality_control
         FROM stock_levels WHERE sku IN (?) GROUP BY sku`,
      [skus],
    );
    return rows.map((raw) => {
      const r = totalsRow.parse(raw);
      return {
        sku: r.sku,
        onHand: r.on_hand,
        reserved: r.reserved,
        available: r.available,
        incoming: r.incoming,
        damaged: r.damaged,
        qualityControl: r.quality_control,
      };
    });
  },

  /**
   * The first `limit` levels of each location by SKU, in one statement for all locations; ordered
   * by location id then SKU. One LIMITed branch per location reads only its own first rows of
   * ix_stock_levels_location: a ROW_NUMBER() window would number every row of every location first
   * (neither MariaDB nor MySQL stops a window early), which took seconds at 100k SKUs per warehouse.
   */
  async firstPerLocation(
    tx: EntityManager,
    locationIds: readonly string[],
    filter: LocationPageFilter,
    limit: number,
  ): Promise<StockLevelEntity[]> {
    let where = 'location_id = ?';
    const branchParams: unknown[] = [];
    if (filter.skus) {
      where += ' AND sku IN (?)';
      branchParams.push(filter.skus);
    }
    if (filter.afterSku !== null) {
      where += ' AND sku > ?';
      branchParams.push(filter.afterSku);
    }
    const branch = `(SELECT * FROM stock_levels WHERE ${where} ORDER BY sku LIMIT ?)`;
    const rows: unknown[] = await tx.query(
      `${locationIds.map(() => branch).join(' UNION ALL ')} ORDER BY location_id, sku`,
      locationIds.flatMap((id) => [id, ...branchParams, limit]),
    );
    return rows.map((r) => levelRow.parse(r));
  },

  /** Adds to on-hand in SQL, creating the level at version 1 when the SKU was never stocked there. */
  addOnHand(tx: EntityManager, sku: string, locationId: string, quantity: number, at: Date): Promise<unknown> {
    return tx.query(
      `INSERT INTO stock_levels (sku, location_id, on_hand, version, updated_at) VALUES (?, ?, ?, 1, ?)
       ON DUPLICATE KEY UPDATE on_hand = on_hand + ?, version = version + 1, updated_at = ?`,
      [sku, locationId, quantity, at, quantity, at],
    );
  },

  /** One multi-row INSERT IGNORE: existing (sku, location) rows are skipped; returns how many were inserted. */
  async insertMissing(tx: EntityManager, rows: StockLevelEntity[]): Promise<number> {
    const result: unknown = await tx.query(
      `INSERT IGNORE INTO stock_levels
         (sku, location_id, on_hand, reserved, safety_stock, incoming, damaged, quality_control, version, updated_at)
       VALUES ?`,
      [
        rows.map((r) => [
          r.sku,
          r.locationId,
          r.onHand,
          r.reserved,
          r.safetyStock,
          r.incoming,
          r.damaged,
          r.qualityControl,
          r.version,
          r.updatedAt,
        ]),
      ],
    );
    return affectedRows(result);
  },
};
