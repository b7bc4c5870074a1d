import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { manyByKey, oneByKey } from '../../../lib/batch.js';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { ConflictError, InsufficientStockError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { outboxStore, type OutboxEvent } from '../../../lib/outbox.js';
import { allocate, type ShortLine } from '../domain/allocation.js';
import { itemStore } from '../data/item.store.js';
import { availableOf, expiryEvents, levelKeyOf, stockChangedEvent, withDelta } from '../domain/level-math.js';
import { assertLocationsKnown } from './movement.service.js';
import { requestHash } from '../../../contracts/idempotency.js';
import { derivedKey } from '../domain/movement-rules.js';
import { allocationRuleFor, assertChangeable, assertMayChange, commitSchema, keyOwnerOf, isExpired, openQuantity, pinnedLocations, planCommit, planReservation, reserveSchema, statusAfterCommit, statusOnClose, ttlSchema, type ReservationRequester } from '../domain/reservation-rules.js';
import type { Sourcing } from '../../../contracts/inventory-client.js';
import type { LiveProtection } from './protection.service.js';
import { ReplicaService } from './replica.service.js';
import { ReservationEntity, ReservationLineEntity } from '../data/reservation.entity.js';
import { reservationStore } from '../data/reservation.store.js';
import type { StockLevelEntity } from '../data/stock-level.entity.js';
import { stockLevelStore, type LevelDelta, type LevelKey } from '../data/stock-level.store.js';
import { ledgerLine } from '../data/stock-movement.entity.js';
import { stockMovementStore } from '../data/stock-movement.store.js';
import { nameLocations } from './location-codes.js';

export interface ReservationView extends ReservationEntity {
  __typename: 'Reservation';
  lines: ReservationLineEntity[];
  replayed: boolean;
}

export interface InsufficientStockView {
  __typename: 'InsufficientStock';
  lines: ShortLine[];
}

/** Units per SKU of two holds together. */
const sumOf = (a: ReadonlyMap<string, number> | undefined, b: ReadonlyMap<string, number>): Map<string, number> => {
  const out = new Map(b);
  for (const [sku, units] of a ?? []) out.set(sku, (out.get(sku) ?? 0) + units);
  return out;
};

/** Lines come out in one order however they were made: by SKU, then location id, as the store reads them. */
const byLevel = (a: ReservationLineEntity, b: ReservationLineEntity) =>
  a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0;

/** Unwinds the reservation's transaction when a line is short; reserve() answers InsufficientStock. */
class ShortOfStock extends Error {
  constructor(readonly lines: ShortLine[]) {
    super('short of stock');
  }
}

/** The CONFLICT of a reservation on a channel that is not ACTIVE (counted apart from other conflicts). */
class ChannelInactive extends ConflictError {}

const view = (r: ReservationEntity, lines: ReservationLineEntity[], replayed: boolean): ReservationView =>
  Object.assign(r, { __typename: 'Reservation' as const, lines: [...lines].sort(byLevel), replayed });

/** Why a reservation was refused, as omnistock_reservations_refused_total counts it. */
export type ReservationRefusal = 'INSUFFICIENT_STOCK' | 'CHANNEL_INACTIVE';

/**
 * Reservations hold stock for carts and orders: all lines or none, on locked levels, within the
 * channel's allocation rule; then committed (shipped), released, or expired.
 */
export class ReservationService {
  constructor(
    private readonly ds: DataSource,
    private readonly replicas: ReplicaService = new ReplicaService(ds),
    /** Told of every refused reservation (the subgraph's metrics); orders reserve here too, so this covers both. */
    private readonly onRefused: (reason: ReservationRefusal) => void = () => {},
    /** What a PROTECTIVE channel withholds per SKU from lines placed by its rule; absent: nothing. */
    private readonly protection: Pick<LiveProtection, 'withheld'> | null = null,
  ) {}

  /**
   * Reserves every line or none. Without a location a line is placed by the channel's rule, as its
   * sourcing says (LIVE: a buyer now; SOLD, SOLD_ANY_LOCATION: a sale already made, see Sourcing).
   * @throws BadUserInputError for invalid input (including a pickup location that offers no pickup)
   * @throws NotFoundError for an unknown channel, SKU or location
   * @throws ConflictError for an inactive channel or a key reused for another request
   */
  async reserve(input: unknown, actor: string | null, requester: ReservationRequester | null, sourcing: Sourcing = 'LIVE'): Promise<ReservationView | InsufficientStockView> {
    const v = parseInput(reserveSchema, input);
    const keyOwner = keyOwnerOf(requester);
    // The sourcing is part of the request: the same key for a LIVE and a SOLD reservation is a CONFLICT.
    const hash = requestHash(sourcing === 'LIVE' ? v : { ...v, sourcing });
    const rule = await this.replicas.channelRule(v.channelId);
    if (!rule) throw new NotFoundError('Channel', v.channelId);
    await assertLocationsKnown(this.ds.manager, pinnedLocations(v));
    const { lines, sellable, keys } = planReservation(v, rule, sourcing === 'SOLD_ANY_LOCATION' ? await this.replicas.shippingLocations() : []);
    const sellableIds = new Set(sellable);
    // Read before the transaction: a measured estimate and the other channels' set-asides (which a
    // sale already made respects too: they are promised to those channels), not what the levels' locks protect.
    const placed = lines.filter((l) => l.locationId === null).map((l) => l.sku);
    const [protection, held] = await Promise.all([sourcing === 'LIVE' ? this.protection?.withheld(rule, placed) : undefined, this.replicas.heldForOthers(rule.channelId, placed)]);
    const withheld = sumOf(protection, held);

    try {
      return await writeTransaction(this.ds, async (tx) => {
        const now = new Date();
        const reservation = Object.assign(new ReservationEntity(), {
          id: randomUUID(),
          idempotencyKey: v.idempotencyKey,
          keyOwner,
          channelId: v.channelId,
          reference: v.reference ?? null,
          pickupLocationId: v.pickupLocationId ?? null,
          status: 'ACTIVE' as const,
          expiresAt: new Date(now.getTime() + v.ttlSeconds * 1000),
          requestHash: hash,
          actor,
          createdAt: now,
          updatedAt: now,
        });
        // First, so a retry meets the unique key before any stock is locked (and is replayed).
        await reservationStore.insert(tx, reservation);
        if (rule.status !== 'ACTIVE') throw new ChannelInactive(`Channel ${v.channelId} is ${rule.status}`, { status: rule.status });
        const levels = await stockLevelStore.lock(tx, keys, now);
        const byKey = new Map(levels.map((l) => [levelKeyOf(l), l]));
        // Offline or closed sources sell nothing, even when a line names them.
        const available = new Map(levels.map((l) => [levelKeyOf(l), sellableIds.has(l.locationId) ? availableOf(l) : 0]));
        const { allocations, short } = allocate({ lines, sources: sellable, available, rule: allocationRuleFor(rule, sourcing), withheld });
        if (short.length) {
          // A SKU without any level is either unknown or never stocked: only the first is an error.
          const skus = [...new Set(short.map((l) => l.sku))];
          const known = new Set((await itemStore.findBySkus(tx, skus)).map((i) => i.sku));
          const unknown = skus.find((sku) => !known.has(sku));
          if (unknown) throw new NotFoundError('InventoryItem', unknown);
          throw new ShortOfStock(short);
        }
        const rows = allocations.map((a) =>
          Object.assign(new ReservationLineEntity(), {
            reservationId: reservation.id,
            sku: a.sku,
            locationId: a.locationId,
            quantity: a.quantity,
            committedQuantity: 0,
            releasedQuantity: 0,
            open: true,
            expiresAt: reservation.expiresAt,
          }),
        );
        await reservationStore.insertLines(tx, rows);
        await this.applyToLevels(
          tx,
          rows.map((r) => ({ key: r, delta: { reserved: r.quantity }, visible: true })),
          byKey,
          'RESERVE',
          now,
          reservation.expiresAt,
        );
        return view(reservation, rows, false);
      });
    } catch (err) {
      // Nothing was written: the transaction rolled back, the reservation row with it.
      if (err instanceof ShortOfStock) {
        this.onRefused('INSUFFICIENT_STOCK');
        return { __typename: 'InsufficientStock', lines: err.lines };
      }
      if (err instanceof ChannelInactive) this.onRefused('CHANNEL_INACTIVE');
      if (isDuplicateKey(err)) {
        const winner = await reservationStore.findByIdempotencyKey(this.ds.manager, keyOwner, v.idempotencyKey);
        if (winner) return this.replay(winner, hash);
      }
      throw err;
    }
  }

  /**
   * Releases what the reservation still holds; a reservation that holds nothing is returned as is.
   * @throws NotFoundError when there is no such reservation
   * @throws ForbiddenError when the requester may not change it (assertMayChange)
   */
  async release(id: string, requester: ReservationRequester | null): Promise<ReservationView> {
    return writeTransaction(this.ds, async (tx) => {
      const r = await reservationStore.lock(tx, id);
      if (!r) throw new NotFoundError('Reservation', id);
      assertMayChange(r, requester, 'release');
      const lines = await reservationStore.linesOf(tx, [r.id]);
      if (r.status === 'ACTIVE') await this.close(tx, r, lines, new Date());
      return view(r, lines, false);
    });
  }

  /**
   * Moves an active reservation's expiry: `ttlSeconds` from now, or never (null) once the order it
   * holds stock for is confirmed. A reservation past its expiry cannot be revived.
   * @throws BadUserInputError for a time to live outside 1 s to 7 days
   * @throws NotFoundError when there is no such reservation
   * @throws ConflictError when it expired or holds nothing any more
   * @throws ForbiddenError when the requester may not change it (assertMayChange)
   */
  async extend(id: string, ttlSeconds: number | null, requester: ReservationRequester | null): Promise<ReservationView> {
    const ttl = parseInput(ttlSchema.nullable(), ttlSeconds, 'ttlSeconds');
    return writeTransaction(this.ds, async (tx) => {
      const now = new Date();
      const r = await reservationStore.lock(tx, id);
      if (!r) throw new NotFoundError('Reservation', id);
      assertMayChange(r, requester, ttl === null ? 'hold' : 'extend');
      assertChangeable(r, now);
      const lines = await reservationStore.linesOf(tx, [r.id]);
      await this.lockHeld(tx, r, lines.filter((l) => l.open), now);
      const previous = r.expiresAt;
      r.expiresAt = ttl === null ? null : new Date(now.getTime() + ttl * 1000);
      await reservationStore.setExpiry(tx, r.id, r.expiresAt, now);
      // Readers of available-to-sell hear it: its units are sellable sooner than any stock event
      // said, or (this landing after the old expiry) held again after readers saw them freed.
      await outboxStore.append(tx, expiryEvents(lines, previous, r.expiresAt), now);
      return view(r, lines, false);
    });
  }

  /**
   * Releases active reservations past their expiry, oldest first, each in its own transaction.
   * @returns how many were released
   */
  async releaseExpired(limit: number): Promise<number> {
    const ids = await reservationStore.expiredIds(this.ds.manager, new Date(), limit);
    let released = 0;
    for (const id of ids) {
      released += await writeTransaction(this.ds, async (tx) => {
        const now = new Date();
        const r = await reservationStore.lock(tx, id);
        // A commit or release may have come first.
        if (!r || r.status !== 'ACTIVE' || !isExpired(r, now)) return 0;
        await this.close(tx, r, await reservationStore.linesOf(tx, [r.id]), now);
        return 1;
      });
    }
    return released;
  }

  /**
   * Ships reserved stock: on-hand and reserved both drop by what ships, recorded as FULFILMENT
   * movements. A retry with the same idempotency key changes nothing.
   * @throws BadUserInputError for lines the reservation does not hold
   * @throws NotFoundError when there is no such reservation
   * @throws ConflictError when the reservation expired or holds nothing any more, or the key was used for another request
   * @throws InsufficientStockError when a count took on-hand below what the reservation holds
   * @throws ForbiddenError when the requester may not change it (assertMayChange)
   */
  async commit(input: unknown, actor: string | null, requester: ReservationRequester | null): Promise<ReservationView> {
    const v = parseInput(commitSchema, input);
    const hash = requestHash(v);
    return writeTransaction(this.ds, async (tx) => {
      const now = new Date();
      const r = await reservationStore.lock(tx, v.reservationId);
      if (!r) throw new NotFoundError('Reservation', v.reservationId);
      assertMayChange(r, requester, 'commit');
      const lines = await reservationStore.linesOf(tx, [r.id]);
      const prior = await stockMovementStore.findByIdempotencyKeys(
        tx,
        lines.map((l) => fulfilmentKey(v.idempotencyKey, l)),
      );
      if (prior.length) {
        if (!prior.some((m) => m.requestHash === hash)) {
          throw new ConflictError('idempotency key reused with a different request', { idempotencyKey: v.idempotencyKey });
        }
        return view(r, lines, true);
      }
      assertChangeable(r, now);

      const shipments = planCommit(lines, v.lines ?? null);
      const levels = await this.lockHeld(tx, r, shipments.map((s) => s.line), now);
      const byKey = new Map(levels.map((l) => [levelKeyOf(l), l]));
      for (const s of shipments) {
        const level = byKey.get(levelKeyOf(s.line))!;
        if (level.onHand < s.quantity) {
          throw new InsufficientStockError(`On-hand of ${s.line.sku} at ${s.line.locationId} fell below what the reservation holds`, {
            lines: [{ sku: s.line.sku, locationId: s.line.locationId, requested: s.quantity, available: level.onHand }],
          });
        }
      }
      const afters = await this.applyToLevels(
        tx,
        shipments.map((s) => ({ key: s.line, delta: { onHand: -s.quantity, reserved: -s.quantity }, visible: true })),
        byKey,
        'FULFILMENT',
        now,
      );
      await stockMovementStore.insert(
        tx,
        shipments.map((s, i) =>
          ledgerLine({
            idempotencyKey: fulfilmentKey(v.idempotencyKey, s.line),
            sku: s.line.sku,
            locationId: s.line.locationId,
            type: 'FULFILMENT',
            quantity: -s.quantity,
            reference: r.reference,
            onHandBefore: byKey.get(levelKeyOf(s.line))!.onHand,
            onHandAfter: afters[i]!.onHand,
            versionAfter: afters[i]!.version,
            actor,
            reservationId: r.id,
            requestHash: hash,
            createdAt: now,
          }),
        ),
      );
      for (const s of shipments) {
        s.line.committedQuantity += s.quantity;
        s.line.open = s.line.quantity - s.line.committedQuantity - s.line.releasedQuantity > 0;
        await reservationStore.updateLine(tx, s.line);
      }
      if (statusAfterCommit(lines) === 'COMMITTED') {
        r.status = 'COMMITTED';
        await reservationStore.setStatus(tx, r.id, r.status, now);
      }
      return view(r, lines, false);
    }).catch(async (err: unknown) => {
      throw await nameLocations(this.ds, err);
    });
  }

  /** Reservations for the given ids with their lines, in key order (the loader's batch function). */
  async byIds(ids: readonly string[]): Promise<(ReservationView | null)[]> {
    const rows = oneByKey(ids, await reservationStore.findByIds(this.ds.manager, ids), (r) => r.id);
    const found = rows.filter((r): r is ReservationEntity => r !== null);
    const lines = manyByKey(found.map((r) => r.id), await reservationStore.linesOf(this.ds.manager, found.map((r) => r.id)), (l) => l.reservationId);
    const linesById = new Map(found.map((r, i) => [r.id, lines[i]!]));
    return rows.map((r) => (r ? view(r, linesById.get(r.id)!, false) : null));
  }

  /**
   * Locks the levels where the reservation holds units, then checks it has not expired by the time
   * they are held. Checked only against when the request began, a commit or an extension that
   * waited past the expiry would ship or keep units that a reservation made after the expiry took
   * (it saw them free, and nothing stopped it while this waited).
   * @throws ConflictError when it expired meanwhile
   */
  private async lockHeld(tx: EntityManager, r: ReservationEntity, keys: readonly LevelKey[], now: Date): Promise<StockLevelEntity[]> {
    const levels = await stockLevelStore.lock(tx, keys, now);
    assertChangeable(r, new Date());
    return levels;
  }

  /** Gives back what the reservation still holds and closes it: RELEASED, EXPIRED, or COMMITTED if part shipped. */
  private async close(tx: EntityManager, r: ReservationEntity, lines: ReservationLineEntity[], now: Date): Promise<void> {
    const expired = isExpired(r, now);
    const open = lines.filter((l) => openQuantity(l) > 0);
    const levels = await stockLevelStore.lock(tx, open, now);
    await this.applyToLevels(
      tx,
      // Expired units were already left out of what clients see (see EXPIRED_RESERVED), so
      // releasing them changes the counter but not the visible quantities.
      open.map((l) => ({ key: l, delta: { reserved: -openQuantity(l) }, visible: !expired })),
      new Map(levels.map((l) => [levelKeyOf(l), l])),
      expired ? 'EXPIRE' : 'RELEASE',
      now,
    );
    for (const l of open) {
      l.releasedQuantity += openQuantity(l);
      l.open = false;
      await reservationStore.updateLine(tx, l);
    }
    r.status = statusOnClose(lines, expired);
    await reservationStore.setStatus(tx, r.id, r.status, now);
  }

  /**
   * Applies counter deltas to locked levels in SQL and appends one event per level. `visible`
   * false means the change does not move what clients see (only the version moves); `holdsUntil`,
   * the expiry of the reservation the deltas make.
   */
  private async applyToLevels(
    tx: EntityManager,
    changes: { key: LevelKey; delta: LevelDelta; visible: boolean }[],
    locked: Map<string, StockLevelEntity>,
    change: string,
    now: Date,
    holdsUntil?: Date | null,
  ): Promise<StockLevelEntity[]> {
    const events: OutboxEvent[] = [];
    const afters: StockLevelEntity[] = [];
    for (const c of changes) {
      const before = locked.get(levelKeyOf(c.key));
      if (!before) throw new Error(`stock level ${c.key.sku}@${c.key.locationId} was not locked`);
      await stockLevelStore.applyDelta(tx, c.key, c.delta, now);
      const after = withDelta(before, c.visible ? c.delta : {}, now);
      // A new reservation's units count until its expiry too.
      if (holdsUntil && (!after.nextExpiry || holdsUntil < after.nextExpiry)) after.nextExpiry = holdsUntil;
      // Several lines of one level in a batch see each other's changes.
      locked.set(levelKeyOf(c.key), after);
      afters.push(after);
      events.push(stockChangedEvent(before, after, change, now));
    }
    await outboxStore.append(tx, events, now);
    return afters;
  }

  private async replay(prior: ReservationEntity, hash: string): Promise<ReservationView> {
    if (prior.requestHash !== hash) {
      throw new ConflictError('idempotency key reused with a different request', { idempotencyKey: prior.idempotencyKey });
    }
    return view(prior, await reservationStore.linesOf(this.ds.manager, [prior.id]), true);
  }
}

const fulfilmentKey = (key: string, line: { sku: string; locationId: string }) => derivedKey(key, line.sku, line.locationId);
