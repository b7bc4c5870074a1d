import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { ChannelEntity, ChannelSourceEntity } from './data/channel.entity.js';
import { createContext, type ChannelsContext } from './api/context.js';
import { MARKETPLACE_ENTITIES } from './marketplace/marketplace.entity.js';
import { CreateChannels1732000001000 } from './data/migrations/1732000001000-create-channels.js';
import { ChannelEvents1732000002000 } from './data/migrations/1732000002000-channel-events.js';
import { MarketplaceSync1732000003000 } from './data/migrations/1732000003000-marketplace-sync.js';
import { MarketplaceConnectionProblem1732000004000 } from './data/migrations/1732000004000-marketplace-connection-problem.js';
import { channelResolvers } from './api/resolvers/channel.js';

export const channelsSubgraph: SubgraphDefinition<ChannelsContext> = {
  name: 'channels',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
  resolvers: channelResolvers,
  entities: [ChannelEntity, ChannelSourceEntity, ...MARKETPLACE_ENTITIES],
  migrations: [CreateChannels1732000001000, ChannelEvents1732000002000, MarketplaceSync1732000003000, MarketplaceConnectionProblem1732000004000],
  createContext,
};
