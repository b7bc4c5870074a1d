import { randomUUID } from 'node:crypto';
import pMap from 'p-map';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { OrdersUnavailableError, type OrdersClient, type OrderSummary } from '../../../contracts/orders-client.js';
import { DomainError, NotFoundError } from '../../../lib/errors.js';
import { TOPICS, type OversellEvent } from '../../../contracts/events.js';
import { writeTransaction } from '../../../lib/db.js';
import { outboxStore } from '../../../lib/outbox.js';
import { MarketplaceThrottledError, type MarketplaceOrder, type OrderFeed } from '../connectors/types.js';
import { MarketplaceOrderEntity } from '../data/intake.entity.js';
import { intakeStore } from '../data/intake.store.js';
import { listingStore } from '../data/listing.store.js';
import { marketplaceStore } from '../data/marketplace.store.js';
import { channelReplicaStore } from '../data/channel-replica.store.js';
import { oversoldAction, oversoldSignal, subjectOf, unmappedSignal } from '../domain/problem-rules.js';
import { problemSignals } from './problem-signals.js';
import { backorderKey, cancelKey, oversellCause, placeKey, pushRecordAt, retriesOversold, type IntakeLine, type IntakeStatus, type OversellCause, type OversellEvidence, type OversellPolicy, type OversellResolution } from '../domain/intake-rules.js';
import type { Catalogue } from '../domain/listing-rules.js';
import { assertPageSize } from '../../../lib/validation.js';
import type { DemandMeter } from '../../../contracts/demand-meter.js';

/** The connection intake works for: its channel, and its account's feed. */
export interface IntakeConnection {
  channelId: string;
  feed: OrderFeed;
  /** Waits for units of the account's intake bucket (connectors/types.ts OrderCallOptions). */
  take(bucket: string, cost: number): Promise<void>;
  /** What happens to an order the marketplace sold that we had no stock for. */
  oversellPolicy: OversellPolicy;
  /** Which SKUs the channel lists: under LISTED, a line no listing names is UNMAPPED. */
  catalogue: Catalogue;
  /** Aborts the marketplace calls (shutdown). */
  signal?: AbortSignal;
  /** The marketplace throttled the last call: its bucket takes nothing for `ms` (Retry-After), in every process. */
  pause(ms: number): Promise<void>;
  /**
   * The marketplace lowered its own quantities of these SKUs when it sold them: they are pushed to it
   * again, whatever it was last told (our available-to-sell may not have changed: a cap, a buffer).
   */
  resend(skus: readonly string[]): Promise<unknown>;
}

export interface IntakeOutcome {
  marketplaceOrderId: string;
  status: IntakeStatus;
}

/** Orders of one page taken in at once: placing each is a call to orders and one to inventory. */
const INGEST_CONCURRENCY = 8;
const RETRY_BATCH = 100;
/** Backordered orders one poll tries to place again (round robin: each try moves one to the back). */
const BACKORDER_BATCH = 20;
/** How long the push history is kept (an order taken in later is judged on the current state). */
export const PUSH_HISTORY_MS = 24 * 3_600_000;

/**
 * Marketplace order intake: every marketplace order line becomes exactly one Omnistock order line.
 * An order is recorded (RECEIVED) before orders is asked to place it under a key derived from the
 * marketplace's order id, so a crash, a retry, or a webhook and a poll bringing it at once all end in
 * the one order. One that cannot be reserved is kept as OVERSOLD with its measured cause; a buyer's
 * cancellation cancels the order (inventory releases it).
 */
export class OrderIntake {
  constructor(
    private readonly ds: DataSource,
    private readonly orders: OrdersClient,
    private readonly log: Logger,
    /** Told how late each order came (its units times the time from the marketplace's sale to us): protective channels withhold what is still unheard of. */
    private readonly demand?: Pick<DemandMeter, 'recordLate'>,
  ) {}

