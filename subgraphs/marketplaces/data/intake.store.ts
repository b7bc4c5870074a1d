import { In, type EntityManager } from 'typeorm';
import type { IntakeStatus, OversellCause } from '../domain/intake-rules.js';
import { IntakeCursorEntity, MarketplaceOrderEntity } from './intake.entity.js';

/** SQL for order intake. Every method runs on the manager it is given. */
export const intakeStore = {
  find(tx: EntityManager, channelId: string, marketplaceOrderId: string): Promise<MarketplaceOrderEntity | null> {
    return tx.findOne(MarketplaceOrderEntity, { where: { channelId, marketplaceOrderId } });
  },

  /** Records the order unless it is recorded already (a webhook and a poll may bring it at once). */
  async insertIfAbsent(tx: EntityManager, row: MarketplaceOrderEntity): Promise<void> {
    await tx.createQueryBuilder().insert().into(MarketplaceOrderEntity).values(row).orIgnore().execute();
  },

  /** The channel's UNMAPPED orders with a line naming `marketplaceSku`, locked for update. */
  async unmappedNaming(tx: EntityManager, channelId: string, marketplaceSku: string): Promise<MarketplaceOrderEntity[]> {
    // JSON_SEARCH matches LIKE patterns: the SKU's % and _ are escaped, and the lines are compared exactly after.
    const rows = await tx
      .createQueryBuilder(MarketplaceOrderEntity, 'o')
      .setLock('pessimistic_write')
      .where('o.channel_id = :channelId AND o.status = :status', { channelId, status: 'UNMAPPED' })
      .andWhere(`JSON_SEARCH(o.lines, 'one', :pattern, '\\\\', '$[*].marketplaceSku') IS NOT NULL`, { pattern: marketplaceSku.replace(/[\\%_]/g, '\\$&') })
      .getMany();
    return rows.filter((r) => (JSON.parse(r.lines) as { marketplaceSku: string }[]).some((l) => l.marketplaceSku === marketplaceSku));
  },

  /** Moves the order from one of `from` to its new state; false when it had moved already. */
  async transition(tx: EntityManager, channelId: string, marketplaceOrderId: string, from: readonly IntakeStatus[], changes: Partial<MarketplaceOrderEntity>): Promise<boolean> {
    const res = await tx.update(MarketplaceOrderEntity, { channelId, marketplaceOrderId, status: In([...from]) }, changes);
    return (res.affected ?? 0) > 0;
  },

  /** Backordered orders waiting for stock, the longest untried first (each try moves an order to the back). */
  backordered(tx: EntityManager, channelId: string, limit: number): Promise<MarketplaceOrderEntity[]> {
    return tx.find(MarketplaceOrderEntity, { where: { channelId, status: 'OVERSOLD', resolution: 'BACKORDERED' }, order: { updatedAt: 'ASC', receivedAt: 'ASC' }, take: limit });
  },

  /** Orders still RECEIVED (orders did not answer), oldest first. */
  received(tx: EntityManager, channelId: string, limit: number): Promise<MarketplaceOrderEntity[]> {
    return tx.find(MarketplaceOrderEntity, { where: { channelId, status: 'RECEIVED' }, order: { receivedAt: 'ASC' }, take: limit });
  },

  page(tx: EntityManager, channelId: string, statuses: readonly IntakeStatus[] | null, limit: number): Promise<MarketplaceOrderEntity[]> {
    return tx.find(MarketplaceOrderEntity, {
      where: { channelId, ...(statuses ? { status: In([...statuses]) } : {}) },
      order: { receivedAt: 'DESC', marketplaceOrderId: 'ASC' },
      take: limit,
    });
  },

  /** OVERSOLD orders (and those cancelled after being oversold) of the channels received since `since`, per channel and cause. */
  async oversoldByCause(tx: EntityManager, channelIds: readonly string[], since: Date | null): Promise<{ channelId: string; cause: OversellCause; orders: number; units: number }[]> {
    const rows: { channel_id: string; cause: OversellCause; orders: string; units: string }[] = await tx.query(
      `SELECT channel_id, cause, COUNT(*) AS orders, SUM(oversold_units) AS units FROM marketplace_orders
        WHERE channel_id IN (?) AND oversold_units IS NOT NULL AND received_at >= ? GROUP BY channel_id, cause ORDER BY channel_id, cause`,
      [channelIds, since ?? new Date(0)],
    );
    return rows.map((r) => ({ channelId: r.channel_id, cause: r.cause, orders: Number(r.orders), units: Number(r.units) }));
  },

  /** The mean delay from a buyer's order to intake over the channel's last 50 orders; null before any. */
  async recentIntakeDelayMs(tx: EntityManager, channelId: string): Promise<number | null> {
    const [row]: { delay: string | null }[] = await tx.query(
      `SELECT AVG(TIMESTAMPDIFF(MICROSECOND, placed_at, received_at)) / 1000 AS delay
         FROM (SELECT placed_at, received_at FROM marketplace_orders WHERE channel_id = ? ORDER BY received_at DESC LIMIT 50) recent`,
      [channelId],
    );
    return row?.delay == null ? null : Math.max(0, Number(row.delay));
  },

  async cursor(tx: EntityManager, channelId: string): Promise<string | null> {
    return (await tx.findOne(IntakeCursorEntity, { where: { channelId } }))?.cursor ?? null;
  },

  saveCursor(tx: EntityManager, channelId: string, cursor: string, at: Date): Promise<unknown> {
    return tx.upsert(IntakeCursorEntity, { channelId, cursor, polledAt: at }, ['channelId']);
  },
};
