import { In, type EntityManager } from 'typeorm';
import type { ReservationStatus } from '../domain/stock.js';
import { ReservationEntity, ReservationLineEntity } from './reservation.entity.js';

/** SQL for reservations. Every method runs on the manager it is given. */
export const reservationStore = {
  /** Fails with ER_DUP_ENTRY when its owner used the idempotency key before. */
  insert(tx: EntityManager, reservation: ReservationEntity): Promise<unknown> {
    return tx.insert(ReservationEntity, reservation);
  },

  insertLines(tx: EntityManager, lines: ReservationLineEntity[]): Promise<unknown> {
    return tx.insert(ReservationLineEntity, lines);
  },

  findByIdempotencyKey(tx: EntityManager, owner: string, key: string): Promise<ReservationEntity | null> {
    return tx.findOne(ReservationEntity, { where: { keyOwner: owner, idempotencyKey: key } });
  },

  findByIds(tx: EntityManager, ids: readonly string[]): Promise<ReservationEntity[]> {
    return tx.find(ReservationEntity, { where: { id: In([...ids]) } });
  },

  /** Locks the reservation until the transaction ends: commits, releases and expiry of one reservation serialize here. */
  lock(tx: EntityManager, id: string): Promise<ReservationEntity | null> {
    return tx.findOne(ReservationEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  linesOf(tx: EntityManager, reservationIds: readonly string[]): Promise<ReservationLineEntity[]> {
    return tx.find(ReservationLineEntity, {
      where: { reservationId: In([...reservationIds]) },
      order: { reservationId: 'ASC', sku: 'ASC', locationId: 'ASC' },
    });
  },

  updateLine(tx: EntityManager, line: ReservationLineEntity): Promise<unknown> {
    return tx.update(
      ReservationLineEntity,
      { reservationId: line.reservationId, sku: line.sku, locationId: line.locationId },
      { committedQuantity: line.committedQuantity, releasedQuantity: line.releasedQuantity, open: line.open },
    );
  },

  setStatus(tx: EntityManager, id: string, status: ReservationStatus, at: Date): Promise<unknown> {
    return tx.update(ReservationEntity, { id }, { status, updatedAt: at });
  },

  /** Sets the expiry of the reservation and of its lines (which carry it for the level-wise expired sum). */
  async setExpiry(tx: EntityManager, id: string, expiresAt: Date | null, at: Date): Promise<void> {
    await tx.update(ReservationEntity, { id }, { expiresAt, updatedAt: at });
    await tx.update(ReservationLineEntity, { reservationId: id }, { expiresAt });
  },

  /** Ids of active reservations past their expiry, oldest first. */
  async expiredIds(tx: EntityManager, now: Date, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await tx.query(
      `SELECT id FROM reservations WHERE status = 'ACTIVE' AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  },
};
