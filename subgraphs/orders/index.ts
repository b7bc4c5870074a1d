import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type OrdersContext } from './api/context.js';
import { CreateOrders1732000002000 } from './data/migrations/1732000002000-create-orders.js';
import { OrderLifecycle1732000005000 } from './data/migrations/1732000005000-order-lifecycle.js';
import { OrderSourcing1739000000000 } from './data/migrations/1739000000000-order-sourcing.js';
import { OrderOutbox1740000000000 } from './data/migrations/1740000000000-order-outbox.js';
import { OrderStuck1740000001000 } from './data/migrations/1740000001000-order-stuck.js';
import { OrderEntity, OrderLineEntity, OrderOperationEntity, OrderStatusChangeEntity } from './data/order.entity.js';
import { orderResolvers } from './api/resolvers/order.js';

export const ordersSubgraph: SubgraphDefinition<OrdersContext> = {
  name: 'orders',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
  resolvers: orderResolvers,
  entities: [OrderEntity, OrderLineEntity, OrderStatusChangeEntity, OrderOperationEntity],
  migrations: [CreateOrders1732000002000, OrderLifecycle1732000005000, OrderSourcing1739000000000, OrderOutbox1740000000000, OrderStuck1740000001000],
  createContext,
};
