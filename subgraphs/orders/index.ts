import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type OrdersContext } from './context.js';
import { CreateOrders1732000002000 } from './migrations/1732000002000-create-orders.js';
import { OrderEntity, OrderLineEntity } from './order.entity.js';
import { orderResolvers } from './resolvers/order.js';

export const ordersSubgraph: SubgraphDefinition<OrdersContext> = {
  name: 'orders',
  typeDefs: loadTypeDefs(import.meta.url),
  resolvers: orderResolvers,
  entities: [OrderEntity, OrderLineEntity],
  migrations: [CreateOrders1732000002000],
  createContext,
};
