import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../lib/batch.js';
import { parseInput } from '../../lib/errors.js';
import { decodeCursor, toConnection, type Connection } from '../../lib/pagination.js';
import { assertId, assertPageSize, idSchema } from '../../lib/validation.js';
import type { OrderEntity, OrderLineEntity, OrderStatus } from './order.entity.js';
import { orderStore, type OrderKey } from './order.store.js';

const cursorSchema = z.tuple([z.iso.datetime(), idSchema]);

/** Cursor values of an order in the newest-first listing. */
export function orderCursor(o: OrderKey): [string, string] {
  return [o.createdAt.toISOString(), o.id];
}

/**
 * @throws BadUserInputError when the cursor was not made by orderCursor
 */
export function parseOrderCursor(cursor: string): OrderKey {
  const [createdAt, id] = parseInput(cursorSchema, decodeCursor(cursor, 2), 'cursor');
  return { createdAt: new Date(createdAt), id };
}

export interface OrderListArgs {
  channelId?: string | null;
  status?: OrderStatus | null;
  since?: Date | null;
  first?: number | null;
  after?: string | null;
}

export class OrderService {
  constructor(private readonly ds: DataSource) {}

  /** Rows for the given ids, in key order, null where none exists (the loader's batch function). */
  async byIds(ids: readonly string[]): Promise<(OrderEntity | null)[]> {
    return oneByKey(ids, await orderStore.findByIds(this.ds.manager, ids), (o) => o.id);
  }

  /** Each order's lines by line number. */
  async linesOf(orderIds: readonly string[]): Promise<OrderLineEntity[][]> {
    return manyByKey(orderIds, await orderStore.linesOf(this.ds.manager, orderIds), (l) => l.orderId);
  }

  /**
   * Orders newest first, optionally of one channel, in one status, or created at or after `since`.
   * @throws BadUserInputError for a malformed channel id, a bad page size or cursor
   */
  async list(args: OrderListArgs): Promise<Connection<OrderEntity>> {
    const channelId = args.channelId == null ? null : assertId(args.channelId, 'channelId');
    const size = assertPageSize(args.first);
    const after = args.after ? parseOrderCursor(args.after) : null;
    const rows = await orderStore.page(this.ds.manager, { channelId, status: args.status, since: args.since }, size + 1, after);
    return toConnection(rows, size, orderCursor);
  }
}
