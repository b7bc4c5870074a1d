import type { MarketplaceOrderEntity } from '../../data/intake.entity.js';
import type { IntakeStatus } from '../../domain/intake-rules.js';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { streamIdOfSortable } from '../../../../lib/event-stream.js';
import { afterWrite } from '../../../../lib/batch.js';
import { DateTime } from '../../../../lib/scalars.js';
import { assertId, isId } from '../../../../lib/validation.js';
import type { MarketplacesContext } from '../context.js';
import type { DriftRunEntity, MarketplaceConnectionEntity, SyncStateEntity } from '../../data/marketplace.entity.js';
import type { ListingInput } from '../../domain/listing-rules.js';
import { connectionSettings, resolvePolicy, type MarketplaceConnectionInput, type SyncSummary } from '../../services/marketplace.service.js';

type SyncParent = SyncSummary & { channelId: string };
const sequence = (sortable: string | null) => (sortable ? streamIdOfSortable(sortable) : null);

const mutations = {
  setMarketplaceConnection: (_: unknown, args: { channelId: string; input: MarketplaceConnectionInput }, ctx: MarketplacesContext) =>
    afterWrite(ctx.loaders, ctx.marketplace.setConnection(assertId(args.channelId, 'channelId'), args.input)),
  removeMarketplaceConnection: (_: unknown, args: { channelId: string }, ctx: MarketplacesContext) =>
    afterWrite(ctx.loaders, ctx.marketplace.removeConnection(assertId(args.channelId, 'channelId'))),
  replayDeadLetters: async (_: unknown, args: { channelId: string; ids?: string[] | null }, ctx: MarketplacesContext) => ({
    replayed: await afterWrite(ctx.loaders, ctx.marketplace.replayDeadLetters(args)),
  }),
  setMarketplaceListing: (_: unknown, args: { channelId: string; input: ListingInput }, ctx: MarketplacesContext) => ctx.listings.set(args.channelId, args.input),
  removeMarketplaceListing: (_: unknown, args: { channelId: string; sku: string }, ctx: MarketplacesContext) => ctx.listings.remove(args.channelId, args.sku),
  requestDriftRepair: async (_: unknown, args: { channelId: string }, ctx: MarketplacesContext) => {
    await ctx.marketplace.requestDriftRepair(assertId(args.channelId, 'channelId'));
    return true;
  },
};

/** The fields this subgraph adds to Channel (the channels subgraph owns the rest). */
const channelFields = {
  // Any well-formed id is a channel: one without a connection shows null here.
  __resolveReference: (ref: { id: unknown }) => (isId(ref.id) ? { id: ref.id } : null),
  marketplaceConnection: (c: { id: string }, _: unknown, ctx: MarketplacesContext) => ctx.loaders.connectionByChannel.load(c.id),
  marketplaceSync: async (c: { id: string }, _: unknown, ctx: MarketplacesContext): Promise<SyncParent | null> => {
    const summary = await ctx.loaders.syncSummaryByChannel.load(c.id);
    return summary && { ...summary, channelId: c.id };
  },
};

export const marketplaceResolvers: GraphQLResolverMap<MarketplacesContext> = {
  DateTime,
  Mutation: mutations,
  Channel: channelFields,
  MarketplaceConnection: {
    settings: (m: MarketplaceConnectionEntity) => connectionSettings(m),
    ratePolicy: (m: MarketplaceConnectionEntity) => resolvePolicy(m),
    ratePolicyOverridden: (m: MarketplaceConnectionEntity) => m.ratePolicy !== null,
  },
  MarketplaceOrder: {
    lines: (o: MarketplaceOrderEntity) => JSON.parse(o.lines) as unknown[],
    evidence: (o: MarketplaceOrderEntity) => (o.evidence ? (JSON.parse(o.evidence) as unknown[]) : []),
  },
  MarketplaceSync: {
    deadLetterCount: (s: SyncParent) => s.deadLetters,
    healthy: (s: SyncParent) => s.problem === null,
    listings: (s: SyncParent, args: { skus: string[] }, ctx: MarketplacesContext) => ctx.listings.of(s.channelId, args.skus),
    orders: (s: SyncParent, args: { status?: IntakeStatus[] | null; first?: number | null }, ctx: MarketplacesContext) => ctx.intake.orders(s.channelId, args.status, args.first),
    oversold: (s: SyncParent, args: { since?: Date | null }, ctx: MarketplacesContext) => ctx.intake.oversold(s.channelId, args.since),
    protection: (s: SyncParent, args: { skus: string[] }, ctx: MarketplacesContext) => ctx.protection.report(s.channelId, args.skus),
    skus: (s: SyncParent, args: { filter?: unknown; first?: number; after?: string }, ctx: MarketplacesContext) =>
      ctx.marketplace.syncStates(s.channelId, args.filter, args.first, args.after),
    deadLetters: (s: SyncParent, args: { includeReplayed?: boolean; first?: number; after?: string }, ctx: MarketplacesContext) =>
      ctx.marketplace.deadLetters(s.channelId, args.includeReplayed ?? false, args.first, args.after),
    driftRuns: (s: SyncParent, args: { first?: number; after?: string }, ctx: MarketplacesContext) =>
      ctx.marketplace.driftRuns(s.channelId, args.first, args.after),
  },
  SkuSyncState: {
    lastPushedSequence: (s: SyncStateEntity) => sequence(s.lastPushedSeq),
    lastEventSequence: (s: SyncStateEntity) => sequence(s.lastEventSeq),
  },
  MarketplaceDriftRun: {
    lines: (r: DriftRunEntity, _: unknown, ctx: MarketplacesContext) => ctx.loaders.driftLinesByRun.load(r.id),
  },
};
