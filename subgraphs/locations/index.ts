import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type LocationsContext } from './api/context.js';
import { LocationEntity } from './data/location.entity.js';
import { CreateLocations1732000000000 } from './data/migrations/1732000000000-create-locations.js';
import { LocationEvents1732000002000 } from './data/migrations/1732000002000-location-events.js';
import { locationResolvers } from './api/resolvers/location.js';

export const locationsSubgraph: SubgraphDefinition<LocationsContext> = {
  name: 'locations',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
  resolvers: locationResolvers,
  entities: [LocationEntity],
  migrations: [CreateLocations1732000000000, LocationEvents1732000002000],
  createContext,
};
