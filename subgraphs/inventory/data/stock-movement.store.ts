import { In, type EntityManager } from 'typeorm';
import { insertIdOf } from '../../../lib/db.js';
import type { ReadSide } from '../../../lib/read-replicas.js';
import { StockMovementEntity } from './stock-movement.entity.js';
import { TransferEntity } from './transfer.entity.js';

/** The ledger's columns as insert() writes them, with the entity field each comes from (seq is the database's). */
const LEDGER_COLUMNS: readonly [string, keyof StockMovementEntity][] = [
  ['id', 'id'],
  ['idempotency_key', 'idempotencyKey'],
  ['sku', 'sku'],
  ['location_id', 'locationId'],
  ['type', 'type'],
  ['reason', 'reason'],
  ['quantity', 'quantity'],
  ['reference', 'reference'],
  ['on_hand_before', 'onHandBefore'],
  ['on_hand_after', 'onHandAfter'],
  ['damaged_change', 'damagedChange'],
  ['incoming_change', 'incomingChange'],
  ['version_after', 'versionAfter'],
  ['actor', 'actor'],
  ['correlation_id', 'correlationId'],
  ['transfer_id', 'transferId'],
  ['reservation_id', 'reservationId'],
  ['request_hash', 'requestHash'],
  ['created_at', 'createdAt'],
  ['occurred_at', 'occurredAt'],
];

/** SQL for the movement ledger and transfers. Every method runs on the manager it is given. */
export const stockMovementStore = {
  /**
   * Inserts in one statement and sets each movement's ledger position. A multi-row INSERT takes
   * consecutive AUTO_INCREMENT values, the first of which the driver reports. Plain SQL: TypeORM's
   * insert builder took as long as the database for a group of hundreds of lines.
   * Fails with ER_DUP_ENTRY when an idempotency key was used before.
   */
  async insert(tx: EntityManager, movements: StockMovementEntity[]): Promise<void> {
    if (!movements.length) return;
    const result: unknown = await tx.query(
      `INSERT INTO stock_movements (${LEDGER_COLUMNS.map(([column]) => column).join(', ')}) VALUES ?`,
      [movements.map((m) => LEDGER_COLUMNS.map(([, field]) => m[field]))],
    );
    const first = BigInt(insertIdOf(result));
    movements.forEach((m, i) => (m.seq = String(first + BigInt(i))));
  },

  findByIdempotencyKey(tx: EntityManager, idempotencyKey: string): Promise<StockMovementEntity | null> {
    return tx.findOne(StockMovementEntity, { where: { idempotencyKey } });
  },

  findByIds(tx: EntityManager, ids: readonly string[]): Promise<StockMovementEntity[]> {
    return tx.find(StockMovementEntity, { where: { id: In([...ids]) } });
  },

  /** The request fingerprint of each given idempotency key that is recorded (null for lines recorded without one). */
  async requestHashesOf(tx: EntityManager, keys: readonly string[]): Promise<Map<string, string | null>> {
    if (!keys.length) return new Map();
    const rows: { idempotency_key: string; request_hash: string | null }[] = await tx.query(
      'SELECT idempotency_key, request_hash FROM stock_movements WHERE idempotency_key IN (?)',
      [keys],
    );
    return new Map(rows.map((r) => [r.idempotency_key, r.request_hash]));
  },

  findByIdempotencyKeys(tx: EntityManager, keys: readonly string[]): Promise<StockMovementEntity[]> {
    return tx.find(StockMovementEntity, { where: { idempotencyKey: In([...keys]) } });
  },

  /** One level's ledger in sequence order, from `since` and after ledger position `afterSeq`. */
  page(
    tx: EntityManager,
    filter: { sku: string; locationId: string; since: Date | null; afterSeq: string | null },
    limit: number,
  ): Promise<StockMovementEntity[]> {
    const qb = tx
      .createQueryBuilder(StockMovementEntity, 'm')
      .where('m.sku = :sku AND m.location_id = :locationId', filter);
    if (filter.since) qb.andWhere('m.created_at >= :since', { since: filter.since });
    if (filter.afterSeq !== null) qb.andWhere('m.seq > :afterSeq', { afterSeq: filter.afterSeq });
    return qb.orderBy('m.seq', 'ASC').limit(limit).getMany();
  },

  insertTransfer(tx: EntityManager, transfer: TransferEntity): Promise<unknown> {
    return tx.insert(TransferEntity, transfer);
  },

  /** Locks the transfer until the transaction ends; null when there is none. */
  lockTransfer(tx: EntityManager, id: string): Promise<TransferEntity | null> {
    return tx.findOne(TransferEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  findTransfers(tx: EntityManager, ids: readonly string[]): Promise<TransferEntity[]> {
    return tx.find(TransferEntity, { where: { id: In([...ids]) } });
  },

  receiveTransfer(tx: EntityManager, id: string, quantity: number, at: Date): Promise<unknown> {
    return tx.query(
      `UPDATE transfers SET received_quantity = received_quantity + ?,
              status = IF(received_quantity = quantity, 'RECEIVED', 'IN_TRANSIT'), updated_at = ?
        WHERE id = ?`,
      [quantity, at, id],
    );
  },
};

/**
 * Ledger and transfer queries that may run on a read replica (lib/read-replicas.ts): history shown
 * as is. Idempotency look-ups (a retry's replay) and transfer locks stay on the primary.
 */
export const stockMovementReads = {
  page: (r: ReadSide, filter: { sku: string; locationId: string; since: Date | null; afterSeq: string | null }, limit: number) =>
    stockMovementStore.page(r.manager, filter, limit),
  findByIds: (r: ReadSide, ids: readonly string[]) => stockMovementStore.findByIds(r.manager, ids),
  findTransfers: (r: ReadSide, ids: readonly string[]) => stockMovementStore.findTransfers(r.manager, ids),
};
