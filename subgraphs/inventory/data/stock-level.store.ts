import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { affectedRows } from '../../../lib/db.js';
import type { ReadSide } from '../../../lib/read-replicas.js';
import { StockLevelEntity } from './stock-level.entity.js';
import { levelKeyOf } from '../domain/level-math.js';
import type { LevelDelta, LevelKey } from '../domain/stock.js';

export interface StockTotals {
  onHand: number;
  reserved: number;
  available: number;
  incoming: number;
  damaged: number;
  qualityControl: number;
}

export type { LevelDelta, LevelKey };

/**
 * Reserved units of reservations past their expiry that the expiry job has not released yet. They
 * hold nothing any more: every read and every stock check subtracts them from the `reserved` counter
 * (which the job corrects when it releases them), so an expired reservation never blocks a sale.
 */
const EXPIRED_RESERVED = `(SELECT COALESCE(SUM(r.quantity - r.committed_quantity - r.released_quantity), 0)
     FROM reservation_lines r
    WHERE r.sku = s.sku AND r.location_id = s.location_id AND r.open = 1 AND r.expires_at <= ?)`;

/** The soonest expiry among the level's reservations that still hold units (null: none expires). */
const NEXT_EXPIRY = `SELECT MIN(r.expires_at) FROM reservation_lines r
    WHERE r.sku = s.sku AND r.location_id = s.location_id AND r.open = 1 AND r.expires_at > ?`;

const OTHER_COLUMNS = 's.safety_stock, s.incoming, s.damaged, s.quality_control, s.version, s.updated_at';

/** The columns of a level as clients see them: `reserved` is what unexpired reservations hold. */
const LEVEL_COLUMNS = `s.sku, s.location_id, s.on_hand, s.reserved - ${EXPIRED_RESERVED} AS reserved, ${OTHER_COLUMNS}`;

/** The columns of a level as stored: `reserved` is the counter, expired reservations included. */
const STORED_COLUMNS = `s.sku, s.location_id, s.on_hand, s.reserved, ${OTHER_COLUMNS}`;

