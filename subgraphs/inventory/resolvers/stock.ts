import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { isId } from '../../../lib/validation.js';
import type { InventoryContext } from '../context.js';
import type { StockLevelEntity } from '../stock-level.entity.js';
import type { StockMovementEntity } from '../stock-movement.entity.js';
import { availableOf, type LocationStockArgs, type ReceiveStockInput } from '../stock.service.js';

/** Locations are owned by the locations subgraph; the gateway resolves the rest of the entity there. */
const locationRef = (id: string) => ({ __typename: 'Location' as const, id });

export const stockResolvers = {
  Query: {
    stockLevel: (_: unknown, args: { sku: string; locationId: string }, ctx: InventoryContext) =>
      ctx.stock.level(args.sku, args.locationId),
  },
  Mutation: {
    receiveStock: (_: unknown, args: { input: ReceiveStockInput }, ctx: InventoryContext) => ctx.stock.receive(args.input),
  },
  StockLevel: {
    item: (level: StockLevelEntity, _args: unknown, ctx: InventoryContext) => ctx.loaders.itemBySku.load(level.sku),
    location: (level: StockLevelEntity) => locationRef(level.locationId),
    available: (level: StockLevelEntity) => availableOf(level),
  },
  StockMovement: {
    location: (movement: StockMovementEntity) => locationRef(movement.locationId),
  },
  Location: {
    // No query: stock is keyed by location id, and inventory holds no copy of the locations.
    __resolveReference: (ref: { id: unknown }) => (isId(ref.id) ? { id: ref.id } : null),
    stockLevels: (location: { id: string }, args: LocationStockArgs, ctx: InventoryContext) =>
      ctx.loaders.stockAtLocation.load({ locationId: location.id, args }),
  },
} satisfies GraphQLResolverMap<InventoryContext>;