  /**
   * Polls the connection's feed from its stored cursor until no page is left, taking in each order,
   * and retries orders still RECEIVED. The cursor is stored after each page's orders are recorded.
   * @returns the orders taken in
   * @throws the feed's marketplace errors (the next poll resumes from the stored cursor)
   */
  async poll(connection: IntakeConnection, startAt: Date): Promise<IntakeOutcome[]> {
    const outcomes: IntakeOutcome[] = [];
    for (const row of await intakeStore.received(this.ds.manager, connection.channelId, RETRY_BATCH)) {
      outcomes.push(await this.settle(connection, row, row.marketplaceStatus === 'CANCELLED'));
    }
    for (const row of await intakeStore.backordered(this.ds.manager, connection.channelId, BACKORDER_BATCH)) outcomes.push(await this.fillBackorder(connection, row));
    let cursor = await intakeStore.cursor(this.ds.manager, connection.channelId);
    for (;;) {
      const page = await connection.feed.fetchOrders(cursor, { startAt, take: (b, c) => connection.take(b, c), signal: connection.signal }).catch(async (err: unknown) => {
        // The next poll resumes from the stored cursor once the marketplace's wait is over.
        if (err instanceof MarketplaceThrottledError) await connection.pause(err.retryAfterMs);
        throw err;
      });
      outcomes.push(...(await this.ingestPage(connection, page.orders)));
      cursor = page.cursor;
      await intakeStore.saveCursor(this.ds.manager, connection.channelId, cursor, new Date());
      if (!page.more) return outcomes;
    }
  }

  /**
   * Takes in a page of orders, INGEST_CONCURRENCY of them at a time (in a promotion's burst one
   * after another leaves the last minutes behind its sale), each order's entries in page order.
   * Orders are placed roughly oldest first, as the page lists them.
   */
  private async ingestPage(connection: IntakeConnection, orders: readonly MarketplaceOrder[]): Promise<IntakeOutcome[]> {
    const byOrder = new Map<string, MarketplaceOrder[]>();
    for (const order of orders) byOrder.set(order.orderId, [...(byOrder.get(order.orderId) ?? []), order]);
    const outcomes = await pMap(
      byOrder.values(),
      async (entries) => {
        const out: IntakeOutcome[] = [];
        for (const order of entries) out.push(await this.ingest(connection, order));
        return out;
      },
      { concurrency: INGEST_CONCURRENCY },
    );
    return outcomes.flat();
  }

  /** Takes in one marketplace order (from a poll or a webhook); seeing it again changes nothing. */
  async ingest(connection: IntakeConnection, order: MarketplaceOrder, receivedAt = new Date()): Promise<IntakeOutcome> {
    const { channelId } = connection;
    let row = await intakeStore.find(this.ds.manager, channelId, order.orderId);
    if (!row) {
      // A line maps through the listing naming its marketplace SKU (as its marketplace SKU, or as its
      // SKU when it names none: what the pusher lists it as); under EVERY_SKU one no listing names is
      // ours, under LISTED it is UNMAPPED.
      const { catalogue } = connection;
      const named = await listingStore.naming(this.ds.manager, channelId, [...new Set(order.lines.map((l) => l.marketplaceSku).filter(Boolean))]);
      const skuOf = new Map(named.map((l) => [l.marketplaceSku ?? l.sku, l.sku]));
      const lines = order.lines.map((l) => ({
        ...l,
        sku: l.marketplaceSku ? (skuOf.get(l.marketplaceSku) ?? (catalogue === 'LISTED' ? null : l.marketplaceSku)) : null,
      }));
      await intakeStore.insertIfAbsent(
        this.ds.manager,
        Object.assign(new MarketplaceOrderEntity(), {
          channelId,
          marketplaceOrderId: order.orderId,
          // A cancelled order we never took in holds nothing.
          status: order.status === 'CANCELLED' ? 'CANCELLED' : 'RECEIVED',
          marketplaceStatus: order.status,
          orderId: null,
          lines: JSON.stringify(lines),
          placedAt: order.placedAt,
          marketplaceUpdatedAt: order.updatedAt,
          receivedAt,
          updatedAt: receivedAt,
          oversoldUnits: null,
          cause: null,
          evidence: null,
          message: null,
          resolution: null,
          backorderAttempts: 0,
        } satisfies MarketplaceOrderEntity),
      );
      row = (await intakeStore.find(this.ds.manager, channelId, order.orderId))!;
      if (row.receivedAt.getTime() === receivedAt.getTime() && order.status !== 'CANCELLED') await this.recordLateness(lines, order.placedAt, receivedAt);
    }
    if (order.status === 'CANCELLED' && row.status === 'RECEIVED' && row.marketplaceStatus !== 'CANCELLED') {
      // Kept on the row, so that a retry of the placement (the next poll) cancels it too.
      await intakeStore.transition(this.ds.manager, channelId, order.orderId, ['RECEIVED'], { marketplaceStatus: 'CANCELLED', updatedAt: receivedAt });
      row.marketplaceStatus = 'CANCELLED';
    }
    return this.settle(connection, row, order.status === 'CANCELLED');
  }

