import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateTime } from '../../../../lib/scalars.js';
import { assertId, isId } from '../../../../lib/validation.js';
import type { ChannelSourceEntity } from '../../data/channel.entity.js';
import type {
  AllocationRuleInput,
  ChannelWithSources,
  CreateChannelInput,
  UpdateChannelInput,
} from '../../services/channel.service.js';
import type { ChannelsContext } from '../context.js';
import { afterWrite } from '../../../../lib/batch.js';

interface AllocationRuleParent {
  channelId: string;
  sources?: ChannelSourceEntity[];
}

export const channelResolvers: GraphQLResolverMap<ChannelsContext> = {
  DateTime,
  Query: {
    channel: (_: unknown, args: { id: string }, ctx: ChannelsContext) => ctx.loaders.channelById.load(assertId(args.id)),
    channelByCode: (_: unknown, args: { code: string }, ctx: ChannelsContext) => ctx.loaders.channelByCode.load(args.code),
    channels: (_: unknown, args: { filter?: unknown; first?: number; after?: string }, ctx: ChannelsContext) =>
      ctx.channels.list(ctx.reads, args.filter, args.first, args.after),
  },
  Mutation: {
    createChannel: (_: unknown, args: { input: CreateChannelInput }, ctx: ChannelsContext) =>
      afterWrite(ctx.loaders, ctx.channels.create(args.input)),
    updateChannel: (_: unknown, args: { id: string; input: UpdateChannelInput }, ctx: ChannelsContext) =>
      afterWrite(ctx.loaders, ctx.channels.update(assertId(args.id), args.input)),
    setAllocationRule: (_: unknown, args: { channelId: string; input: AllocationRuleInput }, ctx: ChannelsContext) =>
      afterWrite(ctx.loaders, ctx.channels.setAllocationRule(assertId(args.channelId, 'channelId'), args.input)),
    setChannelBuffer: (_: unknown, args: { channelId: string; buffer?: unknown }, ctx: ChannelsContext) =>
      afterWrite(ctx.loaders, ctx.channels.setBuffer(assertId(args.channelId, 'channelId'), args.buffer ?? null)),
    setChannelSetAside: (_: unknown, args: { channelId: string; sku: string; units: number }, ctx: ChannelsContext) => ctx.setAsides.set(args),
  },
  Channel: {
    __resolveReference: (ref: { id: unknown }, ctx: ChannelsContext) =>
      isId(ref.id) ? ctx.loaders.channelById.load(ref.id) : null,
    allocationRule: (c: ChannelWithSources) => ({
      channelId: c.id,
      sources: c.sources,
      buffer: c.bufferKind ? { kind: c.bufferKind, value: c.bufferValue } : null,
      cap: c.cap,
      allowSplitShipments: c.allowSplitShipments,
      protection: c.protection,
    }),
    setAsides: (c: ChannelWithSources, args: { first?: number; after?: string }, ctx: ChannelsContext) => ctx.setAsides.list(ctx.reads, c.id, args.first, args.after),
  },
  AllocationRule: {
    sources: (r: AllocationRuleParent, _: unknown, ctx: ChannelsContext) =>
      r.sources ?? ctx.loaders.sourcesByChannel.load(r.channelId),
  },
  ChannelSource: {
    location: (s: ChannelSourceEntity) => ({ __typename: 'Location', id: s.locationId }),
  },
  Location: {
    // Channels hold no copy of locations: any well-formed id is a location whose channels can be listed.
    __resolveReference: (ref: { id: unknown }) => (isId(ref.id) ? { id: ref.id } : null),
    channels: (l: { id: string }, _: unknown, ctx: ChannelsContext) => ctx.loaders.activeChannelsAt.load(l.id),
  },
};
