import type { EntityManager } from 'typeorm';
import { StockMovementEntity } from './stock-movement.entity.js';

/** SQL for the movement ledger. Every method runs on the manager it is given. */
export const stockMovementStore = {
  /** Fails with ER_DUP_ENTRY when the idempotency key was used before. */
  insert(tx: EntityManager, movement: StockMovementEntity): Promise<unknown> {
    return tx.insert(StockMovementEntity, movement);
  },

  setOnHandBalances(tx: EntityManager, movement: Pick<StockMovementEntity, 'id' | 'onHandBefore' | 'onHandAfter'>): Promise<unknown> {
    return tx.update(
      StockMovementEntity,
      { id: movement.id },
      { onHandBefore: movement.onHandBefore, onHandAfter: movement.onHandAfter },
    );
  },

  /** The movement stored under this key; throws when there is none. */
  getByIdempotencyKey(tx: EntityManager, idempotencyKey: string): Promise<StockMovementEntity> {
    return tx.findOneOrFail(StockMovementEntity, { where: { idempotencyKey } });
  },
};