  /** The order's units, each as late as the order reached us (a measurement: its failure costs nothing but a log line). */
  private async recordLateness(lines: { sku: string | null; quantity: number }[], placedAt: Date, receivedAt: Date): Promise<void> {
    const lateMs = receivedAt.getTime() - placedAt.getTime();
    if (!this.demand || lateMs <= 0) return;
    const unitMs = new Map<string, number>();
    for (const l of lines) if (l.sku) unitMs.set(l.sku, (unitMs.get(l.sku) ?? 0) + l.quantity * lateMs);
    await this.demand.recordLate(unitMs).catch((err: unknown) => this.log.warn({ err }, 'could not record how late an order came'));
  }

  /** Places a RECEIVED order, and cancels one the buyer cancelled. */
  private async settle(connection: IntakeConnection, row: MarketplaceOrderEntity, cancelled: boolean): Promise<IntakeOutcome> {
    if (row.status === 'RECEIVED') {
      // Placed even when cancelled meanwhile: an earlier attempt may have placed it (a crash before
      // it was marked), and only placing again under its key finds that order to cancel.
      const outcome = await this.place(connection, row);
      if (!cancelled || outcome.status === 'RECEIVED') return outcome;
      row = (await intakeStore.find(this.ds.manager, row.channelId, row.marketplaceOrderId))!;
    }
    if (cancelled && row.status !== 'CANCELLED') return this.cancel(row);
    return { marketplaceOrderId: row.marketplaceOrderId, status: row.status };
  }

