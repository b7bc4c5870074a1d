import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../lib/batch.js';
import { isDuplicateKey } from '../../lib/db.js';
import { ConflictError, NotFoundError, parseInput } from '../../lib/errors.js';
import { decodeCursor, MAX_PAGE_SIZE, toConnection, type Connection } from '../../lib/pagination.js';
import { assertPageSize, idSchema, skuSchema } from '../../lib/validation.js';
import type { StockLevelEntity } from './stock-level.entity.js';
import { stockLevelStore, type StockTotals } from './stock-level.store.js';
import { StockMovementEntity } from './stock-movement.entity.js';
import { stockMovementStore } from './stock-movement.store.js';

// idSchema lower-cases, so differently-cased spellings of one location id never split its stock.
const locationIdsSchema = z.array(idSchema).max(MAX_PAGE_SIZE).nullish();
const levelKeySchema = z.object({ sku: skuSchema, locationId: idSchema });
const pageSkusSchema = z.array(skuSchema).max(MAX_PAGE_SIZE).nullish();

const receiveSchema = z.object({
  idempotencyKey: z.string().min(1).max(128),
  sku: skuSchema,
  locationId: idSchema,
  quantity: z.number().int().min(1).max(1_000_000_000),
  reference: z.string().max(500).nullish(),
});

export type ReceiveStockInput = z.input<typeof receiveSchema>;
type Receipt = z.output<typeof receiveSchema>;

export interface ReceiveStockResult {
  movement: StockMovementEntity;
  stockLevel: StockLevelEntity;
  /** True when the idempotency key had already been applied and nothing changed. */
  replayed: boolean;
}

/** Arguments of `Location.stockLevels` as GraphQL passes them. */
export interface LocationStockArgs {
  skus?: string[] | null;
  first?: number | null;
  after?: string | null;
}

export interface LocationStockKey {
  locationId: string;
  args: LocationStockArgs;
}

const DEFAULT_LOCATION_PAGE = 50;

const ZERO_TOTALS: StockTotals = { onHand: 0, reserved: 0, available: 0, incoming: 0, damaged: 0, qualityControl: 0 };

/**
 * What a location may sell: damaged and quality-control units are separate buckets, never part of
 * onHand, so they can never become available. The SQL of stockLevelStore.totalsBySkus mirrors this.
 */
export function availableOf(level: Pick<StockLevelEntity, 'onHand' | 'reserved' | 'safetyStock'>): number {
  return Math.max(0, level.onHand - level.reserved - level.safetyStock);
}

/**
 * The levels at the given locations (all when none are given), keeping their order.
 * @throws BadUserInputError when there are more than 100 ids or one is not a UUID
 */
export function atLocations(levels: StockLevelEntity[], locationIds: readonly string[] | null | undefined): StockLevelEntity[] {
  const ids = parseInput(locationIdsSchema, locationIds, 'locationIds');
  if (!ids) return levels;
  const wanted = new Set(ids);
  return levels.filter((l) => wanted.has(l.locationId));
}

/** Identical arguments share one cache-key part, whatever location they are asked for. */
export function argsKey(args: LocationStockArgs): string {
  return JSON.stringify([args.skus ?? null, args.first ?? null, args.after ?? null]);
}

/** Positions of the keys that share identical arguments, so each distinct set costs one query. */
export function groupByArgs(keys: readonly LocationStockKey[]): { args: LocationStockArgs; indexes: number[] }[] {
  const groups = new Map<string, { args: LocationStockArgs; indexes: number[] }>();
  keys.forEach((key, i) => {
    const k = argsKey(key.args);
    const group = groups.get(k);
    if (group) group.indexes.push(i);
    else groups.set(k, { args: key.args, indexes: [i] });
  });
  return [...groups.values()];
}

/**
 * @throws BadUserInputError for more than 100 SKUs, a malformed SKU, a bad page size or cursor
 */
function parseLocationPage(args: LocationStockArgs) {
  return {
    skus: parseInput(pageSkusSchema, args.skus, 'skus') ?? null,
    size: assertPageSize(args.first, DEFAULT_LOCATION_PAGE),
    afterSku: args.after ? String(decodeCursor(args.after, 1)[0]) : null,
  };
}

export class StockService {
  constructor(private readonly ds: DataSource) {}

  /** Every level of each SKU, ordered by location id, in key order (the loader's batch function). */
  async levelsBySkus(skus: readonly string[]): Promise<StockLevelEntity[][]> {
    return manyByKey(skus, await stockLevelStore.findBySkus(this.ds.manager, skus), (l) => l.sku);
  }

