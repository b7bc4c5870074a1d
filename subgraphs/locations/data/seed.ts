import type { DataSource } from 'typeorm';
import { LocationEntity } from './location.entity.js';
import { appendLocationSnapshots } from '../services/location.service.js';
import { locationStore } from './location.store.js';

/** A location to seed: the demo estate's rows, or any caller's with the same shape. */
export interface SeedLocation {
  id: string;
  code: string;
  name: string;
  type: 'STORE' | 'WAREHOUSE' | 'DISTRIBUTION_CENTER';
  line1: string;
  city: string;
  region: string;
  postalCode: string;
  countryCode: string;
  timezone: string;
  latitude: number;
  longitude: number;
  ships: boolean;
  pickup: boolean;
}

/** Inserts the given locations that are not there yet, with their snapshot events; returns how many were inserted. */
export async function seedLocations(ds: DataSource, locations: SeedLocation[]): Promise<number> {
  return ds.transaction(async (tx) => {
    const existing = new Set((await locationStore.findByIds(tx, locations.map((l) => l.id))).map((l) => l.id));
    const now = new Date();
    const rows = locations
      .filter((l) => !existing.has(l.id))
      .map((l) =>
        Object.assign(new LocationEntity(), {
          id: l.id,
          code: l.code,
          name: l.name,
          type: l.type,
          status: 'ACTIVE',
          addressLine1: l.line1,
          addressLine2: null,
          city: l.city,
          region: l.region,
          postalCode: l.postalCode,
          countryCode: l.countryCode,
          timezone: l.timezone,
          latitude: l.latitude,
          longitude: l.longitude,
          ships: l.ships,
          pickup: l.pickup,
          version: 1,
          createdAt: now,
          updatedAt: now,
        }),
      );
    if (rows.length) await locationStore.insert(tx, rows);
    await appendLocationSnapshots(tx, rows);
    return rows.length;
  });
}
