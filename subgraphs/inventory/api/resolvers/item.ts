import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parseInput } from '../../../../lib/errors.js';
import { skuSchema } from '../../../../lib/validation.js';
import type { InventoryContext } from '../context.js';
import type { InventoryItemEntity } from '../../data/item.entity.js';
import { isSku, skuListSchema, type CreateInventoryItemInput } from '../../services/item.service.js';
import { atLocations } from '../../services/stock.service.js';

export const itemResolvers = {
  Query: {
    inventoryItem: (_: unknown, args: { sku: string }, ctx: InventoryContext) =>
      ctx.loaders.itemBySku.load(parseInput(skuSchema, args.sku, 'sku')),
    inventoryItems: (_: unknown, args: { skus: string[] }, ctx: InventoryContext) =>
      Promise.all(parseInput(skuListSchema, args.skus, 'skus').map((sku) => ctx.loaders.itemBySku.load(sku))),
    inventoryItemsPage: (_: unknown, args: { first?: number; after?: string }, ctx: InventoryContext) =>
      ctx.items.list(ctx.reads, args.first, args.after),
  },
  Mutation: {
    createInventoryItem: (_: unknown, args: { input: CreateInventoryItemInput }, ctx: InventoryContext) =>
      ctx.items.create(args.input),
  },
  InventoryItem: {
    __resolveReference: (ref: { sku: unknown }, ctx: InventoryContext) =>
      isSku(ref.sku) ? ctx.loaders.itemBySku.load(ref.sku) : null,
    stockLevels: async (item: InventoryItemEntity, args: { locationIds?: string[] | null }, ctx: InventoryContext) =>
      atLocations(await ctx.loaders.stockLevelsBySku.load(item.sku), args.locationIds),
    totals: (item: InventoryItemEntity, _args: unknown, ctx: InventoryContext) => ctx.loaders.stockTotalsBySku.load(item.sku),
  },
} satisfies GraphQLResolverMap<InventoryContext>;