  /** Places a RECEIVED order. */
  private async place(connection: IntakeConnection, row: MarketplaceOrderEntity): Promise<IntakeOutcome> {
    const done = (status: IntakeStatus, changes: Partial<MarketplaceOrderEntity> = {}) => this.finish(row, status, changes);
    const lines = JSON.parse(row.lines) as IntakeLine[];
    const unmapped = lines.filter((l) => !l.sku);
    if (unmapped.length) return this.unmapped(row, unmapped, `no listing maps ${unmapped.map((l) => l.marketplaceSku || '(no SKU)').join(', ')}`, 'no listing maps it');
    let placed: OrderSummary;
    try {
      placed = await this.placeUnder(placeKey(row.channelId, row.marketplaceOrderId), row, lines as { sku: string; quantity: number }[]);
    } catch (err) {
      if (err instanceof OrdersUnavailableError) {
        this.log.warn({ err, channelId: row.channelId, marketplaceOrderId: row.marketplaceOrderId }, 'orders did not answer; the order stays RECEIVED for the next poll');
        return { marketplaceOrderId: row.marketplaceOrderId, status: 'RECEIVED' };
      }
      if (err instanceof NotFoundError) {
        // Orders names what it did not find: a SKU of ours nobody has (a line taken as ours, or a listing naming a SKU since removed).
        const unknown = err.details.entity === 'InventoryItem' ? lines.filter((l) => l.sku === String(err.details.id)) : [];
        return this.unmapped(row, unknown, err.message, 'no SKU of ours has it');
      }
      if (err instanceof DomainError) {
        await this.soldThere(connection, row.channelId, lines);
        return done('REFUSED', { message: err.message });
      }
      throw err;
    }
    // Orders recorded it but inventory has not answered yet: the next poll places it again under the same key, which settles it.
    if (placed.status === 'PENDING') return { marketplaceOrderId: row.marketplaceOrderId, status: 'RECEIVED' };
    const short = placed.status === 'REJECTED' ? (placed.rejection?.lines ?? []) : [];
    const oversold = placed.rejection?.reason === 'INSUFFICIENT_STOCK' && short.length > 0;
    // What our records said when the buyer ordered, read before the next lines change them.
    const evidence = oversold ? await this.evidence(row, short) : [];
    await this.soldThere(connection, row.channelId, lines);
    if (placed.status !== 'REJECTED') {
      await this.acknowledge(connection, row);
      return done('PLACED', { orderId: placed.id });
    }
    if (!oversold) return done('REFUSED', { orderId: placed.id, message: placed.rejection?.message ?? placed.rejection?.reason ?? 'rejected' });
    this.log.warn({ channelId: row.channelId, marketplaceOrderId: row.marketplaceOrderId, evidence }, 'marketplace order oversold');
    const units = short.reduce((n, l) => n + Math.max(0, l.requested - l.available), 0);
    const event: OversellEvent = {
      channelId: row.channelId,
      marketplaceOrderId: row.marketplaceOrderId,
      orderId: placed.id,
      units,
      cause: evidence[0]!.cause,
      lines: evidence.map((e) => ({ sku: e.sku, requested: e.requested, available: e.available, cause: e.cause })),
      placedAt: row.placedAt.toISOString(),
      receivedAt: row.receivedAt.toISOString(),
    };
    const cause = evidence[0]!.cause;
    const action = oversoldAction({
      channelId: row.channelId,
      cause,
      // Orders answers an oversold order REJECTED: it holds nothing to cancel.
      order: { id: placed.id, open: false },
      policy: connection.oversellPolicy,
      buffer: await channelReplicaStore.bufferOf(this.ds.manager, row.channelId),
      shortPerLine: short.map((l) => Math.max(0, l.requested - l.available)),
    });
    const outcome = await this.finish(row, 'OVERSOLD', { orderId: placed.id, oversoldUnits: units, cause, evidence: JSON.stringify(evidence) }, async (tx, now) => {
      await outboxStore.append(tx, [{ topic: TOPICS.oversell, key: row.channelId, payload: event }], now);
      const signal = oversoldSignal({ channelId: row.channelId, marketplaceOrderId: row.marketplaceOrderId, orderId: placed.id, units, cause, lines: evidence, action }, now);
      await problemSignals.raise(tx, [{ ...signal, channelId: row.channelId }], now);
    });
    if (connection.oversellPolicy === 'CANCEL') await this.cancelAtMarketplace(connection, row, lines);
    if (retriesOversold(connection.oversellPolicy)) {
      await intakeStore.transition(this.ds.manager, row.channelId, row.marketplaceOrderId, ['OVERSOLD'], { resolution: 'BACKORDERED', updatedAt: new Date() });
      // REALLOCATE tries every other location at once; a backorder waits for its next poll.
      if (connection.oversellPolicy === 'REALLOCATE') return this.fillBackorder(connection, (await intakeStore.find(this.ds.manager, row.channelId, row.marketplaceOrderId))!);
    }
    return outcome;
  }

