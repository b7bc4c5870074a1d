import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { oneByKey } from '../../../lib/batch.js';
import { isDuplicateKey } from '../../../lib/db.js';
import { BadUserInputError, ConflictError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { TOPICS, type LocationSnapshot } from '../../../contracts/events.js';
import { outboxStore } from '../../../lib/outbox.js';
import { decodeCursor, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertPageSize, codeSchema, timezoneSchema } from '../../../lib/validation.js';
import { LOCATION_STATUSES, LOCATION_TYPES, LocationEntity } from '../data/location.entity.js';
import { locationReads, locationStore, type BoundingBox, type LocationFilter } from '../data/location.store.js';
import type { Reads } from '../../../lib/read-replicas.js';

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);
const text = (max: number) => z.string().trim().min(1).max(max);

const addressSchema = z.object({
  line1: text(200),
  line2: text(200).nullish(),
  city: text(100),
  region: text(100).nullish(),
  postalCode: text(20),
  countryCode: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
});

const capabilitiesSchema = z.object({ ships: z.boolean(), pickup: z.boolean() });

const createSchema = z
  .object({
    code: codeSchema,
    name: text(200),
    type: z.enum(LOCATION_TYPES),
    status: z.enum(LOCATION_STATUSES).nullish(),
    address: addressSchema,
    timezone: timezoneSchema,
    latitude: latitude.nullish(),
    longitude: longitude.nullish(),
    capabilities: capabilitiesSchema,
  })
  .refine((v) => (v.latitude == null) === (v.longitude == null), {
    message: 'latitude and longitude go together',
    path: ['latitude'],
  });

const updateSchema = z.object({
  name: text(200).nullish(),
  type: z.enum(LOCATION_TYPES).nullish(),
  status: z.enum(LOCATION_STATUSES).nullish(),
  address: addressSchema.nullish(),
  timezone: timezoneSchema.nullish(),
  latitude: latitude.nullish(),
  longitude: longitude.nullish(),
  capabilities: capabilitiesSchema.nullish(),
});

const filterSchema = z
  .object({
    types: z.array(z.enum(LOCATION_TYPES)).max(10).nullish(),
    statuses: z.array(z.enum(LOCATION_STATUSES)).max(10).nullish(),
    city: text(100).nullish(),
    countryCode: z.string().regex(/^[A-Z]{2}$/).nullish(),
    ships: z.boolean().nullish(),
    pickup: z.boolean().nullish(),
  })
  .nullish();

const nearbySchema = z.object({
  latitude,
  longitude,
  radiusKm: z.number().positive('must be greater than 0').max(20_000),
});

function addressColumns(a: z.output<typeof addressSchema>) {
  return {
    addressLine1: a.line1,
    addressLine2: a.line2 ?? null,
    city: a.city,
    region: a.region ?? null,
    postalCode: a.postalCode,
    countryCode: a.countryCode,
  };
}

export type CreateLocationInput = z.input<typeof createSchema>;
export type UpdateLocationInput = z.input<typeof updateSchema>;

const KM_PER_DEGREE = 111.045;
/** Locations per transaction when republishing every snapshot. */
const REPUBLISH_PAGE = 500;

/** A box around the circle, so the coordinate index narrows the rows the distance is computed for. */
export function boundingBox(lat: number, lng: number, radiusKm: number): BoundingBox {
  const dLat = radiusKm / KM_PER_DEGREE;
  const minLat = Math.max(-90, lat - dLat);
  const maxLat = Math.min(90, lat + dLat);
  const cos = Math.cos((lat * Math.PI) / 180);
  const dLng = cos > 1e-9 ? radiusKm / (KM_PER_DEGREE * cos) : 360;
  if (maxLat >= 90 || minLat <= -90 || lng - dLng < -180 || lng + dLng > 180) {
    return { minLat, maxLat, minLng: null, maxLng: null };
  }
  return { minLat, maxLat, minLng: lng - dLng, maxLng: lng + dLng };
}

/** The `location` event: what other subgraphs need of a location's state, with the version that orders it. */
export function locationSnapshot(location: LocationEntity): LocationSnapshot {
  return { id: location.id, code: location.code, name: location.name, status: location.status, ships: location.ships, pickup: location.pickup, version: location.version };
}

/** Appends a snapshot event for each location inside the caller's transaction, so it commits with the change. */
export async function appendLocationSnapshots(tx: EntityManager, locations: readonly LocationEntity[]): Promise<void> {
  await outboxStore.append(
    tx,
    locations.map((l) => ({ topic: TOPICS.location, key: l.id, payload: locationSnapshot(l) })),
  );
}

export class LocationService {
  constructor(private readonly ds: DataSource) {}

