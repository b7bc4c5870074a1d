import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { ChannelEntity, ChannelSourceEntity } from './data/channel.entity.js';
import { createContext, type ChannelsContext } from './api/context.js';
import { CreateChannels1732000001000 } from './data/migrations/1732000001000-create-channels.js';
import { ChannelEvents1732000002000 } from './data/migrations/1732000002000-channel-events.js';
import { ChannelProtection1739000000000 } from './data/migrations/1739000000000-channel-protection.js';
import { SetAsides1739000001000 } from './data/migrations/1739000001000-set-asides.js';
import { channelResolvers } from './api/resolvers/channel.js';

export const channelsSubgraph: SubgraphDefinition<ChannelsContext> = {
  name: 'channels',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
  resolvers: channelResolvers,
  entities: [ChannelEntity, ChannelSourceEntity],
  migrations: [CreateChannels1732000001000, ChannelEvents1732000002000, ChannelProtection1739000000000, SetAsides1739000001000],
  createContext,
};