const levelRow = z
  .object({
    sku: z.string(),
    location_id: z.string(),
    on_hand: z.number(),
    reserved: z.coerce.number(),
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

const parseLevels = (rows: unknown[]) => rows.map((r) => levelRow.parse(r));

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

const keyTuples = (keys: readonly LevelKey[]) => keys.map((k) => [k.sku, k.locationId]);

/** SKUs and location ids compared as bytes, like their ascii_bin collation. */
const compareBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Primary-key order: SKU, then location id. */
const sortedKeys = (keys: readonly LevelKey[]) => [...keys].sort((a, b) => compareBytes(a.sku, b.sku) || compareBytes(a.locationId, b.locationId));

/** ix_stock_levels_location's order: location id, then SKU. */
const byLocationThenSku = (a: LevelKey, b: LevelKey) => compareBytes(a.locationId, b.locationId) || compareBytes(a.sku, b.sku);

/** SQL for stock levels. Every method runs on the manager it is given; `now` decides what has expired. */
export const stockLevelStore = {
  /** Every level of the given SKUs, ordered by SKU then location id. */
  async findBySkus(tx: EntityManager, skus: readonly string[], now: Date): Promise<StockLevelEntity[]> {
    return parseLevels(
      await tx.query(`SELECT ${LEVEL_COLUMNS} FROM stock_levels s WHERE s.sku IN (?) ORDER BY s.sku, s.location_id`, [now, skus]),
    );
  },

  /** The levels of the given SKUs at the given locations, ordered by SKU then location id. */
  async findAt(tx: EntityManager, skus: readonly string[], locationIds: readonly string[], now: Date): Promise<StockLevelEntity[]> {
    if (!skus.length || !locationIds.length) return [];
    return parseLevels(
      await tx.query(
        `SELECT ${LEVEL_COLUMNS} FROM stock_levels s WHERE s.sku IN (?) AND s.location_id IN (?) ORDER BY s.sku, s.location_id`,
        [now, skus, locationIds],
      ),
    );
  },

  async find(tx: EntityManager, key: LevelKey, now: Date): Promise<StockLevelEntity | null> {
    const [row] = parseLevels(
      await tx.query(`SELECT ${LEVEL_COLUMNS} FROM stock_levels s WHERE s.sku = ? AND s.location_id = ?`, [now, key.sku, key.locationId]),
    );
    return row ?? null;
  },

  /**
   * Locks the levels (FOR UPDATE, in primary-key order so concurrent writers never deadlock on each
   * other's rows) and returns them as clients see them, each with the soonest expiry among the
   * reservations its `reserved` still counts (`nextExpiry`). Until the transaction ends nobody else
   * can change these rows, so quantities computed from them stay exact.
   *
   * What expired reservations still hold is read after the lock, by a locking read of their lines:
   * a subquery of the locking statement would read a view taken before the lock was granted, and
   * count lines the expiry job closed meanwhile a second time (the counter already without them,
   * the view's lines still open), showing units that are not there. Every change of a line's open
   * quantity locks its level first, so none can slip in after the lock. The next expiry is read in
   * that same statement, one index lookup per level; its view (READ COMMITTED, lib/db.ts) is taken
   * after the lock too.
   */
  async lock(tx: EntityManager, keys: readonly LevelKey[], now: Date): Promise<StockLevelEntity[]> {
    if (!keys.length) return [];
    const tuples = keyTuples(keys);
    const levels = parseLevels(
      await tx.query(
        // FORCE INDEX: scanning the secondary (location_id, sku) index would lock in another order.
        `SELECT ${STORED_COLUMNS} FROM stock_levels s FORCE INDEX (PRIMARY)
          WHERE (s.sku, s.location_id) IN (?) ORDER BY s.sku, s.location_id FOR UPDATE`,
        [tuples],
      ),
    );
    const reservations: { sku: string; location_id: string; expired: string | number | null; next_expiry: Date | null }[] = await tx.query(
      `(SELECT sku, location_id, SUM(quantity - committed_quantity - released_quantity) AS expired, NULL AS next_expiry
          FROM reservation_lines FORCE INDEX (ix_reservation_lines_level)
         WHERE (sku, location_id) IN (?) AND open = 1 AND expires_at <= ?
         GROUP BY sku, location_id LOCK IN SHARE MODE)
       UNION ALL
       (SELECT s.sku, s.location_id, NULL, (${NEXT_EXPIRY}) FROM stock_levels s WHERE (s.sku, s.location_id) IN (?))`,
      [tuples, now, now, tuples],
    );
    const byKey = new Map(levels.map((l) => [levelKeyOf(l), l]));
    for (const r of reservations) {
      const level = byKey.get(levelKeyOf({ sku: r.sku, locationId: r.location_id }));
      if (!level) continue;
      if (r.expired !== null) level.reserved -= Number(r.expired);
      else level.nextExpiry = r.next_expiry;
    }
    return levels;
  },

  /**
   * Creates absent levels at zero (version 0) and leaves every given level exclusively locked.
   * ON DUPLICATE KEY takes an exclusive lock on a row that exists, where INSERT IGNORE would take a
   * shared one: two writers both holding it shared and both then asking FOR UPDATE deadlock.
   * Unknown SKUs fail the foreign key (ER_NO_REFERENCED_ROW_2).
   */
  async createMissing(tx: EntityManager, keys: readonly LevelKey[], at: Date): Promise<void> {
    // Rows in primary-key order, the order lock() takes them in, so two writers never wait on each other crosswise.
    await tx.query('INSERT INTO stock_levels (sku, location_id, updated_at) VALUES ? ON DUPLICATE KEY UPDATE sku = sku', [
      sortedKeys(keys).map((k) => [k.sku, k.locationId, at]),
    ]);
  },

  /**
   * Adds signed deltas to a locked level in SQL and bumps its version. The CHECK constraint keeps
   * every counter at zero or above, whatever a caller computed.
   */
  async applyDelta(tx: EntityManager, key: LevelKey, d: LevelDelta, at: Date): Promise<void> {
    const result: unknown = await tx.query(
      `UPDATE stock_levels SET on_hand = on_hand + ?, reserved = reserved + ?, safety_stock = safety_stock + ?,
              incoming = incoming + ?, damaged = damaged + ?, quality_control = quality_control + ?,
              version = version + 1, updated_at = ?
        WHERE sku = ? AND location_id = ?`,
      [d.onHand ?? 0, d.reserved ?? 0, d.safetyStock ?? 0, d.incoming ?? 0, d.damaged ?? 0, d.qualityControl ?? 0, at, key.sku, key.locationId],
    );
    if (affectedRows(result) !== 1) throw new Error(`stock level ${key.sku}@${key.locationId} vanished inside its transaction`);
  },

  /**
   * Adds each level's net change of a group of movements to the locked level in SQL, in one
   * statement for every level (a JOIN on a derived table of the changes, read first so only these
   * primary keys are touched), and bumps its version once per movement. As in applyDelta, quantities
   * are added where they are, never written back, and the CHECK constraint has the last word.
   */
  async applyNetDeltas(tx: EntityManager, changes: readonly { key: LevelKey; delta: LevelDelta; movements: number }[], at: Date): Promise<void> {
    if (!changes.length) return;
    // ascii_bin like the key columns, so the join stays an eq_ref on the primary key.
    const row = `SELECT CONVERT(? USING ascii) COLLATE ascii_bin AS sku, CONVERT(? USING ascii) COLLATE ascii_bin AS location_id,
      ? AS on_hand, ? AS reserved, ? AS safety_stock, ? AS incoming, ? AS damaged, ? AS quality_control, ? AS movements`;
    const result: unknown = await tx.query(
      `UPDATE (${changes.map(() => row).join(' UNION ALL ')}) d STRAIGHT_JOIN stock_levels s ON s.sku = d.sku AND s.location_id = d.location_id
          SET s.on_hand = s.on_hand + d.on_hand, s.reserved = s.reserved + d.reserved, s.safety_stock = s.safety_stock + d.safety_stock,
              s.incoming = s.incoming + d.incoming, s.damaged = s.damaged + d.damaged, s.quality_control = s.quality_control + d.quality_control,
              s.version = s.version + d.movements, s.updated_at = ?`,
      [
        ...changes.flatMap(({ key, delta: d, movements }) => [
          key.sku,
          key.locationId,
          d.onHand ?? 0,
          d.reserved ?? 0,
          d.safetyStock ?? 0,
          d.incoming ?? 0,
          d.damaged ?? 0,
          d.qualityControl ?? 0,
          movements,
        ]),
        at,
      ],
    );
    if (affectedRows(result) !== changes.length) throw new Error(`${changes.length - affectedRows(result)} stock levels vanished inside their transaction`);
  },

  /**
   * Deletes the given levels where they are as createMissing made them (version 0, every counter
   * 0): a group that created levels for movements that were then refused leaves none behind, as
   * their own rolled-back transactions would not have. The caller holds their locks.
   */
  async deleteUntouched(tx: EntityManager, keys: readonly LevelKey[]): Promise<void> {
    if (!keys.length) return;
    await tx.query(
      `DELETE FROM stock_levels
        WHERE (sku, location_id) IN (?) AND version = 0 AND on_hand = 0 AND reserved = 0 AND safety_stock = 0
          AND incoming = 0 AND damaged = 0 AND quality_control = 0`,
      [keyTuples(sortedKeys(keys))],
    );
  },

  /**
   * Sums per SKU; SKUs without levels are absent. `available` sums each location's own available
   * (availableOf in stock.service.ts), so one location's shortfall never hides another's stock.
   */
  async totalsBySkus(tx: EntityManager, skus: readonly string[], now: Date): Promise<(StockTotals & { sku: string })[]> {
    const rows: unknown[] = await tx.query(
      `SELECT sku, SUM(on_hand) AS on_hand, SUM(reserved) AS reserved,
              SUM(GREATEST(on_hand - reserved - safety_stock, 0)) AS available,
              SUM(incoming) AS incoming, SUM(damaged) AS damaged, SUM(quality_control) AS quality_control
         FROM (SELECT ${LEVEL_COLUMNS} FROM stock_levels s WHERE s.sku IN (?)) t
        GROUP BY sku`,
      [now, skus],
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
   * The first `limit` levels of each location by SKU, ordered by location id then SKU. One LIMITed
   * branch per location, in one UNION ALL, reads only its own first rows of ix_stock_levels_location:
   * a ROW_NUMBER() window would number every row of every location first (neither MariaDB nor MySQL
   * stops a window early), which took seconds at 100k SKUs per warehouse.
   *
   * What expired reservations still count in `reserved` is subtracted as LEVEL_COLUMNS does, from
   * one range of ix_reservation_lines_expired (normally a handful of rows), read after the page: a
   * line released in between is then still in the page's `reserved` but no longer subtracted, so
   * the pair can only understate what is available, never overstate it. Joining that range to the
   * union in one statement cost MariaDB 40-60 % more a page (the union materialized, joined and
   * sorted again); the order is the branches', checked here and sorted only if it is not.
   */
  async firstPerLocation(
    tx: EntityManager,
    locationIds: readonly string[],
    filter: LocationPageFilter,
    limit: number,
    now: Date,
  ): Promise<StockLevelEntity[]> {
    if (!locationIds.length) return [];
    let where = 's.location_id = ?';
    const branchParams: unknown[] = [];
    if (filter.skus) {
      where += ' AND s.sku IN (?)';
      branchParams.push(filter.skus);
    }
    if (filter.afterSku !== null) {
      where += ' AND s.sku > ?';
      branchParams.push(filter.afterSku);
    }
    const ids = [...locationIds].sort();
    const branch = `(SELECT ${STORED_COLUMNS} FROM stock_levels s WHERE ${where} ORDER BY s.sku LIMIT ?)`;
    const levels = parseLevels(await tx.query(ids.map(() => branch).join(' UNION ALL '), ids.flatMap((id) => [id, ...branchParams, limit])));
    if (levels.some((level, i) => i > 0 && byLocationThenSku(levels[i - 1], level) > 0)) levels.sort(byLocationThenSku);
    const expired: { sku: string; location_id: string; units: string | number }[] = await tx.query(
      `SELECT r.sku, r.location_id, SUM(r.quantity - r.committed_quantity - r.released_quantity) AS units
         FROM reservation_lines r
        WHERE r.open = 1 AND r.expires_at <= ? AND r.location_id IN (?)
        GROUP BY r.sku, r.location_id`,
      [now, ids],
    );
    if (expired.length) {
      const units = new Map(expired.map((x) => [levelKeyOf({ sku: x.sku, locationId: x.location_id }), Number(x.units)]));
      for (const level of levels) level.reserved -= units.get(levelKeyOf(level)) ?? 0;
    }
    return levels;
  },

  /**
   * Every level of the given SKUs as clients see them, each with the soonest expiry of a reservation
   * still holding units there (`nextExpiry`, null when none will expire): until then the level's
   * available stays as read, unless a stock event changes it. For the availability read model.
   */
  async findWithNextExpiry(tx: EntityManager, skus: readonly string[], now: Date): Promise<StockLevelEntity[]> {
    const rows: { next_expiry: Date | null }[] = await tx.query(
      `SELECT ${LEVEL_COLUMNS}, (${NEXT_EXPIRY}) AS next_expiry FROM stock_levels s WHERE s.sku IN (?)`,
      [now, now, skus],
    );
    return rows.map((r) => Object.assign(levelRow.parse(r), { nextExpiry: r.next_expiry }));
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

/**
 * The level queries that may run on a read replica (lib/read-replicas.ts): what the API reads and
 * shows as is (stock levels, totals, a location's page, availability computed from MySQL). Never a
 * decision's input: reservations and movements lock and read their levels on the primary
 * (`stockLevelStore.lock`, in their transaction).
 */
export const stockLevelReads = {
  findBySkus: (r: ReadSide, skus: readonly string[], now: Date) => stockLevelStore.findBySkus(r.manager, skus, now),
  findAt: (r: ReadSide, skus: readonly string[], locationIds: readonly string[], now: Date) => stockLevelStore.findAt(r.manager, skus, locationIds, now),
  find: (r: ReadSide, key: LevelKey, now: Date) => stockLevelStore.find(r.manager, key, now),
  totalsBySkus: (r: ReadSide, skus: readonly string[], now: Date) => stockLevelStore.totalsBySkus(r.manager, skus, now),
  firstPerLocation: (r: ReadSide, locationIds: readonly string[], filter: LocationPageFilter, limit: number, now: Date) =>
    stockLevelStore.firstPerLocation(r.manager, locationIds, filter, limit, now),
};
