import type { ListingService, ShownStock } from './listing.service.js';
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../../lib/redis.js';
import type { Logger } from 'pino';
import { DEFAULT_READ_POLICIES } from '../connectors/policies.js';
import { MarketplaceThrottledError, type MarketplaceAdapter } from '../connectors/types.js';
import { newDriftRun, type MarketplaceService, type ResolvedConnection } from './marketplace.service.js';
import { DriftLineEntity } from '../data/marketplace.entity.js';
import { bucketKey } from './pusher.js';
import { driftCause, type DriftCause } from '../domain/problem-rules.js';
import type { MarketplaceQueues, PushRequest } from './queues.js';
import { RateBucket } from './rate-bucket.js';

/** SKUs per page when walking every SKU the channel lists. */
const RESYNC_PAGE = 100;
/** Throttled reads are tried this often before the run gives up. */
const READ_TRIES = 5;

export interface ReconcilerDeps {
  service: MarketplaceService;
  queues: MarketplaceQueues;
  /** Available-to-sell as each channel is shown it (listing rules applied), and the SKUs it lists. */
  inventory: ShownStock;
  /** Which SKUs a channel lists, under which marketplace SKU, and the marketplace SKUs it retired. */
  listings: Pick<ListingService, 'listedAs' | 'reconcileRetired'>;
  redis: RedisClient;
  adapterFor: (connection: ResolvedConnection) => Promise<MarketplaceAdapter>;
  driftSkusPerRun: number;
  driftTolerance: number;
  log: Logger;
}

const meta = () => ({ requestId: randomUUID(), clientId: 'marketplace-sync' });

