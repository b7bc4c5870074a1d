import { In, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import { LocationEntity, type LocationStatus, type LocationType } from './location.entity.js';
import type { ReadSide } from '../../../lib/read-replicas.js';

export interface LocationFilter {
  types?: LocationType[] | null;
  statuses?: LocationStatus[] | null;
  city?: string | null;
  countryCode?: string | null;
  ships?: boolean | null;
  pickup?: boolean | null;
}

export interface BoundingBox {
  minLat: number;
  maxLat: number;
  /** Null when the box crosses the antimeridian or a pole: no longitude pre-filter then. */
  minLng: number | null;
  maxLng: number | null;
}

const EARTH_RADIUS_KM = 6371;

function applyFilter(qb: SelectQueryBuilder<LocationEntity>, filter: LocationFilter): void {
  if (filter.types?.length) qb.andWhere('l.type IN (:...types)', { types: filter.types });
  if (filter.statuses?.length) qb.andWhere('l.status IN (:...statuses)', { statuses: filter.statuses });
  if (filter.city) qb.andWhere('l.city = :city', { city: filter.city });
  if (filter.countryCode) qb.andWhere('l.country_code = :cc', { cc: filter.countryCode });
  if (filter.ships != null) qb.andWhere('l.ships = :ships', { ships: filter.ships });
  if (filter.pickup != null) qb.andWhere('l.pickup = :pickup', { pickup: filter.pickup });
}

/** All SQL of the locations subgraph. Every method runs on the manager it is given. */
export const locationStore = {
  findByIds(tx: EntityManager, ids: readonly string[]): Promise<LocationEntity[]> {
    return tx.find(LocationEntity, { where: { id: In([...ids]) } });
  },

  findByCodes(tx: EntityManager, codes: readonly string[]): Promise<LocationEntity[]> {
    return tx.find(LocationEntity, { where: { code: In([...codes]) } });
  },

  /** Keyset page ordered by code; fetches `limit` rows after `afterCode`. */
  page(tx: EntityManager, filter: LocationFilter, limit: number, afterCode: string | null): Promise<LocationEntity[]> {
    const qb = tx.createQueryBuilder(LocationEntity, 'l');
    applyFilter(qb, filter);
    if (afterCode !== null) qb.andWhere('l.code > :afterCode', { afterCode });
    return qb.orderBy('l.code', 'ASC').limit(limit).getMany();
  },

  /** Great-circle distance in SQL, pre-filtered by a bounding box that the coordinate index serves. */
  async nearby(
    tx: EntityManager,
    point: { latitude: number; longitude: number },
    radiusKm: number,
    box: BoundingBox,
    filter: LocationFilter,
    limit: number,
  ): Promise<{ location: LocationEntity; distanceKm: number }[]> {
    const distance = `(${EARTH_RADIUS_KM} * ACOS(LEAST(1, GREATEST(-1,
      COS(RADIANS(:lat)) * COS(RADIANS(l.latitude)) * COS(RADIANS(l.longitude) - RADIANS(:lng))
      + SIN(RADIANS(:lat)) * SIN(RADIANS(l.latitude))))))`;
    const qb = tx
      .createQueryBuilder(LocationEntity, 'l')
      .addSelect(distance, 'distance_km')
      .where('l.latitude BETWEEN :minLat AND :maxLat', { minLat: box.minLat, maxLat: box.maxLat })
      .andWhere('l.longitude IS NOT NULL')
      .setParameters({ lat: point.latitude, lng: point.longitude, radius: radiusKm });
    if (box.minLng !== null && box.maxLng !== null) {
      qb.andWhere('l.longitude BETWEEN :minLng AND :maxLng', { minLng: box.minLng, maxLng: box.maxLng });
    }
    applyFilter(qb, filter);
    qb.andWhere(`${distance} <= :radius`).orderBy('distance_km', 'ASC').addOrderBy('l.code', 'ASC').limit(limit);
    const { entities, raw } = await qb.getRawAndEntities<{ distance_km: number }>();
    return entities.map((location, i) => ({ location, distanceKm: Number(raw[i]!.distance_km) }));
  },

  insert(tx: EntityManager, rows: LocationEntity[]): Promise<unknown> {
    return tx.insert(LocationEntity, rows);
  },

  /** Locks the row for the rest of the transaction; null when it does not exist. */
  findForUpdate(tx: EntityManager, id: string): Promise<LocationEntity | null> {
    return tx.findOne(LocationEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  /** Every update bumps the version in SQL, so each committed state carries its own, higher, version. */
  update(tx: EntityManager, id: string, changes: Partial<LocationEntity>): Promise<unknown> {
    return tx.update(LocationEntity, { id }, { ...changes, version: () => 'version + 1' });
  },

  count(tx: EntityManager): Promise<number> {
    return tx.count(LocationEntity);
  },
};

/** Location queries that may run on a read replica (lib/read-replicas.ts): what the API shows. Updates lock on the primary (`findForUpdate`). */
export const locationReads = {
  findByIds: (r: ReadSide, ids: readonly string[]) => locationStore.findByIds(r.manager, ids),
  findByCodes: (r: ReadSide, codes: readonly string[]) => locationStore.findByCodes(r.manager, codes),
  page: (r: ReadSide, filter: LocationFilter, limit: number, afterCode: string | null) => locationStore.page(r.manager, filter, limit, afterCode),
  nearby: (r: ReadSide, point: { latitude: number; longitude: number }, radiusKm: number, box: BoundingBox, filter: LocationFilter, limit: number) =>
    locationStore.nearby(r.manager, point, radiusKm, box, filter, limit),
};