  /**
   * The BACKORDER and REALLOCATE policies: places a backordered order again, under the key of its
   * next try (REALLOCATE: from any active shipping location); filled, it is PLACED (resolution
   * BACKORDER_FILLED, or REALLOCATED); refused again, it waits for the next poll.
   */
  private async fillBackorder(connection: IntakeConnection, row: MarketplaceOrderEntity): Promise<IntakeOutcome> {
    const lines = JSON.parse(row.lines) as { sku: string; quantity: number }[];
    const anyLocation = connection.oversellPolicy === 'REALLOCATE';
    let placed: OrderSummary;
    try {
      placed = await this.placeUnder(backorderKey(row.channelId, row.marketplaceOrderId, row.backorderAttempts), row, lines, anyLocation);
    } catch (err) {
      if (!(err instanceof OrdersUnavailableError || err instanceof DomainError)) throw err;
      this.log.warn({ err, channelId: row.channelId, marketplaceOrderId: row.marketplaceOrderId }, 'placing a backordered order failed; the next poll tries again');
      return { marketplaceOrderId: row.marketplaceOrderId, status: row.status };
    }
    // PENDING: the same key settles it at the next poll.
    if (placed.status === 'PENDING') return { marketplaceOrderId: row.marketplaceOrderId, status: row.status };
    if (placed.status === 'REJECTED') {
      await intakeStore.transition(this.ds.manager, row.channelId, row.marketplaceOrderId, ['OVERSOLD'], { backorderAttempts: row.backorderAttempts + 1, updatedAt: new Date() });
      return { marketplaceOrderId: row.marketplaceOrderId, status: row.status };
    }
    await this.acknowledge(connection, row);
    this.log.info({ channelId: row.channelId, marketplaceOrderId: row.marketplaceOrderId, orderId: placed.id, anyLocation }, 'backordered marketplace order filled');
    return this.finish(
      row,
      'PLACED',
      { orderId: placed.id, resolution: anyLocation ? 'REALLOCATED' : 'BACKORDER_FILLED' },
      this.oversoldResolved(row, anyLocation ? `placed from any shipping location as order ${placed.id}` : `placed as order ${placed.id} once stock came in`, placed.id),
    );
  }

  /**
   * The marketplace order placed through orders under `key`, as the sale it already is: from the
   * channel's sources past its buffer, cap and protection (they hold back from live buyers what
   * such late sales need), or with `anyLocation` from any active shipping location too.
   */
  private placeUnder(key: string, row: MarketplaceOrderEntity, lines: { sku: string; quantity: number }[], anyLocation = false): Promise<OrderSummary> {
    return this.orders.placeSoldOrder(
      { idempotencyKey: key, channelId: row.channelId, customerReference: row.marketplaceOrderId, lines: mergeLines(lines), fulfilment: { method: 'SHIP' } },
      anyLocation,
      { requestId: randomUUID(), clientId: 'marketplace-intake' },
    );
  }

  /**
   * Whatever became of an order here, the marketplace counted its sale down on its own: the SKUs no
   * longer show what they were last told (so a resync, after Redis lost the push below, pushes them
   * too), and they are told ours again. Done before the order is marked: a crash in between places
   * it again under its key, and comes back here.
   */
  private async soldThere(connection: IntakeConnection, channelId: string, lines: readonly { sku: string | null }[]): Promise<void> {
    const sold = [...new Set(lines.flatMap((l) => l.sku ?? []))];
    await marketplaceStore.forgetPushed(this.ds.manager, channelId, sold);
    await connection.resend(sold);
  }

  /** Tells the marketplace we took the order (Walmart; a no-op elsewhere); a failure costs nothing but a log line. */
  private async acknowledge(connection: IntakeConnection, row: MarketplaceOrderEntity): Promise<void> {
    await connection.feed
      .acknowledge(row.marketplaceOrderId, { take: (b, c) => connection.take(b, c), signal: connection.signal })
      .catch((err: unknown) => this.log.warn({ err, marketplaceOrderId: row.marketplaceOrderId }, 'acknowledging the order failed; the marketplace will show it unacknowledged'));
  }

