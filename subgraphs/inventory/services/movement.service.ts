import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { BadUserInputError, ConflictError, DomainError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { outboxStore } from '../../../lib/outbox.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { levelKeyOf, stockChangedEvent, withDelta } from '../domain/level-math.js';
import { requestHash } from '../../../contracts/idempotency.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import { derivedKey, keysOf, movementSchema, planMovement, type LevelChange, type Movement } from '../domain/movement-rules.js';
import { replicaStore } from '../data/replica.store.js';
import type { StockLevelEntity } from '../data/stock-level.entity.js';
import type { StockLevel } from '../domain/stock.js';
import { stockLevelStore, type LevelKey } from '../data/stock-level.store.js';
import { ledgerLine, type StockMovementEntity } from '../data/stock-movement.entity.js';
import { stockMovementStore } from '../data/stock-movement.store.js';
import { TransferEntity } from '../data/transfer.entity.js';
import { nameLocations } from './location-codes.js';

export const MAX_BATCH = 1000;
/** The INT columns' ceiling. */
const MAX_COUNTER = 2_147_483_647;

export interface MovementResult {
  movement: StockMovementEntity;
  stockLevel: StockLevelEntity;
  /** True when the idempotency key had already been applied and nothing changed. */
  replayed: boolean;
}

/** A CYCLE_COUNT decided on the level as it is locked (recordCounts). */
export interface CountCorrection {
  sku: string;
  locationId: string;
  /** The on-hand the level is to hold, given the level locked; null leaves the level alone. */
  countOf: (level: StockLevel) => number | null;
  idempotencyKey: string;
  reference: string;
}

export interface CountOutcome {
  /** The ledger line; null where countOf left the level alone. */
  movement: StockMovementEntity | null;
  /** The level as it was locked, before the movement. */
  before: StockLevelEntity;
}

export interface MovementOutcome {
  index: number;
  result: MovementResult | null;
  error: { code: string; message: string } | null;
}

const safetyStockSchema = z.object({
  sku: skuSchema,
  locationId: idSchema,
  safetyStock: z.number().int().min(0).max(MAX_QUANTITY),
  expectedVersion: z.number().int().min(0).nullish(),
});

/** A level to be written does not exist yet: the transaction is run again, creating it first. */
class MissingLevel extends Error {}

/**
 * Locks the levels, the first locking statement of the transaction, in primary-key order. With
 * `create`, absent levels are created at zero by that same statement; without, an absent level
 * aborts the transaction with MissingLevel. Creating a row after locking a later one would take
 * locks out of order and deadlock with a writer that found the row already there.
 * @throws NotFoundError when the SKU does not exist (the levels' foreign key)
 */
async function lockLevels(tx: EntityManager, keys: LevelKey[], sku: string, now: Date, create: boolean): Promise<Map<string, StockLevelEntity>> {
  if (create) {
    try {
      await stockLevelStore.createMissing(tx, keys, now);
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_NO_REFERENCED_ROW_2') throw new NotFoundError('InventoryItem', sku);
      throw err;
    }
  }
  const rows = await stockLevelStore.lock(tx, keys, now);
  if (rows.length < keys.length) throw new MissingLevel();
  return new Map(rows.map((r) => [levelKeyOf(r), r]));
}

/** Runs a write transaction on levels that usually exist; when one does not, runs it again creating it first. */
export function onLevels<T>(ds: DataSource, work: (tx: EntityManager, create: boolean) => Promise<T>): Promise<T> {
  return writeTransaction(ds, (tx) => work(tx, false)).catch((err: unknown) => {
    if (err instanceof MissingLevel) return writeTransaction(ds, (tx) => work(tx, true));
    throw err;
  });
}

/**
 * @throws NotFoundError naming the first location inventory has never heard of
 */
export async function assertLocationsKnown(tx: EntityManager, ids: readonly string[]): Promise<void> {
  const unique = [...new Set(ids)];
  const known = new Set((await replicaStore.locations(tx, unique)).map((l) => l.location_id));
  const missing = unique.find((id) => !known.has(id));
  if (missing) throw new NotFoundError('Location', missing);
}

/**
 * The stock ledger: every change of on-hand, damaged or incoming is one movement, applied in one
 * short transaction on locked levels, recorded with its before and after quantities, and announced
 * through the outbox in the same transaction.
 */
export class MovementService {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records one movement; a retry with the same idempotency key returns the first result.
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError for an unknown SKU, location or transfer
   * @throws InsufficientStockError when the movement would take stock that is not there
   * @throws ConflictError for a failed compare-and-set or a key reused for another request
   */
  async record(input: unknown, actor: string | null): Promise<MovementResult> {
    const m = parseInput(movementSchema, input);
    const hash = requestHash(m);
    const prior = await stockMovementStore.findByIdempotencyKey(this.ds.manager, m.idempotencyKey);
    if (prior) return this.replay(prior, hash);
    try {
      return await onLevels(this.ds, (tx, create) => this.apply(tx, m, hash, actor, create));
    } catch (err) {
      // Two requests with one key raced: the loser's insert hit the unique key after the winner committed.
      if (isDuplicateKey(err)) {
        const winner = await stockMovementStore.findByIdempotencyKey(this.ds.manager, m.idempotencyKey);
        if (winner) return this.replay(winner, hash);
      }
      throw await nameLocations(this.ds, err);
    }
  }

  /**
   * Records up to 1,000 movements in order, each in its own transaction; a refused movement does
   * not stop the ones after it.
   * @throws BadUserInputError for an empty batch or one over 1,000
   */
  async recordMany(inputs: unknown[], actor: string | null): Promise<MovementOutcome[]> {
    if (inputs.length === 0 || inputs.length > MAX_BATCH) {
      throw new BadUserInputError(`A batch holds 1 to ${MAX_BATCH} movements, not ${inputs.length}`, [
        { path: 'inputs', message: `1 to ${MAX_BATCH} movements` },
      ]);
    }
    const outcomes: MovementOutcome[] = [];
    for (const [index, input] of inputs.entries()) {
      try {
        outcomes.push({ index, result: await this.record(input, actor), error: null });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        outcomes.push({ index, result: null, error: { code: err.code, message: err.message } });
      }
    }
    return outcomes;
  }

  /**
   * Sets a level's safety stock (held back from every channel); not a movement, since on-hand is unchanged.
   * @throws BadUserInputError, NotFoundError, ConflictError as for record()
   */
  async setSafetyStock(input: unknown): Promise<StockLevelEntity> {
    const v = parseInput(safetyStockSchema, input);
    return onLevels(this.ds, async (tx, create) => {
      const now = new Date();
      await assertLocationsKnown(tx, [v.locationId]);
      const level = (await lockLevels(tx, [v], v.sku, now, create)).get(levelKeyOf(v))!;
      if (v.expectedVersion != null && v.expectedVersion !== level.version) {
        throw new ConflictError('The stock level changed since it was read', { currentVersion: level.version });
      }
      const delta = { safetyStock: v.safetyStock - level.safetyStock };
      await stockLevelStore.applyDelta(tx, v, delta, now);
      const after = withDelta(level, delta, now);
      await outboxStore.append(tx, [stockChangedEvent(level, after, 'SAFETY_STOCK', now)], now);
      return after;
    });
  }

  /**
   * Records CYCLE_COUNT movements inside the caller's transaction (run through onLevels): every
   * level locked at once in primary-key order, as the ledger locks them, each count decided on its
   * locked level, applied in SQL with its ledger line and `stock` event. Lines that exist were
   * compared against known items and locations when they were recorded, so neither is checked again.
   * @returns per correction, in the order given, its ledger line (null where countOf declined) and the level before
   */
  async recordCounts(tx: EntityManager, corrections: readonly CountCorrection[], actor: string | null, create: boolean): Promise<CountOutcome[]> {
    if (!corrections.length) return [];
    const now = new Date();
    const locked = await lockLevels(tx, corrections.map((c) => ({ sku: c.sku, locationId: c.locationId })), corrections[0]!.sku, now, create);
    const planned = corrections.map((c) => {
      const before = locked.get(levelKeyOf(c))!;
      const count = c.countOf(before);
      const m: Movement | null =
        count === null ? null : { idempotencyKey: c.idempotencyKey, type: 'CYCLE_COUNT', sku: c.sku, locationId: c.locationId, quantity: count, reference: c.reference };
      return { before, m, change: m ? planMovement(m, [before], null)[0]! : null };
    });
    const applied = planned.filter((p): p is typeof p & { m: Movement; change: LevelChange } => p.m !== null && p.change !== null);
    const afters = await this.applyChanges(tx, applied.map((p) => p.change), locked, 'CYCLE_COUNT', now);
    const movements = applied.map((p, i) =>
      this.movementRow(p.m, p.change, p.before, afters[i]!, { idempotencyKey: p.m.idempotencyKey, requestHash: null, transferId: null, actor, at: now }),
    );
    if (movements.length) await stockMovementStore.insert(tx, movements);
    const byKey = new Map(movements.map((m) => [levelKeyOf(m), m]));
    return planned.map((p) => ({ movement: p.m ? byKey.get(levelKeyOf(p.m))! : null, before: p.before }));
  }

  private async apply(tx: EntityManager, m: Movement, hash: string, actor: string | null, create: boolean): Promise<MovementResult> {
    const now = new Date();
    const keys = keysOf(m);
    await assertLocationsKnown(tx, keys.map((k) => k.locationId));
    let transfer: TransferEntity | null = null;
    if (m.type === 'TRANSFER_IN') {
      transfer = await stockMovementStore.lockTransfer(tx, m.transferId!);
      if (!transfer) throw new NotFoundError('Transfer', m.transferId!);
    }
    const locked = await lockLevels(tx, keys, m.sku, now, create);
    const changes = planMovement(m, keys.map((k) => locked.get(levelKeyOf(k))!), transfer);

    if (m.type === 'TRANSFER_OUT') {
      transfer = Object.assign(new TransferEntity(), {
        id: randomUUID(),
        sku: m.sku,
        fromLocationId: m.locationId,
        toLocationId: m.destinationLocationId!,
        quantity: m.quantity,
        receivedQuantity: 0,
        status: 'IN_TRANSIT',
        createdAt: now,
        updatedAt: now,
      });
      await stockMovementStore.insertTransfer(tx, transfer);
    } else if (transfer) {
      await stockMovementStore.receiveTransfer(tx, transfer.id, m.quantity, now);
    }

    const afters = await this.applyChanges(tx, changes, locked, m.type, now, m.occurredAt, m.reason);
    const movements = changes.map((c, i) =>
      this.movementRow(m, c, locked.get(levelKeyOf(c.key))!, afters[i]!, {
        // The destination of a transfer gets its own ledger line under a derived key.
        idempotencyKey: i === 0 ? m.idempotencyKey : derivedKey(m.idempotencyKey, 'in-transit'),
        requestHash: i === 0 ? hash : null,
        transferId: transfer?.id ?? null,
        actor,
        at: now,
      }),
    );
    await stockMovementStore.insert(tx, movements);
    return { movement: movements[0]!, stockLevel: afters[0]!, replayed: false };
  }

  /** Applies each change in SQL and appends its event; returns the levels after. */
  private async applyChanges(
    tx: EntityManager,
    changes: LevelChange[],
    locked: Map<string, StockLevelEntity>,
    change: string,
    now: Date,
    occurredAt?: Date | null,
    reason?: string | null,
  ): Promise<StockLevelEntity[]> {
    const afters: StockLevelEntity[] = [];
    for (const c of changes) {
      const after = withDelta(locked.get(levelKeyOf(c.key))!, c.delta, now);
      if (Math.max(after.onHand, after.incoming, after.damaged) > MAX_COUNTER) {
        throw new ConflictError('The movement would take a quantity beyond its maximum', { ...c.key, maximum: MAX_COUNTER });
      }
      await stockLevelStore.applyDelta(tx, c.key, c.delta, now);
      afters.push(after);
    }
    await outboxStore.append(
      tx,
      changes.map((c, i) => stockChangedEvent(locked.get(levelKeyOf(c.key))!, afters[i]!, change, now, occurredAt, reason)),
      now,
    );
    return afters;
  }

  private movementRow(
    m: Movement,
    change: LevelChange,
    before: StockLevelEntity,
    after: StockLevelEntity,
    extra: { idempotencyKey: string; requestHash: string | null; transferId: string | null; actor: string | null; at: Date },
  ): StockMovementEntity {
    return ledgerLine({
      idempotencyKey: extra.idempotencyKey,
      sku: change.key.sku,
      locationId: change.key.locationId,
      type: m.type,
      reason: m.type === 'CYCLE_COUNT' ? 'CYCLE_COUNT' : (m.reason ?? null),
      quantity: change.delta.onHand ?? 0,
      reference: m.reference ?? null,
      onHandBefore: before.onHand,
      onHandAfter: after.onHand,
      damagedChange: change.delta.damaged ?? 0,
      incomingChange: change.delta.incoming ?? 0,
      versionAfter: after.version,
      actor: extra.actor,
      correlationId: m.correlationId ?? null,
      occurredAt: m.occurredAt ?? null,
      transferId: extra.transferId,
      requestHash: extra.requestHash,
      createdAt: extra.at,
    });
  }

  private async replay(prior: StockMovementEntity, hash: string): Promise<MovementResult> {
    if (prior.requestHash !== hash) {
      throw new ConflictError('idempotency key reused with a different request', { idempotencyKey: prior.idempotencyKey });
    }
    const stockLevel = await stockLevelStore.find(this.ds.manager, prior, new Date());
    if (!stockLevel) throw new Error(`level of movement ${prior.id} is missing`);
    return { movement: prior, stockLevel, replayed: true };
  }
}
