import { IntakeCursorEntity, MarketplaceOrderEntity } from './data/intake.entity.js';
import { RetiredSkus1738000008000 } from './data/migrations/1738000008000-retired-skus.js';
import { Catalogue1739000002000 } from './data/migrations/1739000002000-catalogue.js';
import { ProblemSignals1740000000000 } from './data/migrations/1740000000000-problem-signals.js';
import { Backorders1738000007000 } from './data/migrations/1738000007000-backorders.js';
import { PushHistory1738000006000 } from './data/migrations/1738000006000-push-history.js';
import { OversellPolicy1738000005000 } from './data/migrations/1738000005000-oversell-policy.js';
import { OversellEvents1738000004000 } from './data/migrations/1738000004000-oversell-events.js';
import { Protection1738000003000 } from './data/migrations/1738000003000-protection.js';
import { OrderIntake1738000002000 } from './data/migrations/1738000002000-order-intake.js';
import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type MarketplacesContext } from './api/context.js';
import { marketplaceResolvers } from './api/resolvers/marketplace.js';
import { MARKETPLACE_ENTITIES } from './data/marketplace.entity.js';
import { ChannelReplica1732000002500 } from './data/migrations/1732000002500-channel-replica.js';
import { MarketplaceSync1732000003000 } from './data/migrations/1732000003000-marketplace-sync.js';
import { MarketplaceConnectionProblem1732000004000 } from './data/migrations/1732000004000-marketplace-connection-problem.js';
import { MoveFromChannels1738000000000 } from './data/migrations/1738000000000-move-from-channels.js';
import { Listings1738000001000 } from './data/migrations/1738000001000-listings.js';
import { ListingEntity, RetiredSkuEntity } from './data/listing.entity.js';

/**
 * Marketplace sync as a subgraph: connections to marketplace accounts, per-SKU push state, dead
 * letters and drift runs, with the connectors (connectors/, one folder per marketplace). It adds
 * `marketplaceConnection` and `marketplaceSync` to the channels subgraph's Channel, as a partner
 * subgraph would; its workers run in the jobs process (services/sync.ts).
 */
export const marketplacesSubgraph: SubgraphDefinition<MarketplacesContext> = {
  name: 'marketplaces',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
  resolvers: marketplaceResolvers,
  entities: [...MARKETPLACE_ENTITIES, ListingEntity, RetiredSkuEntity, MarketplaceOrderEntity, IntakeCursorEntity],
  migrations: [ChannelReplica1732000002500, MarketplaceSync1732000003000, MarketplaceConnectionProblem1732000004000, MoveFromChannels1738000000000, Listings1738000001000, OrderIntake1738000002000, Protection1738000003000, OversellEvents1738000004000, OversellPolicy1738000005000, PushHistory1738000006000, Backorders1738000007000, RetiredSkus1738000008000, Catalogue1739000002000, ProblemSignals1740000000000],
  createContext,
};