  /** The CANCEL policy: the marketplace cancels the oversold order (and refunds the buyer); what happened is kept as its resolution. */
  private async cancelAtMarketplace(connection: IntakeConnection, row: MarketplaceOrderEntity, lines: { lineId?: string; marketplaceSku: string; quantity: number }[]): Promise<void> {
    const resolve = (resolution: OversellResolution, message: string | null = null) =>
      writeTransaction(this.ds, async (tx) => {
        const now = new Date();
        const moved = await intakeStore.transition(tx, row.channelId, row.marketplaceOrderId, ['OVERSOLD'], { resolution, ...(message ? { message } : {}), updatedAt: now });
        // Cancelled there, the buyer is refunded: nothing is left to do. A failed or unsupported cancellation stays a person's to do.
        if (moved && resolution === 'CANCELLED_AT_MARKETPLACE') await this.oversoldResolved(row, 'cancelled at the marketplace, which refunds the buyer')(tx, now);
      });
    if (!connection.feed.cancel) {
      await resolve('CANCEL_UNSUPPORTED', `${connection.feed.kind} cancels orders through its Feeds API, which is not supported: cancel it there`);
      return;
    }
    try {
      await connection.feed.cancel(
        { orderId: row.marketplaceOrderId, lines: lines.map((l, i) => ({ lineId: l.lineId ?? String(i + 1), marketplaceSku: l.marketplaceSku, quantity: l.quantity })) },
        { take: (b, c) => connection.take(b, c), signal: connection.signal },
      );
      await resolve('CANCELLED_AT_MARKETPLACE');
    } catch (err) {
      this.log.error({ err, channelId: row.channelId, marketplaceOrderId: row.marketplaceOrderId }, 'cancelling an oversold order at the marketplace failed; a person must act');
      await resolve('CANCEL_FAILED', (err as Error).message.slice(0, 1000));
    }
  }

  private async cancel(row: MarketplaceOrderEntity): Promise<IntakeOutcome> {
    if (row.status === 'PLACED' && row.orderId) {
      try {
        await this.orders.cancelOrder(
          { orderId: row.orderId, idempotencyKey: cancelKey(row.channelId, row.marketplaceOrderId), reason: 'cancelled at the marketplace' },
          { requestId: randomUUID(), clientId: 'marketplace-intake' },
        );
      } catch (err) {
        if (err instanceof OrdersUnavailableError) return { marketplaceOrderId: row.marketplaceOrderId, status: row.status };
        if (!(err instanceof DomainError)) throw err;
        this.log.warn({ err, orderId: row.orderId }, 'the order could not be cancelled (something shipped?)');
      }
    }
    return this.finish(row, 'CANCELLED', { marketplaceStatus: 'CANCELLED' }, row.status === 'OVERSOLD' ? this.oversoldResolved(row, 'cancelled by the buyer') : undefined);
  }

  /** Moves the order to `status`, with what it records besides (its events) in the same transaction, only if this call made the move. */
  private async finish(row: MarketplaceOrderEntity, status: IntakeStatus, changes: Partial<MarketplaceOrderEntity>, also?: (tx: EntityManager, now: Date) => Promise<void>): Promise<IntakeOutcome> {
    const now = new Date();
    await writeTransaction(this.ds, async (tx) => {
      const moved = await intakeStore.transition(tx, row.channelId, row.marketplaceOrderId, [row.status], { ...changes, status, updatedAt: now });
      if (moved && also) await also(tx, now);
    });
    return { marketplaceOrderId: row.marketplaceOrderId, status };
  }

  /**
   * UNMAPPED: the order holds nothing, and each marketplace SKU of `lines` is raised as an
   * UNMAPPED_LISTING problem (one per marketplace SKU, its units summed over the orders naming it)
   * until a listing maps it. A line naming no marketplace SKU at all has nothing a listing could map.
   */
  private unmapped(row: MarketplaceOrderEntity, lines: readonly { marketplaceSku: string; quantity: number }[], message: string, why: string): Promise<IntakeOutcome> {
    const units = new Map<string, number>();
    for (const l of lines) if (l.marketplaceSku) units.set(l.marketplaceSku, (units.get(l.marketplaceSku) ?? 0) + l.quantity);
    return this.finish(row, 'UNMAPPED', { message }, async (tx, now) => {
      const signals = [...units].map(([marketplaceSku, n]) => ({
        ...unmappedSignal({ channelId: row.channelId, marketplaceSku, units: n, marketplaceOrderId: row.marketplaceOrderId, why }, now),
        channelId: row.channelId,
      }));
      await problemSignals.raise(tx, signals, now);
    });
  }

