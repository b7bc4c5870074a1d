import { MovementOccurredAt1732000007000 } from './data/migrations/1732000007000-movement-occurred-at.js';
import { ReplicaChannelProtection1739000000000 } from './data/migrations/1739000000000-replica-channel-protection.js';
import { ReplicaSetAsides1739000001000 } from './data/migrations/1739000001000-replica-set-asides.js';
import { ReplicaLocationName1739000002000 } from './data/migrations/1739000002000-replica-location-name.js';
import { ReservationLinesExpired1739000003000 } from './data/migrations/1739000003000-reservation-lines-expired.js';
import { DateTime } from '../../lib/scalars.js';
import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { AvailabilityAnswers } from './api/availability-answers.js';
import { createContext, type InventoryContext } from './api/context.js';
import { InventoryItemEntity } from './data/item.entity.js';
import { CreateInventory1732000001000 } from './data/migrations/1732000001000-create-inventory.js';
import { itemResolvers } from './api/resolvers/item.js';
import { reconciliationResolvers } from './api/resolvers/reconciliation.js';
import { reservationResolvers } from './api/resolvers/reservation.js';
import { stockResolvers } from './api/resolvers/stock.js';
import { subscriptionResolvers } from './api/resolvers/subscription.js';
import { StockLevelEntity } from './data/stock-level.entity.js';
import { StockMovementEntity } from './data/stock-movement.entity.js';
import { TransferEntity } from './data/transfer.entity.js';
import { ReservationEntity, ReservationLineEntity } from './data/reservation.entity.js';
import { LedgerReservations1732000003000 } from './data/migrations/1732000003000-ledger-reservations.js';
import { Reconciliation1732000004000 } from './data/migrations/1732000004000-reconciliation.js';
import { ReplicaLocationCode1732000005000 } from './data/migrations/1732000005000-replica-location-code.js';
import { ReservationKeyOwner1732000006000 } from './data/migrations/1732000006000-reservation-key-owner.js';
import { DriftLineEntity, ReconciliationRunEntity } from './data/reconciliation.entity.js';

export const inventorySubgraph: SubgraphDefinition<InventoryContext> = {
  name: 'inventory',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
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
  migrations: [CreateInventory1732000001000, LedgerReservations1732000003000, Reconciliation1732000004000, ReplicaLocationCode1732000005000, ReservationKeyOwner1732000006000, MovementOccurredAt1732000007000, ReplicaChannelProtection1739000000000, ReplicaSetAsides1739000001000, ReplicaLocationName1739000002000, ReservationLinesExpired1739000003000],
  answers: ({ cfg, metrics }) => (cfg.AVAILABILITY_ANSWER_CACHE_MB > 0 ? new AvailabilityAnswers(cfg.AVAILABILITY_ANSWER_CACHE_MB * 1024 * 1024, metrics) : null),
  createContext,
};
