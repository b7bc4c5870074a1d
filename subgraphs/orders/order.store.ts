import { In, type EntityManager } from 'typeorm';
import { OrderEntity, OrderLineEntity, type OrderStatus } from './order.entity.js';

export interface OrderFilter {
  channelId?: string | null;
  status?: OrderStatus | null;
  since?: Date | null;
}

/** Position of an order in the newest-first listing. */
export interface OrderKey {
  createdAt: Date;
  id: string;
}

/** All SQL of the orders subgraph. Every method runs on the manager it is given. */
export const orderStore = {
  findByIds(tx: EntityManager, ids: readonly string[]): Promise<OrderEntity[]> {
    return tx.find(OrderEntity, { where: { id: In([...ids]) } });
  },

  linesOf(tx: EntityManager, orderIds: readonly string[]): Promise<OrderLineEntity[]> {
    return tx.find(OrderLineEntity, { where: { orderId: In([...orderIds]) }, order: { lineNumber: 'ASC' } });
  },

  /** Keyset page, newest first with id breaking ties; fetches `limit` rows after `after`. */
  page(tx: EntityManager, filter: OrderFilter, limit: number, after: OrderKey | null): Promise<OrderEntity[]> {
    const qb = tx.createQueryBuilder(OrderEntity, 'o');
    if (filter.channelId) qb.andWhere('o.channel_id = :channelId', { channelId: filter.channelId });
    if (filter.status) qb.andWhere('o.status = :status', { status: filter.status });
    if (filter.since) qb.andWhere('o.created_at >= :since', { since: filter.since });
    if (after) {
      // The redundant `<=` gives the optimiser a range on the (…, created_at) indexes; the OR alone would not.
      qb.andWhere('o.created_at <= :afterAt AND (o.created_at < :afterAt OR o.id < :afterId)', {
        afterAt: after.createdAt,
        afterId: after.id,
      });
    }
    return qb.orderBy('o.created_at', 'DESC').addOrderBy('o.id', 'DESC').limit(limit).getMany();
  },
};
