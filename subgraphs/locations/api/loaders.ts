import DataLoader from 'dataloader';
import type { Reads } from '../../../lib/read-replicas.js';
import type { LocationEntity } from '../data/location.entity.js';
import type { LocationService } from '../services/location.service.js';

/** Built per request: each batch is one IN (...) query, answered in key order, where the request's `reads` send it. */
export function createLoaders(locations: LocationService, reads: Reads) {
  return {
    locationById: new DataLoader<string, LocationEntity | null>((ids) => locations.byIds(reads, ids)),
    locationByCode: new DataLoader<string, LocationEntity | null>((codes) => locations.byCodes(reads, codes)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
