import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { oneByKey } from '../../../lib/batch.js';
import { isDuplicateKey } from '../../../lib/db.js';
import { ConflictError, parseInput } from '../../../lib/errors.js';
import { decodeCursor, MAX_PAGE_SIZE, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertPageSize, skuSchema } from '../../../lib/validation.js';
import { InventoryItemEntity } from '../data/item.entity.js';
import { itemReads, itemStore } from '../data/item.store.js';
import type { Reads } from '../../../lib/read-replicas.js';

export const skuListSchema = z.array(skuSchema).min(1).max(MAX_PAGE_SIZE);

/** True when the value is a well-formed SKU; lookups by malformed SKU answer BAD_USER_INPUT, entity references null. */
export function isSku(value: unknown): value is string {
  return skuSchema.safeParse(value).success;
}

const createSchema = z.object({
  sku: skuSchema,
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullish(),
  barcode: z
    .string()
    .regex(/^\d{8,14}$/, 'must be 8 to 14 digits')
    .nullish(),
});

export type CreateInventoryItemInput = z.input<typeof createSchema>;

export class ItemService {
  constructor(private readonly ds: DataSource) {}

  /** Items for the given SKUs, in key order, null where none exists (the loader's batch function). */
  async bySkus(reads: Reads, skus: readonly string[]): Promise<(InventoryItemEntity | null)[]> {
    return oneByKey(skus, await reads.run((r) => itemReads.findBySkus(r, skus)), (r) => r.sku);
  }

  /**
   * @throws BadUserInputError for a bad page size or cursor
   */
  async list(reads: Reads, first: number | null | undefined, after: string | null | undefined): Promise<Connection<InventoryItemEntity>> {
    const size = assertPageSize(first);
    const afterSku = after ? String(decodeCursor(after, 1)[0]) : null;
    const rows = await reads.run((r) => itemReads.page(r, size + 1, afterSku));
    return toConnection(rows, size, (r) => [r.sku]);
  }

  /**
   * @throws BadUserInputError for invalid input
   * @throws ConflictError when the SKU exists
   */
  async create(input: CreateInventoryItemInput): Promise<InventoryItemEntity> {
    const v = parseInput(createSchema, input);
    const now = new Date();
    const row = Object.assign(new InventoryItemEntity(), {
      sku: v.sku,
      name: v.name,
      description: v.description || null,
      barcode: v.barcode ?? null,
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
    });
    try {
      await itemStore.insert(this.ds.manager, [row]);
    } catch (err) {
      if (isDuplicateKey(err)) {
        throw new ConflictError(`An inventory item with SKU ${v.sku} already exists`, { sku: v.sku });
      }
      throw err;
    }
    return row;
  }
}