/**
 * The slow paths that make a marketplace whole again when events cannot: a resync (after a new
 * connection or a change of its catalogue, a rule change, or Redis losing the queues) compares
 * the available-to-sell of every SKU the channel lists (domain/listing-rules.ts listedAs: all of them
 * under EVERY_SKU, its listed SKUs under LISTED) with what the marketplace was last told;
 * drift repair reads the marketplace's own quantities of listed SKUs back. Both first queue a 0 for
 * every marketplace SKU the channel retired and has not pushed 0 yet.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  private async connection(channelId: string): Promise<ResolvedConnection | undefined> {
    return (await this.deps.service.resolvedConnections()).find((c) => c.channelId === channelId && c.channelStatus === 'ACTIVE');
  }

  /**
   * Queues the channel's retired marketplace SKUs, and every SKU it lists whose available-to-sell
   * differs from the last push, was never pushed, or is pending. Dead-lettered SKUs wait for their replay.
   * @returns how many SKUs were queued
   */
  async resync(channelId: string): Promise<number> {
    const connection = await this.connection(channelId);
    if (!connection) return 0;
    const retired = await this.deps.listings.reconcileRetired(connection);
    let queued = 0;
    for await (const skus of this.deps.inventory.listedSkus(channelId, RESYNC_PAGE, meta)) {
      const [quantities, states] = await Promise.all([
        this.deps.inventory.availableToSell(channelId, skus, meta()),
        this.deps.service.syncStatesOf(channelId, skus),
      ]);
      const stale = skus.filter((sku) => {
        const state = states.get(sku);
        if (!state) return quantities.has(sku);
        if (state.lastError && !state.pending) return false;
        return state.pending || state.lastPushedQuantity !== quantities.get(sku);
      });
      await this.queue(connection, stale, false);
      queued += stale.length;
    }
    this.deps.log.info({ channelId, queued, retired }, 'marketplace resync queued the SKUs that differ and the retired ones');
    return queued + retired;
  }

  /**
   * Queues the channel's retired marketplace SKUs, then reads back, under the marketplace SKU each is
   * listed as, the quantities of the least recently verified listed SKUs (not pending: their push is
   * on its way), records those further than the tolerance from our available-to-sell with the cause
   * measured from what we last pushed (raised as MARKETPLACE_DRIFT problems), and queues corrections.
   */
  async repairDrift(channelId: string): Promise<void> {
    const connection = await this.connection(channelId);
    if (!connection) return;
    await this.deps.listings.reconcileRetired(connection);
    const run = newDriftRun(channelId);
    const states = await this.deps.service.leastRecentlyVerified(channelId, this.deps.driftSkusPerRun);
    const candidates = states.map((s) => s.sku);
    const lastPushed = new Map(states.map((s) => [s.sku, s.lastPushedQuantity]));
    const lines: DriftLineEntity[] = [];
    const causes = new Map<string, DriftCause>();
    const verified: string[] = [];
    try {
      const adapter = await this.deps.adapterFor(connection);
      const policy = DEFAULT_READ_POLICIES[connection.kind];
      const bucket = new RateBucket(this.deps.redis, bucketKey(this.deps.queues.prefix, connection.kind, connection.accountId, 'read'), policy);
      for (let i = 0; i < candidates.length; i += adapter.readBatch) {
        // Listed as read now: a listing changed since its SKU was chosen is read under its new marketplace SKU (or, unlisted, not at all).
        const listed = await this.deps.listings.listedAs(channelId, candidates.slice(i, i + adapter.readBatch), connection.catalogue);
        const skus = [...listed.keys()];
        if (!skus.length) continue;
        const theirs = await this.read(adapter, bucket, [...listed.values()]);
        const ours = await this.deps.inventory.availableToSell(channelId, skus, meta());
        for (const sku of skus) {
          const quantity = ours.get(sku);
          if (quantity === undefined) continue;
          verified.push(sku);
          const their = theirs.get(listed.get(sku)!) ?? null;
          if (their === null || Math.abs(their - quantity) > this.deps.driftTolerance) {
            lines.push(Object.assign(new DriftLineEntity(), { runId: run.id, sku, ours: quantity, theirs: their }));
            causes.set(sku, driftCause({ ours: quantity, theirs: their }, lastPushed.get(sku) ?? null));
          }
        }
      }
    } catch (err) {
      run.error = (err as Error).message.slice(0, 2000);
      this.deps.log.warn({ err, channelId }, 'drift repair stopped early');
    }
    Object.assign(run, { finishedAt: new Date(), checked: verified.length, drifted: lines.length, corrected: lines.length });
    // Recorded (its drifted SKUs marked pending, their problems raised) before the corrections are
    // queued: a correction accepted at once then ends a problem already on record.
    await this.deps.service.recordDriftRun(run, lines, verified, causes);
    await this.enqueue(connection, lines.map((l) => l.sku), true);
    this.deps.log.info({ channelId, checked: run.checked, drifted: run.drifted }, 'drift repair run finished');
  }

  private async read(adapter: MarketplaceAdapter, bucket: RateBucket, skus: string[]): Promise<Map<string, number | null>> {
    for (let attempt = 1; ; attempt++) {
      await bucket.take(adapter.readCost(skus.length));
      try {
        return await adapter.read(skus);
      } catch (err) {
        if (!(err instanceof MarketplaceThrottledError) || attempt >= READ_TRIES) throw err;
        await bucket.pause(err.retryAfterMs);
      }
    }
  }

  private async queue(connection: ResolvedConnection, skus: readonly string[], force: boolean): Promise<void> {
    if (!skus.length) return;
    await this.deps.service.markPending(skus.map((sku) => ({ channelId: connection.channelId, sku, seq: '' })));
    await this.enqueue(connection, skus, force);
  }

  /** Queues pushes of SKUs already marked pending. */
  private async enqueue(connection: ResolvedConnection, skus: readonly string[], force: boolean): Promise<void> {
    if (!skus.length) return;
    const requests: PushRequest[] = skus.map((sku) => ({
      channelId: connection.channelId, sku, seq: '', force, urgent: force, channelPriority: connection.channelPriority,
    }));
    await this.deps.queues.enqueuePushes(connection.kind, connection.accountId, requests);
  }
}
