import { describe, expect, it } from 'vitest';
import { locationSnapshotSchema } from '../../../contracts/events.js';
import { LocationEntity } from '../data/location.entity.js';
import { locationSnapshot } from './location.service.js';

describe('locationSnapshot', () => {
  it('carries the state other subgraphs need and the version, as the event contract says', () => {
    const location = Object.assign(new LocationEntity(), {
      id: 'loc',
      code: 'STR-1',
      name: 'Store',
      status: 'OFFLINE',
      ships: true,
      pickup: false,
      version: 4,
    });
    expect(locationSnapshotSchema.parse(locationSnapshot(location))).toEqual({
      id: 'loc',
      code: 'STR-1',
      name: 'Store',
      status: 'OFFLINE',
      ships: true,
      pickup: false,
      version: 4,
    });
  });
});
