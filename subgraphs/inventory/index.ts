import { DateTime } from '../../lib/scalars.js';
import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type InventoryContext } from './context.js';
import { InventoryItemEntity } from './item.entity.js';
import { CreateInventory1732000001000 } from './migrations/1732000001000-create-inventory.js';
import { itemResolvers } from './resolvers/item.js';
import { reconciliationResolvers } from './resolvers/reconciliation.js';
import { reservationResolvers } from './resolvers/reservation.js';
import { stockResolvers } from './resolvers/stock.js';
import { subscriptionResolvers } from './resolvers/subscription.js';
import { StockLevelEntity } from './stock-level.entity.js';
import { StockMovementEntity } from './stock-movement.entity.js';
import { TransferEntity } from './transfer.entity.js';
import { ReservationEntity, ReservationLineEntity } from './reservation.entity.js';
import { LedgerReservations1732000003000 } from './migrations/1732000003000-ledger-reservations.js';
import { Reconciliation1732000004000 } from './migrations/1732000004000-reconciliation.js';
import { DriftLineEntity, ReconciliationRunEntity } from './reconciliation.entity.js';

export const inventorySubgraph: SubgraphDefinition<InventoryContext> = {
  name: 'inventory',
  typeDefs: loadTypeDefs(import.meta.url),
  resolvers: {
    DateTime,
    Query: { ...itemResolvers.Query, ...stockResolvers.Query, ...reservationResolvers.Query, ...reconciliationResolvers.Query },
    Mutation: { ...itemResolvers.Mutation, ...stockResolvers.Mutation, ...reservationResolvers.Mutation, ...reconciliationResolvers.Mutation },
    Subscription: subscriptionResolvers.Subscription,
    StockChange: subscriptionResolvers.StockChange,
    InventoryItem: itemResolvers.InventoryItem,
    StockLevel: stockResolvers.StockLevel,
    StockMovement: stockResolvers.StockMovement,
    Transfer: stockResolvers.Transfer,
    Location: stockResolvers.Location,
    Reservation: reservationResolvers.Reservation,
    ReservationLine: reservationResolvers.ReservationLine,
    ChannelAvailability: reservationResolvers.ChannelAvailability,
    ReconciliationRun: reconciliationResolvers.ReconciliationRun,
    DriftLine: reconciliationResolvers.DriftLine,
  },
  entities: [InventoryItemEntity, StockLevelEntity, StockMovementEntity, TransferEntity, ReservationEntity, ReservationLineEntity, ReconciliationRunEntity, DriftLineEntity],
  migrations: [CreateInventory1732000001000, LedgerReservations1732000003000, Reconciliation1732000004000],
  createContext,
};
