import type { Reads } from '../../../lib/read-replicas.js';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../../lib/batch.js';
import { parseInput } from '../../../lib/errors.js';
import { decodeCursor, MAX_PAGE_SIZE, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertPageSize, idSchema, skuSchema } from '../../../lib/validation.js';
import type { StockLevelEntity } from '../data/stock-level.entity.js';
import { stockLevelReads, type StockTotals } from '../data/stock-level.store.js';
import type { StockMovementEntity } from '../data/stock-movement.entity.js';
import { stockMovementReads } from '../data/stock-movement.store.js';
import type { TransferEntity } from '../data/transfer.entity.js';

// idSchema lower-cases, so differently-cased spellings of one location id never split its stock.
const locationIdsSchema = z.array(idSchema).max(MAX_PAGE_SIZE).nullish();
const levelKeySchema = z.object({ sku: skuSchema, locationId: idSchema });
const pageSkusSchema = z.array(skuSchema).max(MAX_PAGE_SIZE).nullish();
const movementsPageSchema = z.object({ sku: skuSchema, locationId: idSchema, since: z.date().nullish() });

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

/**
 * What the API shows of stock: levels, totals, ledgers, transfers. Every read runs where the
 * request's `Reads` sends it (a read replica that includes the caller's writes, or the primary).
 */
export class StockService {

  /** Every level of each SKU, ordered by location id, in key order (the loader's batch function). */
  async levelsBySkus(reads: Reads, skus: readonly string[]): Promise<StockLevelEntity[][]> {
    return manyByKey(skus, await reads.run((r) => stockLevelReads.findBySkus(r, skus, new Date())), (l) => l.sku);
  }

  /** Quantities summed over every location, in key order; zero for SKUs never stocked. */
  async totalsBySkus(reads: Reads, skus: readonly string[]): Promise<StockTotals[]> {
    const totals = oneByKey(skus, await reads.run((r) => stockLevelReads.totalsBySkus(r, skus, new Date())), (t) => t.sku);
    return totals.map((t) => t ?? ZERO_TOTALS);
  }

  /**
   * @throws BadUserInputError for a malformed SKU or location id
   */
  async level(reads: Reads, sku: string, locationId: string): Promise<StockLevelEntity | null> {
    const key = parseInput(levelKeySchema, { sku, locationId });
    return reads.run((r) => stockLevelReads.find(r, key, new Date()));
  }

  /**
   * A page of levels per key (the loader's batch function): one query per distinct arguments, for
   * all the locations asking with them. Bad arguments fail only the keys that carry them.
   */
  async pagesAtLocations(reads: Reads, keys: readonly LocationStockKey[]): Promise<(Connection<StockLevelEntity> | Error)[]> {
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
        const rows = await reads.run((r) =>
          stockLevelReads.firstPerLocation(r, [...new Set(locationIds)], { skus: page.skus, afterSku: page.afterSku }, page.size + 1, new Date()),
        );
        manyByKey(locationIds, rows, (r) => r.locationId).forEach((levels, j) => {
          out[indexes[j]] = toConnection(levels, page.size, (r) => [r.sku]);
        });
      }),
    );
    return out;
  }

  /**
   * One level's ledger, oldest first.
   * @throws BadUserInputError for a malformed SKU or location id, a bad page size or cursor
   */
  async movements(reads: Reads, args: { sku: string; locationId: string; since?: Date | null; first?: number | null; after?: string | null }): Promise<Connection<StockMovementEntity>> {
    const v = parseInput(movementsPageSchema, args);
    const size = assertPageSize(args.first, 50);
    const afterSeq = args.after ? String(decodeCursor(args.after, 1)[0]) : null;
    const rows = await reads.run((r) => stockMovementReads.page(r, { sku: v.sku, locationId: v.locationId, since: v.since ?? null, afterSeq }, size + 1));
    return toConnection(rows, size, (m) => [m.seq]);
  }

  /** Transfers for the given ids, in key order (the loader's batch function). */
  async transfersByIds(reads: Reads, ids: readonly string[]): Promise<(TransferEntity | null)[]> {
    return oneByKey(ids, await reads.run((r) => stockMovementReads.findTransfers(r, ids)), (t) => t.id);
  }

  /** Movements for the given ids, in key order (the loader's batch function). */
  async movementsByIds(reads: Reads, ids: readonly string[]): Promise<(StockMovementEntity | null)[]> {
    return oneByKey(ids, await reads.run((r) => stockMovementReads.findByIds(r, ids)), (m) => m.id);
  }
}
