import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { GraphQLResolveInfo } from 'graphql';
import { NotFoundError } from '../../../../lib/errors.js';
import { assertId, isId } from '../../../../lib/validation.js';
import type { InventoryContext } from '../context.js';
import { availableOf } from '../../domain/level-math.js';
import type { StockLevelEntity } from '../../data/stock-level.entity.js';
import type { StockMovementEntity } from '../../data/stock-movement.entity.js';
import type { LocationStockArgs } from '../../services/stock.service.js';
import type { TransferEntity } from '../../data/transfer.entity.js';
import { itemOfKeyedRow } from './item-ref.js';

/** Locations are owned by the locations subgraph; the gateway resolves the rest of the entity there. */
export const locationRef = (id: string) => ({ __typename: 'Location' as const, id });

export const stockResolvers = {
  Query: {
    stockLevel: (_: unknown, args: { sku: string; locationId: string }, ctx: InventoryContext) =>
      ctx.stock.level(ctx.reads, args.sku, args.locationId),
    stockMovements: (
      _: unknown,
      args: { sku: string; locationId: string; since?: Date | null; first?: number | null; after?: string | null },
      ctx: InventoryContext,
    ) => ctx.stock.movements(ctx.reads, args),
    transfer: (_: unknown, args: { id: string }, ctx: InventoryContext) => ctx.loaders.transferById.load(assertId(args.id)),
  },
  Mutation: {
    receiveStock: (_: unknown, args: { input: Record<string, unknown> }, ctx: InventoryContext) =>
      ctx.movements.record({ ...args.input, type: 'RECEIPT' }, ctx.clientId),
    recordMovement: (_: unknown, args: { input: unknown }, ctx: InventoryContext) => ctx.movements.record(args.input, ctx.clientId),
    recordMovements: (_: unknown, args: { inputs: unknown[] }, ctx: InventoryContext) =>
      ctx.movements.recordMany(args.inputs, ctx.clientId),
    setSafetyStock: (_: unknown, args: { input: unknown }, ctx: InventoryContext) => ctx.movements.setSafetyStock(args.input),
  },
  StockLevel: {
    item: (level: StockLevelEntity, _args: unknown, ctx: InventoryContext, info: GraphQLResolveInfo) => itemOfKeyedRow(level.sku, info, ctx),
    location: (level: StockLevelEntity) => locationRef(level.locationId),
    available: (level: StockLevelEntity) => availableOf(level),
  },
  StockMovement: {
    sequence: (m: StockMovementEntity) => Number(m.seq),
    occurredAt: (m: StockMovementEntity) => m.occurredAt ?? m.createdAt,
    location: (m: StockMovementEntity) => locationRef(m.locationId),
    transfer: (m: StockMovementEntity, _args: unknown, ctx: InventoryContext) => (m.transferId ? ctx.loaders.transferById.load(m.transferId) : null),
  },
  Transfer: {
    from: (t: TransferEntity) => locationRef(t.fromLocationId),
    to: (t: TransferEntity) => locationRef(t.toLocationId),
  },
  Location: {
    // No query: stock is keyed by location id.
    __resolveReference: (ref: { id: unknown }) => (isId(ref.id) ? { id: ref.id } : null),
    /** Asked of inventory only where it provides it (an availability's locations, which carry it), from its replica. */
    name: (location: { id: string; name?: string; nameError?: Error | null }) => {
      if (location.name !== undefined) return location.name;
      throw location.nameError ?? new NotFoundError('Location', location.id);
    },
    stockLevels: (location: { id: string }, args: LocationStockArgs, ctx: InventoryContext) =>
      ctx.loaders.stockAtLocation.load({ locationId: location.id, args }),
  },
} satisfies GraphQLResolverMap<InventoryContext>;
