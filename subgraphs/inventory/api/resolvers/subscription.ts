import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { InventoryContext } from '../context.js';
import type { StockChangeView } from '../../services/stock-subscription.service.js';
import { locationRef } from './stock.js';

export const subscriptionResolvers = {
  Subscription: {
    stockChanged: {
      subscribe: (_: unknown, args: { filter: unknown; since?: string | null }, ctx: InventoryContext) =>
        ctx.stockSubscriptions.subscribe(args.filter, args.since ?? null, ctx.resumeFrom ?? null),
    },
  },
  StockChange: {
    item: (c: StockChangeView, _args: unknown, ctx: InventoryContext) => ctx.loaders.itemBySku.load(c.sku),
    location: (c: StockChangeView) => locationRef(c.locationId),
    channel: (c: StockChangeView) => (c.channelId ? { __typename: 'Channel' as const, id: c.channelId } : null),
  },
} satisfies GraphQLResolverMap<InventoryContext>;
