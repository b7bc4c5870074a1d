import type { DataSource } from 'typeorm';
import type { BaseContext } from '../../../lib/subgraph.js';
import { createLoaders, type Loaders } from './loaders.js';
import { LocationService } from '../services/location.service.js';

export interface LocationsContext extends BaseContext {
  locations: LocationService;
  loaders: Loaders;
}

export function createContext(ds: DataSource) {
  const locations = new LocationService(ds);
  return (base: BaseContext): LocationsContext => ({ ...base, locations, loaders: createLoaders(locations, base.reads) });
}
