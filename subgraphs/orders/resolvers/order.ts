import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateTime } from '../../../lib/scalars.js';
import { assertId, isId } from '../../../lib/validation.js';
import type { OrdersContext } from '../context.js';
import type { OrderEntity, OrderLineEntity } from '../order.entity.js';
import type { OrderListArgs } from '../order.service.js';

export const orderResolvers: GraphQLResolverMap<OrdersContext> = {
  DateTime,
  Query: {
    order: (_: unknown, args: { id: string }, ctx: OrdersContext) => ctx.loaders.orderById.load(assertId(args.id)),
    orders: (_: unknown, args: OrderListArgs, ctx: OrdersContext) => ctx.orders.list(args),
  },
  Order: {
    __resolveReference: (ref: { id: unknown }, ctx: OrdersContext) => (isId(ref.id) ? ctx.loaders.orderById.load(ref.id) : null),
    channel: (o: OrderEntity) => ({ __typename: 'Channel', id: o.channelId }),
    // Fulfilment's fields are columns of the order row.
    fulfilment: (o: OrderEntity) => o,
    lines: (o: OrderEntity, _: unknown, ctx: OrdersContext) => ctx.loaders.linesByOrder.load(o.id),
  },
  Fulfilment: {
    method: (o: OrderEntity) => o.fulfilmentMethod,
    pickupLocation: (o: OrderEntity) => (o.pickupLocationId ? { __typename: 'Location', id: o.pickupLocationId } : null),
  },
  OrderLine: {
    item: (l: OrderLineEntity) => ({ __typename: 'InventoryItem', sku: l.sku }),
  },
};
