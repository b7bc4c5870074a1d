import { In, type EntityManager } from 'typeorm';
import { DriftLineEntity, ReconciliationRunEntity } from './reconciliation.entity.js';

/** SQL for reconciliation runs. Every method runs on the manager it is given. */
export const reconciliationStore = {
  /** On-hand per level for the given keys (absent levels are absent). */
  async onHand(tx: EntityManager, keys: readonly { sku: string; locationId: string }[]): Promise<{ sku: string; location_id: string; on_hand: number }[]> {
    if (!keys.length) return [];
    return tx.query('SELECT sku, location_id, on_hand FROM stock_levels WHERE (sku, location_id) IN (?)', [keys.map((k) => [k.sku, k.locationId])]);
  },

  /** Fails with ER_DUP_ENTRY when the idempotency key was used before. */
  async insert(tx: EntityManager, run: ReconciliationRunEntity, drifts: DriftLineEntity[]): Promise<void> {
    await tx.insert(ReconciliationRunEntity, run);
    for (let i = 0; i < drifts.length; i += 1000) await tx.insert(DriftLineEntity, drifts.slice(i, i + 1000));
  },

  findByIdempotencyKey(tx: EntityManager, key: string): Promise<ReconciliationRunEntity | null> {
    return tx.findOne(ReconciliationRunEntity, { where: { idempotencyKey: key } });
  },

  /** Locks the run until the transaction ends (every apply of one run serialises here); null when there is none. */
  lockRun(tx: EntityManager, id: string): Promise<ReconciliationRunEntity | null> {
    return tx.findOne(ReconciliationRunEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  /** Records what applying the locked run did: each line's outcome and correction, and the run applied. */
  async markApplied(tx: EntityManager, runId: string, lines: readonly DriftLineEntity[]): Promise<void> {
    for (const d of lines) {
      await tx.query('UPDATE reconciliation_drifts SET outcome = ?, movement_id = ? WHERE run_id = ? AND sku = ? AND location_id = ?', [
        d.outcome,
        d.movementId,
        runId,
        d.sku,
        d.locationId,
      ]);
    }
    await tx.query('UPDATE reconciliation_runs SET applied = 1 WHERE id = ?', [runId]);
  },

  findByIds(tx: EntityManager, ids: readonly string[]): Promise<ReconciliationRunEntity[]> {
    return tx.find(ReconciliationRunEntity, { where: { id: In([...ids]) } });
  },

  /** Runs newest first, optionally of one source, keyset on (created_at, id). */
  page(tx: EntityManager, source: string | null, after: { createdAt: Date; id: string } | null, limit: number): Promise<ReconciliationRunEntity[]> {
    const qb = tx.createQueryBuilder(ReconciliationRunEntity, 'r');
    if (source) qb.andWhere('r.source = :source', { source });
    if (after) qb.andWhere('(r.created_at < :at OR (r.created_at = :at AND r.id < :id))', { at: after.createdAt, id: after.id });
    return qb.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').limit(limit).getMany();
  },

  driftsOf(tx: EntityManager, runIds: readonly string[]): Promise<DriftLineEntity[]> {
    return tx.find(DriftLineEntity, { where: { runId: In([...runIds]) }, order: { runId: 'ASC', sku: 'ASC', locationId: 'ASC' } });
  },
};