  /** Ends the oversold order's OVERSOLD problem (if it is open), in the caller's transaction. */
  private oversoldResolved(row: MarketplaceOrderEntity, how: string, orderId: string | null = null): (tx: EntityManager, now: Date) => Promise<void> {
    return async (tx, now) => {
      await problemSignals.clear(tx, ['OVERSOLD'], [subjectOf(row.channelId, row.marketplaceOrderId)], () => ({
        explanation: `Marketplace order ${row.marketplaceOrderId} was ${how}`,
        evidence: [{ type: 'MARKETPLACE_ORDER', id: row.marketplaceOrderId }, ...(orderId ? [{ type: 'ORDER' as const, id: orderId }] : [])],
      }), now);
    };
  }

  /**
   * What our records said about each short line's SKU on this marketplace when the buyer ordered:
   * the push history around that moment (the last push before it and the first after), and the
   * SKU's current state for a change still waiting.
   */
  private async evidence(row: MarketplaceOrderEntity, short: { sku: string; requested: number; available: number }[]): Promise<OversellEvidence[]> {
    const skus = short.map((l) => l.sku);
    const states = new Map((await marketplaceStore.syncStates(this.ds.manager, row.channelId, skus)).map((s) => [s.sku, s]));
    const history = await Promise.all(skus.map((sku) => marketplaceStore.pushesAround(this.ds.manager, row.channelId, sku, row.placedAt)));
    const [connection] = await marketplaceStore.connectionsOf(this.ds.manager, [row.channelId]);
    return short.map((l, i) => {
      const s = states.get(l.sku);
      const now = s ? { lastPushedQuantity: s.lastPushedQuantity, lastPushedAt: s.lastPushedAt, pendingSince: s.pendingSince, lastLagMs: s.lastLagMs } : null;
      return oversellCause(l, pushRecordAt(history[i]!, now, row.placedAt), {
        placedAt: row.placedAt,
        receivedAt: row.receivedAt,
        lastThrottledAt: connection?.lastThrottledAt ?? null,
      });
    });
  }

}

/** Oversold orders and units of one cause. */
export interface OversoldByCause {
  cause: OversellCause;
  orders: number;
  units: number;
}

/** What intake took in, as the subgraph's API and the jobs metrics read it. */
export class IntakeReads {
  constructor(private readonly ds: DataSource) {}

  /**
   * The channel's taken-in orders, newest first, optionally in some states.
   * @throws BadUserInputError for a page size outside 1..100
   */
  orders(channelId: string, statuses: readonly IntakeStatus[] | null | undefined, first: number | null | undefined): Promise<MarketplaceOrderEntity[]> {
    return intakeStore.page(this.ds.manager, channelId, statuses?.length ? statuses : null, assertPageSize(first));
  }

  /** Units the channel's marketplace sold that we had no stock for, per cause, of orders received since `since` (default: all). */
  async oversold(channelId: string, since: Date | null | undefined): Promise<OversoldByCause[]> {
    return (await intakeStore.oversoldByCause(this.ds.manager, [channelId], since ?? null)).map(({ channelId: _, ...o }) => o);
  }

  /** Every oversold unit and order of each channel, per cause, in one query (the jobs metrics). */
  async oversoldOf(channelIds: readonly string[]): Promise<Map<string, OversoldByCause[]>> {
    const out = new Map<string, OversoldByCause[]>();
    if (!channelIds.length) return out;
    for (const { channelId, ...o } of await intakeStore.oversoldByCause(this.ds.manager, channelIds, null)) {
      const list = out.get(channelId);
      if (list) list.push(o);
      else out.set(channelId, [o]);
    }
    return out;
  }
}

/** One line per SKU (a marketplace may list a SKU on two lines; orders takes each SKU once). */
function mergeLines(lines: { sku: string; quantity: number }[]): { sku: string; quantity: number }[] {
  const by = new Map<string, number>();
  for (const l of lines) by.set(l.sku, (by.get(l.sku) ?? 0) + l.quantity);
  return [...by].map(([sku, quantity]) => ({ sku, quantity }));
}
