import DataLoader from 'dataloader';
import type { LocationEntity } from '../data/location.entity.js';
import type { LocationService } from '../services/location.service.js';

/** Built per request: each batch is one IN (...) query, answered in key order. */
export function createLoaders(locations: LocationService) {
  return {
    locationById: new DataLoader<string, LocationEntity | null>((ids) => locations.byIds(ids)),
    locationByCode: new DataLoader<string, LocationEntity | null>((codes) => locations.byCodes(codes)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
