import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateTime } from '../../../../lib/scalars.js';
import { assertId, isId, skuSchema } from '../../../../lib/validation.js';
import { callerOf, type OrdersContext } from '../context.js';
import type { OrderEntity, OrderLineEntity, OrderStatusChangeEntity } from '../../data/order.entity.js';
import { parseRejection } from '../../domain/order-rules.js';
import type { OrderListArgs } from '../../services/order.service.js';

export const orderResolvers: GraphQLResolverMap<OrdersContext> = {
  DateTime,
  Query: {
    order: (_: unknown, args: { id: string }, ctx: OrdersContext) => ctx.loaders.orderById.load(assertId(args.id)),
    orders: (_: unknown, args: OrderListArgs, ctx: OrdersContext) => ctx.orders.list(ctx.reads, args),
  },
  Mutation: {
    placeOrder: (_: unknown, args: { input: unknown }, ctx: OrdersContext) => ctx.orders.place(args.input, callerOf(ctx)),
    placeSoldOrder: (_: unknown, args: { input: unknown; anyLocation?: boolean | null }, ctx: OrdersContext) =>
      ctx.orders.place(args.input, callerOf(ctx), args.anyLocation ? 'SOLD_ANY_LOCATION' : 'SOLD'),
    fulfillOrder: (_: unknown, args: { input: unknown }, ctx: OrdersContext) => ctx.orders.fulfil(args.input, callerOf(ctx)),
    cancelOrder: (_: unknown, args: { input: unknown }, ctx: OrdersContext) => ctx.orders.cancel(args.input, callerOf(ctx)),
    returnOrderLines: (_: unknown, args: { input: unknown }, ctx: OrdersContext) => ctx.orders.returnLines(args.input, callerOf(ctx)),
    retryOrder: (_: unknown, args: { id: string }, ctx: OrdersContext) => ctx.orders.retry(args.id, callerOf(ctx)),
  },
  Order: {
    __resolveReference: (ref: { id: unknown }, ctx: OrdersContext) => (isId(ref.id) ? ctx.loaders.orderById.load(ref.id) : null),
    channel: (o: OrderEntity) => ({ __typename: 'Channel', id: o.channelId }),
    // Fulfilment's fields are columns of the order row.
    fulfilment: (o: OrderEntity) => o,
    lines: (o: OrderEntity, _: unknown, ctx: OrdersContext) => ctx.loaders.linesByOrder.load(o.id),
    rejection: (o: OrderEntity) => parseRejection(o.rejection),
    history: (o: OrderEntity, _: unknown, ctx: OrdersContext) => ctx.loaders.historyByOrder.load(o.id),
  },
  Fulfilment: {
    method: (o: OrderEntity) => o.fulfilmentMethod,
    pickupLocation: (o: OrderEntity) => (o.pickupLocationId ? { __typename: 'Location', id: o.pickupLocationId } : null),
  },
  OrderLine: {
    item: (l: OrderLineEntity) => ({ __typename: 'InventoryItem', sku: l.sku }),
  },
  OrderStatusChange: {
    at: (h: OrderStatusChangeEntity) => h.createdAt,
  },
  InventoryItem: {
    // Any well-formed SKU: a SKU on no open order has 0 units on them.
    __resolveReference: (ref: { sku: unknown }) => (skuSchema.safeParse(ref.sku).success ? { sku: ref.sku } : null),
    openOrderQuantity: (item: { sku: string }, _: unknown, ctx: OrdersContext) => ctx.loaders.openQuantityBySku.load(item.sku),
  },
};
