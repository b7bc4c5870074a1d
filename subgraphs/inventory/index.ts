import { DateTime } from '../../lib/scalars.js';
import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type InventoryContext } from './context.js';
import { InventoryItemEntity } from './item.entity.js';
import { CreateInventory1732000001000 } from './migrations/1732000001000-create-inventory.js';
import { itemResolvers } from './resolvers/item.js';
import { stockResolvers } from './resolvers/stock.js';
import { StockLevelEntity } from './stock-level.entity.js';
import { StockMovementEntity } from './stock-movement.entity.js';

export const inventorySubgraph: SubgraphDefinition<InventoryContext> = {
  name: 'inventory',
  typeDefs: loadTypeDefs(import.meta.url),
  resolvers: {
    DateTime,
    Query: { ...itemResolvers.Query, ...stockResolvers.Query },
    Mutation: { ...itemResolvers.Mutation, ...stockResolvers.Mutation },
    InventoryItem: itemResolvers.InventoryItem,
    StockLevel: stockResolvers.StockLevel,
    StockMovement: stockResolvers.StockMovement,
    Location: stockResolvers.Location,
  },
  entities: [InventoryItemEntity, StockLevelEntity, StockMovementEntity],
  migrations: [CreateInventory1732000001000],
  createContext,
};
