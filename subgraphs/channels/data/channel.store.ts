import { In, type EntityManager } from 'typeorm';
import { ChannelEntity, ChannelSourceEntity, type ChannelStatus, type ChannelType, type MarketplaceKind } from './channel.entity.js';
import type { ReadSide } from '../../../lib/read-replicas.js';

export interface ChannelFilter {
  types?: ChannelType[] | null;
  statuses?: ChannelStatus[] | null;
  marketplace?: MarketplaceKind | null;
}

/** All SQL of the channels subgraph. Every method runs on the manager it is given. */
export const channelStore = {
  findByIds(tx: EntityManager, ids: readonly string[]): Promise<ChannelEntity[]> {
    return tx.find(ChannelEntity, { where: { id: In([...ids]) } });
  },

  findByCodes(tx: EntityManager, codes: readonly string[]): Promise<ChannelEntity[]> {
    return tx.find(ChannelEntity, { where: { code: In([...codes]) } });
  },

  /** Keyset page ordered by code; fetches `limit` rows after `afterCode`. */
  page(tx: EntityManager, filter: ChannelFilter, limit: number, afterCode: string | null): Promise<ChannelEntity[]> {
    const qb = tx.createQueryBuilder(ChannelEntity, 'c');
    if (filter.types?.length) qb.andWhere('c.type IN (:...types)', { types: filter.types });
    if (filter.statuses?.length) qb.andWhere('c.status IN (:...statuses)', { statuses: filter.statuses });
    if (filter.marketplace) qb.andWhere('c.marketplace = :marketplace', { marketplace: filter.marketplace });
    if (afterCode !== null) qb.andWhere('c.code > :afterCode', { afterCode });
    return qb.orderBy('c.code', 'ASC').limit(limit).getMany();
  },

  /** Sources of the given channels, each channel's in serving order. */
  sourcesOf(tx: EntityManager, channelIds: readonly string[]): Promise<ChannelSourceEntity[]> {
    return tx.find(ChannelSourceEntity, {
      where: { channelId: In([...channelIds]) },
      order: { priority: 'ASC', locationId: 'ASC' },
    });
  },

  /** One join for every location: the sources with their ACTIVE channel, highest channel priority first. */
  activeSourcesAt(tx: EntityManager, locationIds: readonly string[]): Promise<ChannelSourceEntity[]> {
    return tx
      .createQueryBuilder(ChannelSourceEntity, 's')
      .innerJoinAndSelect('s.channel', 'c', 'c.status = :status', { status: 'ACTIVE' satisfies ChannelStatus })
      .where('s.location_id IN (:...locationIds)', { locationIds })
      .orderBy('c.priority', 'DESC')
      .addOrderBy('c.code', 'ASC')
      .getMany();
  },

  insert(tx: EntityManager, row: ChannelEntity): Promise<unknown> {
    return tx.insert(ChannelEntity, row);
  },

  insertSources(tx: EntityManager, rows: ChannelSourceEntity[]): Promise<unknown> {
    return tx.insert(ChannelSourceEntity, rows);
  },

  deleteSources(tx: EntityManager, channelId: string): Promise<unknown> {
    return tx.delete(ChannelSourceEntity, { channelId });
  },

  /** Locks the row for the rest of the transaction; null when it does not exist. */
  findForUpdate(tx: EntityManager, id: string): Promise<ChannelEntity | null> {
    return tx.findOne(ChannelEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  /** Every update bumps the version in SQL, so each committed state carries its own, higher, version. */
  update(tx: EntityManager, id: string, changes: Partial<ChannelEntity>): Promise<unknown> {
    return tx.update(ChannelEntity, { id }, { ...changes, version: () => 'version + 1' });
  },
};

/** Channel queries that may run on a read replica (lib/read-replicas.ts): what the API shows. Changes lock on the primary (`findForUpdate`). */
export const channelReads = {
  findByIds: (r: ReadSide, ids: readonly string[]) => channelStore.findByIds(r.manager, ids),
  findByCodes: (r: ReadSide, codes: readonly string[]) => channelStore.findByCodes(r.manager, codes),
  page: (r: ReadSide, filter: ChannelFilter, limit: number, afterCode: string | null) => channelStore.page(r.manager, filter, limit, afterCode),
  sourcesOf: (r: ReadSide, channelIds: readonly string[]) => channelStore.sourcesOf(r.manager, channelIds),
  activeSourcesAt: (r: ReadSide, locationIds: readonly string[]) => channelStore.activeSourcesAt(r.manager, locationIds),
};