  /** Rows for the given ids, in key order, null where none exists (the loader's batch function). */
  async byIds(reads: Reads, ids: readonly string[]): Promise<(LocationEntity | null)[]> {
    return oneByKey(ids, await reads.run((r) => locationReads.findByIds(r, ids)), (r) => r.id);
  }

  async byCodes(reads: Reads, codes: readonly string[]): Promise<(LocationEntity | null)[]> {
    return oneByKey(codes, await reads.run((r) => locationReads.findByCodes(r, codes)), (r) => r.code);
  }

  /**
   * @throws BadUserInputError for a bad filter, page size or cursor
   */
  async list(reads: Reads, filter: unknown, first: number | null | undefined, after: string | null | undefined): Promise<Connection<LocationEntity>> {
    const f = parseInput(filterSchema, filter, 'filter') ?? {};
    const size = assertPageSize(first);
    const afterCode = after ? String(decodeCursor(after, 1)[0]) : null;
    const rows = await reads.run((r) => locationReads.page(r, f as LocationFilter, size + 1, afterCode));
    return toConnection(rows, size, (r) => [r.code]);
  }

  /**
   * @throws BadUserInputError for coordinates out of range, a radius not in (0, 20000] km or a bad page size
   */
  async nearby(reads: Reads, args: { latitude: number; longitude: number; radiusKm: number; filter?: unknown; first?: number | null }) {
    const point = parseInput(nearbySchema, args);
    const f = parseInput(filterSchema, args.filter, 'filter') ?? {};
    const size = assertPageSize(args.first);
    const box = boundingBox(point.latitude, point.longitude, point.radiusKm);
    return reads.run((r) => locationReads.nearby(r, point, point.radiusKm, box, f as LocationFilter, size));
  }

  /**
   * @throws BadUserInputError for invalid input
   * @throws ConflictError when the code is taken
   */
  async create(input: CreateLocationInput): Promise<LocationEntity> {
    const v = parseInput(createSchema, input);
    const now = new Date();
    const row = Object.assign(new LocationEntity(), {
      id: randomUUID(),
      code: v.code,
      name: v.name,
      type: v.type,
      status: v.status ?? 'ACTIVE',
      ...addressColumns(v.address),
      timezone: v.timezone,
      latitude: v.latitude ?? null,
      longitude: v.longitude ?? null,
      ships: v.capabilities.ships,
      pickup: v.capabilities.pickup,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    try {
      await this.ds.transaction(async (tx) => {
        await locationStore.insert(tx, [row]);
        await appendLocationSnapshots(tx, [row]);
      });
    } catch (err) {
      if (isDuplicateKey(err)) {
        throw new ConflictError(`A location with code ${v.code} already exists`, { code: v.code });
      }
      throw err;
    }
    return row;
  }

  /**
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError when no location has this id
   */
  async update(id: string, input: UpdateLocationInput): Promise<LocationEntity> {
    const v = parseInput(updateSchema, input);
    return this.ds.transaction(async (tx) => {
      const current = await locationStore.findForUpdate(tx, id);
      if (!current) throw new NotFoundError('Location', id);
      const lat = v.latitude !== undefined ? v.latitude : current.latitude;
      const lng = v.longitude !== undefined ? v.longitude : current.longitude;
      if ((lat == null) !== (lng == null)) {
        throw new BadUserInputError('latitude and longitude go together', [
          { path: 'latitude', message: 'latitude and longitude go together' },
        ]);
      }
      const changes: Partial<LocationEntity> = { updatedAt: new Date() };
      if (v.name) changes.name = v.name;
      if (v.type) changes.type = v.type;
      if (v.status) changes.status = v.status;
      if (v.timezone) changes.timezone = v.timezone;
      if (v.latitude !== undefined) changes.latitude = v.latitude;
      if (v.longitude !== undefined) changes.longitude = v.longitude;
      if (v.address) Object.assign(changes, addressColumns(v.address));
      if (v.capabilities) Object.assign(changes, v.capabilities);
      await locationStore.update(tx, current.id, changes);
      // Read back: the version was bumped in SQL, and the event must carry the state that commits.
      const [updated] = await locationStore.findByIds(tx, [current.id]);
      await appendLocationSnapshots(tx, [updated!]);
      return updated!;
    });
  }

  /**
   * Appends a snapshot event for every location, a page per short transaction, so a replica that
   * starts empty or missed events catches up.
   * @returns how many snapshots were appended
   */
  async republishAll(): Promise<number> {
    let count = 0;
    let afterCode: string | null = null;
    for (;;) {
      const page: LocationEntity[] = await this.ds.transaction(async (tx) => {
        const rows = await locationStore.page(tx, {}, REPUBLISH_PAGE, afterCode);
        await appendLocationSnapshots(tx, rows);
        return rows;
      });
      count += page.length;
      if (page.length < REPUBLISH_PAGE) return count;
      afterCode = page.at(-1)!.code;
    }
  }
}
