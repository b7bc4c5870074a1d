import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { streamIdOfSortable } from '../../../../lib/event-stream.js';
import { assertId } from '../../../../lib/validation.js';
import type { ChannelEntity } from '../../data/channel.entity.js';
import type { ChannelsContext } from '../context.js';
import { afterWrite } from '../loaders.js';
import type { DriftRunEntity, MarketplaceConnectionEntity, SyncStateEntity } from '../../marketplace/marketplace.entity.js';
import { connectionSettings, resolvePolicy, type MarketplaceConnectionInput, type SyncSummary } from '../../marketplace/marketplace.service.js';

type SyncParent = SyncSummary & { channelId: string };
const sequence = (sortable: string | null) => (sortable ? streamIdOfSortable(sortable) : null);

/** Marketplace mutations, merged into Mutation by resolvers/channel.ts. */
export const marketplaceMutations = {
  setMarketplaceConnection: (_: unknown, args: { channelId: string; input: MarketplaceConnectionInput }, ctx: ChannelsContext) =>
    afterWrite(ctx.loaders, ctx.marketplace.setConnection(assertId(args.channelId, 'channelId'), args.input)),
  removeMarketplaceConnection: (_: unknown, args: { channelId: string }, ctx: ChannelsContext) =>
    afterWrite(ctx.loaders, ctx.marketplace.removeConnection(assertId(args.channelId, 'channelId'))),
  replayDeadLetters: async (_: unknown, args: { channelId: string; ids?: string[] | null }, ctx: ChannelsContext) => ({
    replayed: await afterWrite(ctx.loaders, ctx.marketplace.replayDeadLetters(args)),
  }),
  requestDriftRepair: async (_: unknown, args: { channelId: string }, ctx: ChannelsContext) => {
    await ctx.marketplace.requestDriftRepair(assertId(args.channelId, 'channelId'));
    return true;
  },
};

/** Channel's marketplace fields. */
export const marketplaceChannelFields = {
  marketplaceConnection: (c: ChannelEntity, _: unknown, ctx: ChannelsContext) => ctx.loaders.connectionByChannel.load(c.id),
  marketplaceSync: async (c: ChannelEntity, _: unknown, ctx: ChannelsContext): Promise<SyncParent | null> => {
    const summary = await ctx.loaders.syncSummaryByChannel.load(c.id);
    return summary && { ...summary, channelId: c.id };
  },
};

export const marketplaceTypes: GraphQLResolverMap<ChannelsContext> = {
  MarketplaceConnection: {
    settings: (m: MarketplaceConnectionEntity) => connectionSettings(m),
    ratePolicy: (m: MarketplaceConnectionEntity) => resolvePolicy(m),
    ratePolicyOverridden: (m: MarketplaceConnectionEntity) => m.ratePolicy !== null,
  },
  MarketplaceSync: {
    deadLetterCount: (s: SyncParent) => s.deadLetters,
    healthy: (s: SyncParent) => s.problem === null,
    skus: (s: SyncParent, args: { filter?: unknown; first?: number; after?: string }, ctx: ChannelsContext) =>
      ctx.marketplace.syncStates(s.channelId, args.filter, args.first, args.after),
    deadLetters: (s: SyncParent, args: { includeReplayed?: boolean; first?: number; after?: string }, ctx: ChannelsContext) =>
      ctx.marketplace.deadLetters(s.channelId, args.includeReplayed ?? false, args.first, args.after),
    driftRuns: (s: SyncParent, args: { first?: number; after?: string }, ctx: ChannelsContext) =>
      ctx.marketplace.driftRuns(s.channelId, args.first, args.after),
  },
  SkuSyncState: {
    lastPushedSequence: (s: SyncStateEntity) => sequence(s.lastPushedSeq),
    lastEventSequence: (s: SyncStateEntity) => sequence(s.lastEventSeq),
  },
  MarketplaceDriftRun: {
    lines: (r: DriftRunEntity, _: unknown, ctx: ChannelsContext) => ctx.loaders.driftLinesByRun.load(r.id),
  },
};