  /** Quantities summed over every location, in key order; zero for SKUs never stocked. */
  async totalsBySkus(skus: readonly string[]): Promise<StockTotals[]> {
    const totals = oneByKey(skus, await stockLevelStore.totalsBySkus(this.ds.manager, skus), (t) => t.sku);
    return totals.map((t) => t ?? ZERO_TOTALS);
  }

  /**
   * @throws BadUserInputError for a malformed SKU or location id
   */
  async level(sku: string, locationId: string): Promise<StockLevelEntity | null> {
    const key = parseInput(levelKeySchema, { sku, locationId });
    return stockLevelStore.find(this.ds.manager, key.sku, key.locationId);
  }

  /**
   * A page of levels per key (the loader's batch function): one query per distinct arguments, for
   * all the locations asking with them. Bad arguments fail only the keys that carry them.
   */
  async pagesAtLocations(keys: readonly LocationStockKey[]): Promise<(Connection<StockLevelEntity> | Error)[]> {
    const out: (Connection<StockLevelEntity> | Error)[] = new Array(keys.length);
    await Promise.all(
      groupByArgs(keys).map(async ({ args, indexes }) => {
        let page: ReturnType<typeof parseLocationPage>;
        try {
          page = parseLocationPage(args);
        } catch (err) {
          for (const i of indexes) out[i] = err as Error;
          return;
        }
        // References keep the id as sent; stored ids are lower-case.
        const locationIds = indexes.map((i) => keys[i].locationId.toLowerCase());
        const rows = await stockLevelStore.firstPerLocation(
          this.ds.manager,
          [...new Set(locationIds)],
          { skus: page.skus, afterSku: page.afterSku },
          page.size + 1,
        );
        manyByKey(locationIds, rows, (r) => r.locationId).forEach((levels, j) => {
          out[indexes[j]] = toConnection(levels, page.size, (r) => [r.sku]);
        });
      }),
    );
    return out;
  }

  /**
   * Books a receipt in one short transaction; a retry with the same idempotency key returns the
   * first movement and the current level with `replayed: true`.
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError when the SKU does not exist
   * @throws ConflictError when the key was used for a different request, or on-hand would exceed the INT range
   */
  async receive(input: ReceiveStockInput): Promise<ReceiveStockResult> {
    const v = parseInput(receiveSchema, input);
    try {
      return await this.ds.transaction((tx) => this.bookReceipt(tx, v));
    } catch (err) {
      // The movement id is a random UUID, so the only key that can collide is the idempotency key.
      if (isDuplicateKey(err)) return this.replayReceipt(v);
      const code = (err as { code?: string }).code;
      if (code === 'ER_NO_REFERENCED_ROW_2') throw new NotFoundError('InventoryItem', v.sku);
      if (code === 'ER_WARN_DATA_OUT_OF_RANGE') {
        throw new ConflictError('The receipt would take on-hand beyond its maximum', { sku: v.sku, locationId: v.locationId });
      }
      throw err;
    }
  }

  private async bookReceipt(tx: EntityManager, v: Receipt): Promise<ReceiveStockResult> {
    const now = new Date();
    const movement = Object.assign(new StockMovementEntity(), {
      id: randomUUID(),
      idempotencyKey: v.idempotencyKey,
      sku: v.sku,
      locationId: v.locationId,
      type: 'RECEIPT',
      quantity: v.quantity,
      reference: v.reference ?? null,
      // Filled in below, before commit; no other transaction can see the row earlier.
      onHandBefore: 0,
      onHandAfter: 0,
      createdAt: now,
    });
    // The movement goes first: a concurrent retry with the same key waits on the unique index and
    // then fails as a duplicate, before it touches the level. The item's foreign key rejects unknown SKUs.
    await stockMovementStore.insert(tx, movement);
    await stockLevelStore.addOnHand(tx, v.sku, v.locationId, v.quantity, now);
    const stockLevel = await stockLevelStore.get(tx, v.sku, v.locationId, true);
    movement.onHandAfter = stockLevel.onHand;
    movement.onHandBefore = stockLevel.onHand - v.quantity;
    await stockMovementStore.setOnHandBalances(tx, movement);
    return { movement, stockLevel, replayed: false };
  }

  private async replayReceipt(v: Receipt): Promise<ReceiveStockResult> {
    const movement = await stockMovementStore.getByIdempotencyKey(this.ds.manager, v.idempotencyKey);
    if (
      movement.type !== 'RECEIPT' ||
      movement.sku !== v.sku ||
      movement.locationId !== v.locationId ||
      movement.quantity !== v.quantity
    ) {
      throw new ConflictError('idempotency key reused with a different request', { idempotencyKey: v.idempotencyKey });
    }
    const stockLevel = await stockLevelStore.get(this.ds.manager, v.sku, v.locationId, false);
    return { movement, stockLevel, replayed: true };
  }
}
