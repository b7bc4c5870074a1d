import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { BadUserInputError, ConflictError, DomainError, InsufficientStockError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { logger } from '../../../lib/logger.js';
import { outboxStore } from '../../../lib/outbox.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { levelKeyOf, stockChangedEvent, withDelta } from '../domain/level-math.js';
import { requestHash } from '../../../contracts/idempotency.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import { derivedKey, keysOf, movementSchema, planMovement, shortLinesOf, withLocationCodes, type LevelChange, type Movement } from '../domain/movement-rules.js';
import {
  isGroupable,
  keysToLock,
  MAX_COUNTER,
  netChanges,
  planBatch,
  runsOf,
  screenBatch,
  type BatchEntry,
  type Planned,
} from '../domain/movement-batch.js';
import { itemStore } from '../data/item.store.js';
import { replicaStore } from '../data/replica.store.js';
import { StockLevelEntity } from '../data/stock-level.entity.js';
import type { StockLevel } from '../domain/stock.js';
import { stockLevelStore, type LevelKey } from '../data/stock-level.store.js';
import { ledgerLine, type StockMovementEntity } from '../data/stock-movement.entity.js';
import { stockMovementStore } from '../data/stock-movement.store.js';
import { TransferEntity } from '../data/transfer.entity.js';
import { nameLocations } from './location-codes.js';

export const MAX_BATCH = 1000;
/**
 * Movements of a batch recorded per transaction (recordMany). Measured in process on two cores,
 * 1,000-movement batches over 30,000 levels: groups of 100 ran about 3,300 movements/s, of 250 to
 * 1,000 between 3,500 and 4,300 (within the noise of one another). 500 spreads a transaction's cost
 * as thin as larger groups while holding its levels' locks about half as long as 1,000 (some 120 ms),
 * which reservations on those levels wait out.
 */
export const MOVEMENT_GROUP = 500;

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
  /** `groupSize`: movements of a batch per transaction (tests and benchmarks; MOVEMENT_GROUP otherwise). */
  constructor(
    private readonly ds: DataSource,
    private readonly opts: { groupSize?: number } = {},
  ) {}

  /**
   * Records one movement; a retry with the same idempotency key returns the first result.
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError for an unknown SKU, location or transfer
   * @throws InsufficientStockError when the movement would take stock that is not there
   * @throws ConflictError for a failed compare-and-set or a key reused for another request
   */
  async record(input: unknown, actor: string | null): Promise<MovementResult> {
    const m = parseInput(movementSchema, input);
    return this.recordParsed(m, requestHash(m), actor);
  }

  private async recordParsed(m: Movement, hash: string, actor: string | null): Promise<MovementResult> {
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
   * Records up to 1,000 movements in order, each with its own outcome: a refused movement does not
   * stop the others. They are committed a group at a time (groupSize, MOVEMENT_GROUP by default):
   * one transaction locks every level of the group in primary-key order, plans the group on them in
   * input order (movement-batch.ts planBatch: each movement sees its level as the ones before it
   * left it, as if recorded one by one), and writes the group's ledger lines, level changes and
   * `stock` events in a few multi-row statements. A transfer is recorded on its own with record(),
   * between the groups before and after it (it locks a transfer row beside two levels, which the
   * group's plan does not model). A group whose transaction fails for another reason than a
   * movement's rules (a deadlock past its retries, a key recorded meanwhile by another request) is
   * recorded again one movement at a time, so every outcome stays the movement's own.
   * @throws BadUserInputError for an empty batch or one over 1,000
   */
  async recordMany(inputs: unknown[], actor: string | null): Promise<MovementOutcome[]> {
    if (inputs.length === 0 || inputs.length > MAX_BATCH) {
      throw new BadUserInputError(`A batch holds 1 to ${MAX_BATCH} movements, not ${inputs.length}`, [
        { path: 'inputs', message: `1 to ${MAX_BATCH} movements` },
      ]);
    }
    const outcomes: MovementOutcome[] = [];
    const entries: BatchEntry[] = [];
    for (const [index, input] of inputs.entries()) {
      try {
        const movement = parseInput(movementSchema, input);
        entries.push({ index, movement, hash: requestHash(movement) });
      } catch (err) {
        outcomes[index] = refusal(index, err);
      }
    }
    for (const run of runsOf(entries, (e) => isGroupable(e.movement), this.opts.groupSize ?? MOVEMENT_GROUP)) {
      if (run.grouped) {
        for (const o of await this.recordGroup(run.items, actor)) outcomes[o.index] = o;
      } else {
        outcomes[run.item.index] = await this.recordOne(run.item, actor);
      }
    }
    return outcomes;
  }

  private async recordOne(e: BatchEntry, actor: string | null): Promise<MovementOutcome> {
    try {
      return { index: e.index, result: await this.recordParsed(e.movement, e.hash, actor), error: null };
    } catch (err) {
      return refusal(e.index, err);
    }
  }

  /** One group in one transaction; one movement at a time when that transaction fails unexpectedly. */
  private async recordGroup(group: BatchEntry[], actor: string | null): Promise<MovementOutcome[]> {
    let done: { planned: Planned<StockLevelEntity>[]; lines: Map<number, StockMovementEntity> };
    let priors: Map<string, StockMovementEntity>;
    try {
      // Keys are rarely recorded already: their fingerprints first, whole lines only for those that are.
      const recorded = await stockMovementStore.requestHashesOf(this.ds.manager, [...new Set(group.map((e) => e.movement.idempotencyKey))]);
      priors = new Map(
        (recorded.size ? await stockMovementStore.findByIdempotencyKeys(this.ds.manager, [...recorded.keys()]) : []).map((p) => [p.idempotencyKey, p]),
      );
      done = await this.applyGroup(group, priors, actor);
    } catch (err) {
      // Each movement's rules were decided in the plan: whatever failed the transaction (a deadlock
      // past its retries, a key another request recorded meanwhile) is the group's, not a movement's.
      // The error's message and code only: a failed statement carries the group's whole INSERT.
      const { code, message } = err as { code?: string; message?: string };
      logger().warn({ code, message, movements: group.length }, 'a group of movements failed as one; recording them one at a time');
      const outcomes: MovementOutcome[] = [];
      for (const e of group) outcomes.push(await this.recordOne(e, actor));
      return outcomes;
    }
    const codes = await this.codesOfShortLines(done.planned);
    return done.planned.map((p): MovementOutcome => {
      const index = p.entry.index;
      switch (p.kind) {
        case 'applied':
          return { index, result: { movement: done.lines.get(index)!, stockLevel: p.after, replayed: false }, error: null };
        case 'replayed': {
          const movement = p.of ? done.lines.get(p.of.index)! : priors.get(p.entry.movement.idempotencyKey)!;
          return { index, result: { movement, stockLevel: p.level, replayed: true }, error: null };
        }
        case 'refused':
          return refusal(index, p.error instanceof InsufficientStockError ? withLocationCodes(p.error, codes) : p.error);
      }
    });
  }

  /**
   * The group's transaction (through onLevels: run first without creating levels, and once more
   * creating them when a movement that applies needs one that does not exist).
   */
  private async applyGroup(
    group: BatchEntry[],
    priors: ReadonlyMap<string, StockMovementEntity>,
    actor: string | null,
  ): Promise<{ planned: Planned<StockLevelEntity>[]; lines: Map<number, StockMovementEntity> }> {
    /** Levels found missing by the run that did not create them. */
    let missing = new Set<string>();
    return onLevels(this.ds, async (tx, create) => {
      const now = new Date();
      const locations = new Set((await replicaStore.locations(tx, [...new Set(group.map((e) => e.movement.locationId))])).map((l) => l.location_id));
      // A level's SKU exists (its foreign key): SKUs are looked up only where a level is missing, or
      // before creating levels, whose foreign key an unknown SKU would fail for the whole group.
      const unknownSkusOf = async (skus: string[]) => {
        const known = new Set((await itemStore.findBySkus(tx, [...new Set(skus)])).map((i) => i.sku));
        return new Set(skus.filter((sku) => !known.has(sku)));
      };
      let unknownSkus = create ? await unknownSkusOf(group.map((e) => e.movement.sku)) : new Set<string>();
      let screened = screenBatch(group, { priors, locations, unknownSkus });
      const keys = keysToLock(screened);
      // The first locking statement, in primary-key order, as lockLevels takes them.
      if (create && keys.length) await stockLevelStore.createMissing(tx, keys, now);
      const locked = new Map((await stockLevelStore.lock(tx, keys, now)).map((r) => [levelKeyOf(r), r]));
      if (!create) {
        const absent = keys.filter((k) => !locked.has(levelKeyOf(k)));
        if (absent.length) {
          unknownSkus = await unknownSkusOf(absent.map((k) => k.sku));
          if (unknownSkus.size) screened = screenBatch(group, { priors, locations, unknownSkus });
        }
        missing = new Set(absent.filter((k) => !unknownSkus.has(k.sku)).map(levelKeyOf));
      }
      const planned = planBatch(screened, locked, (key) => zeroLevel(key, now), now);
      const applied = planned.filter((p) => p.kind === 'applied');
      if (applied.some((p) => !locked.has(levelKeyOf(p.change.key)))) throw new MissingLevel();
      if (create) {
        const used = new Set(applied.map((p) => levelKeyOf(p.change.key)));
        await stockLevelStore.deleteUntouched(tx, keys.filter((k) => missing.has(levelKeyOf(k)) && !used.has(levelKeyOf(k))));
      }
      await stockLevelStore.applyNetDeltas(tx, netChanges(planned), now);
      const lines = applied.map((p) =>
        this.movementRow(p.entry.movement, p.change, p.before, p.after, {
          idempotencyKey: p.entry.movement.idempotencyKey,
          requestHash: p.entry.hash,
          transferId: null,
          actor,
          at: now,
        }),
      );
      if (lines.length) await stockMovementStore.insert(tx, lines);
      await outboxStore.append(
        tx,
        applied.map((p) => stockChangedEvent(p.before, p.after, p.entry.movement.type, now, p.entry.movement.occurredAt, p.entry.movement.reason)),
        now,
      );
      return { planned, lines: new Map(applied.map((p, i) => [p.entry.index, lines[i]!])) };
    });
  }

  /** The codes of the locations the group's INSUFFICIENT_STOCK refusals name, read once after the transaction. */
  private async codesOfShortLines(planned: readonly Planned<StockLevelEntity>[]): Promise<Map<string, string>> {
    const ids = new Set<string>();
    for (const p of planned) {
      if (p.kind === 'refused' && p.error instanceof InsufficientStockError) {
        for (const l of shortLinesOf(p.error)) if (l.locationId) ids.add(l.locationId);
      }
    }
    return ids.size ? replicaStore.codesOf(this.ds.manager, [...ids]) : new Map();
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

/** A level as createMissing makes it. */
function zeroLevel(key: { sku: string; locationId: string }, at: Date): StockLevelEntity {
  return Object.assign(new StockLevelEntity(), {
    sku: key.sku,
    locationId: key.locationId,
    onHand: 0,
    reserved: 0,
    safetyStock: 0,
    incoming: 0,
    damaged: 0,
    qualityControl: 0,
    version: 0,
    updatedAt: at,
  });
}

/** A movement's refusal as its outcome; anything but a domain error is thrown on. */
function refusal(index: number, err: unknown): MovementOutcome {
  if (!(err instanceof DomainError)) throw err;
  return { index, result: null, error: { code: err.code, message: err.message } };
}
