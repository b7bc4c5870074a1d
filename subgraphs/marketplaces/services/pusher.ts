import type { ListingService, ShownStock } from './listing.service.js';
import type { RetiredSkuEntity } from '../data/listing.entity.js';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import { closeWorker, type RedisClient } from '../../../lib/redis.js';
import type { Logger } from 'pino';
import {
  MarketplaceRejectedError,
  MarketplaceThrottledError,
  MarketplaceUnavailableError,
  type ItemOutcome,
  type MarketplaceAdapter,
  type MarketplaceKind,
  type QuantityUpdate,
} from '../connectors/types.js';
import { deadLetterCause, type PushFailure } from '../domain/problem-rules.js';
import { RETRIES_EXHAUSTED, type MarketplaceService, type ResolvedConnection } from './marketplace.service.js';
import type { PushedMark } from '../data/marketplace.store.js';
import { pushJobSchema, pushQueueName, type MarketplaceQueues, type PushJob } from './queues.js';
import { RateBucket } from './rate-bucket.js';
import { UnusableConnectionError } from './secrets.js';

/** Pause after an unexpected error of the loop itself (Redis or the database away). */
const LOOP_RETRY_MS = 1000;
/** A push waits this long when inventory cannot say the quantity; the marketplace is not to blame, so no try is spent. */
const INVENTORY_RETRY_MS = 2000;
/**
 * Calls of one account in flight at once. The bucket still decides when each may go; this only
 * keeps our own round trips (database, inventory, the call) from capping an account below its limit.
 */
const CALLS_IN_FLIGHT = 8;
/** Most jobs one round takes (a Walmart feed's worth). */
const MAX_ROUND = 10_000;
/**
 * How long the jobs of a connection without usable credentials wait before they are looked at again.
 * An account whose active connections all lack them takes no jobs at all; only one mixing healthy and
 * unhealthy connections takes (and puts back) the unhealthy one's jobs, at this pace.
 */
const HOLD_MS = 5000;

export interface PusherDeps {
  queues: MarketplaceQueues;
  /** For the shared rate buckets. */
  redis: RedisClient;
  service: MarketplaceService;
  /** Available-to-sell as each channel is shown it (listing rules applied). */
  inventory: ShownStock;
  /** Which SKUs each channel lists and under which marketplace SKU, and the marketplace SKUs it retired (pushed 0). */
  listings: Pick<ListingService, 'listedAs' | 'holdersOf' | 'retiredOf' | 'retire' | 'forgetRetired'>;
  /** The current connections of this account (the supervisor refreshes them). */
  connections: () => readonly ResolvedConnection[];
  /**
   * An adapter for the connection with its credentials resolved (recording the connection's health).
   * @throws UnusableConnectionError when its secret is missing or unreadable
   */
  adapterFor: (connection: ResolvedConnection) => Promise<MarketplaceAdapter>;
  /** Whether the connection's credentials were unusable when last looked at (the supervisor keeps looking). */
  unhealthy: (channelId: string) => boolean;
  attempts: number;
  lockMs: number;
  log: Logger;
}

interface Item {
  job: Job;
  data: PushJob;
}

/** A job about to go out: its update names the marketplace's SKU; `retired`, the retirement its 0 settles. */
type ToPush = Item & { update: QuantityUpdate; retired?: RetiredSkuEntity };

/** A job that failed, and how (its cause, should it be its last try). */
type Failed = { item: Item & { update?: QuantityUpdate }; failure: PushFailure };

/** A job to dead-letter: what is kept on the dead letter (`code` as the API shows it) and the cause its problem is grouped by. */
type Refused = { item: Item & { update?: QuantityUpdate }; message: string; code: string | null; cause: string };

/** How a call failed, as far as the error says: the status and what kept an answer from coming. */
function failureOf(err: unknown): PushFailure {
  if (err instanceof MarketplaceUnavailableError) return { message: err.message, code: err.code ?? null, status: err.status ?? null, reason: err.reason ?? null };
  return { message: err instanceof Error ? err.message : String(err), code: null, status: null, reason: null };
}

export function bucketKey(prefix: string, kind: MarketplaceKind, accountId: string, purpose: 'push' | 'read' | `intake:${string}`): string {
  return `${prefix}:marketplace:bucket:${kind.toLowerCase()}:${accountId}:${purpose}`;
}

/**
 * Pushes one marketplace account's queue. Jobs are taken by hand (BullMQ manual processing) so a
 * call can carry as many SKUs as the marketplace takes: the first job waits for work, then the batch
 * fills from what is waiting, lingering up to the policy's lingerMs when it is not full. Calls are
 * paced by the account's token bucket in Redis (shared by every process), which models the
 * marketplace's limit exactly; BullMQ's fixed-window limiter cannot express a bucket with a burst.
 * A throttle pauses the bucket and the queue (queue.rateLimit) for the time asked and puts the jobs
 * back without spending a try; 5xx and network errors fail the job into BullMQ's exponential backoff
 * with jitter; a refusal retrying cannot fix, or a last try, becomes a dead letter.
 * A connection whose secret is missing or unreadable is a health problem, not a push failure: its
 * jobs wait in the queue without spending a try (its SKUs stay pending) until the secret is there.
 */
export class AccountPusher {
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private readonly worker: Worker;
  private readonly token = randomUUID();
  private loop: Promise<void> | undefined;
  private bucket: RateBucket | undefined;
  /** Channels with pushes that ran out of tries here since their last look (resendExhausted). */
  private readonly exhausted = new Set<string>();
  /** Channels whose dead letters this worker looked at once (resendExhausted). */
  private readonly checked = new Set<string>();

  constructor(
    readonly kind: MarketplaceKind,
    readonly accountId: string,
    private readonly deps: PusherDeps,
  ) {
    this.log = deps.log.child({ component: 'marketplace-pusher', kind, accountId });
    this.worker = new Worker(pushQueueName(kind, accountId), null, {
      connection: deps.queues.connection,
      prefix: deps.queues.bullPrefix,
      autorun: false,
      lockDuration: deps.lockMs,
      stalledInterval: deps.lockMs,
      // A job held by a crashed worker goes back to the queue however often that happens: losing it would lose the change.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      // Only so that queue.rateLimit() holds getNextJob back; the pacing itself is the bucket's.
      limiter: { max: Number.MAX_SAFE_INTEGER, duration: 1000 },
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'push worker error'));
  }

  start(): void {
    if (this.loop) return;
    void this.worker.startStalledCheckTimer().catch((err: unknown) => this.log.error({ err }, 'stalled-job checker failed'));
    this.loop = this.run();
  }

  /** Finishes the batch in hand, then closes the worker. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await closeWorker(this.worker);
  }

  private get policy() {
    return this.deps.connections()[0]?.policy;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const policy = this.policy;
        // No connection (yet), or none with usable credentials: the jobs stay queued, untouched.
        if (!policy || this.held()) {
          await sleep(LOOP_RETRY_MS, undefined, { signal: this.stopping.signal });
          continue;
        }
        const first = await this.worker.getNextJob(this.token, { block: true });
        if (!first) continue;
        const batch = [first];
        // Up to CALLS_IN_FLIGHT calls' worth: the quantities are read for all of them at once.
        const round = Math.min(MAX_ROUND, policy.maxBatch * CALLS_IN_FLIGHT);
        await this.withLocksKept(batch, async () => {
          // A batch that is not full goes once no job came for lingerMs. While jobs keep coming it
          // waits up to one refill interval: a scarce budget (Walmart's 10 feeds an hour) is then
          // spent no faster than it comes back, instead of all in the first minutes of a burst.
          const started = Date.now();
          const longest = Math.max(policy.lingerMs, 1000 / policy.refillPerSecond);
          let lastArrival = started;
          while (batch.length < round && !this.stopping.signal.aborted) {
            const next = await this.worker.getNextJob(this.token, { block: false });
            const now = Date.now();
            if (next) {
              batch.push(next);
              lastArrival = now;
            } else if (now - lastArrival < policy.lingerMs && now - started < longest) await sleep(50);
            else break;
          }
          await this.push(batch);
        });
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        this.log.error({ err }, 'push loop failed; retrying');
        await sleep(LOOP_RETRY_MS, undefined, { signal: this.stopping.signal }).catch(() => {});
      }
    }
  }

  /** Every active connection of the account lacks usable credentials: its jobs stay queued, untouched. */
  private held(): boolean {
    const active = this.deps.connections().filter((c) => c.channelStatus === 'ACTIVE');
    return active.length > 0 && active.every((c) => this.deps.unhealthy(c.channelId));
  }

  /** Keeps the locks of the batch (which may still grow) alive while it fills and while a long call (a Walmart feed) runs. */
  private async withLocksKept<T>(jobs: Job[], work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      for (const job of jobs) job.extendLock(this.token, this.deps.lockMs).catch(() => {});
    }, Math.max(250, this.deps.lockMs / 3));
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async push(batch: Job[]): Promise<void> {
    const byChannel = new Map<string, Item[]>();
    for (const job of batch) {
      const data = pushJobSchema.safeParse(job.data);
      if (!data.success) {
        this.log.warn({ jobId: job.id, issues: data.error.issues }, 'dropping a malformed push job');
        await this.complete(job, 'malformed');
        continue;
      }
      const items = byChannel.get(data.data.channelId) ?? [];
      items.push({ job, data: data.data });
      byChannel.set(data.data.channelId, items);
    }
    for (const [channelId, items] of byChannel) {
      const connection = this.deps.connections().find((c) => c.channelId === channelId);
      if (!connection || connection.channelStatus !== 'ACTIVE') {
        // Disconnected or paused: a resync follows a reconnection or a channel change.
        for (const item of items) await this.complete(item.job, 'channel not pushing');
        continue;
      }
      if (this.deps.unhealthy(channelId)) await this.hold(items);
      else await this.pushChannel(connection, items);
    }
  }

  private async pushChannel(connection: ResolvedConnection, items: Item[]): Promise<void> {
    const { channelId } = connection;
    // First, so a connection without credentials costs neither a database nor an inventory round trip.
    let adapter: MarketplaceAdapter;
    try {
      adapter = await this.deps.adapterFor(connection);
    } catch (err) {
      if (err instanceof UnusableConnectionError) return this.hold(items);
      return this.retry(channelId, items.map((item) => ({ item, failure: failureOf(err) })));
    }
    const ordinary = items.filter((i) => i.data.marketplaceSku === undefined);
    const retiring = items.filter((i) => i.data.marketplaceSku !== undefined);
    const skus = ordinary.map((i) => i.data.sku);
    // Read before the quantities: every event recorded by now is included in what inventory answers next.
    const states = await this.deps.service.syncStatesOf(channelId, skus);
    // Each SKU goes out under the marketplace SKU it is listed as; one the channel does not list, not at all.
    const listed = await this.deps.listings.listedAs(channelId, skus, connection.catalogue);
    const marketplaceSkus = retiring.map((i) => i.data.marketplaceSku!);
    const [retired, holders] = await Promise.all([
      this.deps.listings.retiredOf(channelId, marketplaceSkus).then((rows) => new Map(rows.map((r) => [r.marketplaceSku, r]))),
      this.deps.listings.holdersOf(channelId, marketplaceSkus),
    ]);
    let quantities: Map<string, number>;
    try {
      const wanted = new Set([...listed.keys(), ...holders.values()]);
      quantities = wanted.size ? await this.deps.inventory.availableToSell(channelId, [...wanted], { requestId: randomUUID(), clientId: 'marketplace-sync' }) : new Map();
    } catch (err) {
      this.log.warn({ err, channelId }, 'inventory did not answer; the pushes wait');
      for (const item of items) await item.job.moveToDelayed(Date.now() + INVENTORY_RETRY_MS, this.token).catch(() => {});
      return;
    }
    const now = Date.now();
    const mark = (sku: string, quantity: number): PushedMark => {
      const state = states.get(sku);
      const pendingSince = state?.pendingSince ?? null;
      return { sku, quantity, seq: state?.lastEventSeq ?? '', pendingSince, lagMs: pendingSince ? now - pendingSince.getTime() : null };
    };
    const unchanged: PushedMark[] = [];
    const unlisted: Item[] = [];
    const toPush: ToPush[] = [];
    for (const item of ordinary) {
      const as = listed.get(item.data.sku);
      if (as === undefined) {
        unlisted.push(item);
        continue;
      }
      const quantity = quantities.get(item.data.sku);
      if (quantity === undefined) continue; // inventory does not know the SKU (any more): nothing to push
      const state = states.get(item.data.sku);
      if (!item.data.force && state?.lastPushedQuantity === quantity && !state.lastError) unchanged.push(mark(item.data.sku, quantity));
      else toPush.push({ ...item, update: { sku: as, quantity, previousQuantity: state?.lastPushedQuantity ?? null } });
    }
    const pushedAs = new Set(toPush.map((i) => i.update.sku));
    const relisted: Item[] = [];
    for (const item of retiring) {
      const marketplaceSku = item.data.marketplaceSku!;
      const row = retired.get(marketplaceSku);
      if (!row) continue; // pushed 0 already, or listed again
      const holder = holders.get(marketplaceSku);
      // Listed again (for a SKU inventory knows): it is to show that SKU's quantity, not 0.
      if (pushedAs.has(marketplaceSku) || (holder !== undefined && quantities.has(holder))) relisted.push(item);
      else toPush.push({ ...item, update: { sku: marketplaceSku, quantity: 0, previousQuantity: null }, retired: row });
    }
    await this.deps.service.markPushed(connection, unchanged, { sent: false });
    if (unlisted.length) await this.deps.service.clearPending(channelId, unlisted.map((i) => i.data.sku));
    if (relisted.length) await this.relisted(connection, relisted.map((i) => retired.get(i.data.marketplaceSku!)!), holders);
    const settle = new Set(toPush.map((i) => i.job));
    for (const item of items) {
      if (settle.has(item.job)) continue;
      await this.complete(item.job, unlisted.includes(item) ? 'not listed' : relisted.includes(item) ? 'listed again' : item.data.marketplaceSku !== undefined ? 'not retired' : 'unchanged');
    }
    if (!toPush.length) return;
    const calls: ToPush[][] = [];
    for (let i = 0; i < toPush.length; i += connection.policy.maxBatch) calls.push(toPush.slice(i, i + connection.policy.maxBatch));
    await Promise.all(calls.map((call) => this.send(connection, adapter, call, mark)));
  }

  /** Retired marketplace SKUs listed again: forgotten, and the SKU each now lists pushed at once. */
  private async relisted(connection: ResolvedConnection, rows: readonly RetiredSkuEntity[], holders: ReadonlyMap<string, string>): Promise<void> {
    await this.deps.listings.forgetRetired(connection.channelId, rows);
    const skus = [...new Set(rows.flatMap((r) => holders.get(r.marketplaceSku) ?? []))];
    await this.deps.queues.forcePushes(connection, skus);
  }

  /** One call: waits for the bucket, sends, and settles each job by its outcome. */
  private async send(connection: ResolvedConnection, adapter: MarketplaceAdapter, toPush: ToPush[], mark: (sku: string, quantity: number) => PushedMark): Promise<void> {
    const { channelId } = connection;
    this.bucket ??= new RateBucket(this.deps.redis, bucketKey(this.deps.queues.prefix, this.kind, this.accountId, 'push'), connection.policy);
    const updates = toPush.map((i) => i.update);
    await this.bucket.take(adapter.pushCost(updates.length, updates.map((u) => u.sku)), this.stopping.signal);
    let outcomes;
    try {
      outcomes = await adapter.push(updates, { idempotencyKey: idempotencyKey(channelId, updates) });
    } catch (err) {
      if (err instanceof MarketplaceThrottledError) return this.throttled(channelId, toPush, err.retryAfterMs);
      if (err instanceof MarketplaceRejectedError) {
        const cause = deadLetterCause(this.kind, { code: err.code ?? null, status: err.status, reason: null });
        return this.deadLetter(channelId, toPush.map((i) => ({ item: i, message: err.message, code: err.code ?? `HTTP_${err.status}`, cause })), { itemRefused: false });
      }
      return this.retry(channelId, toPush.map((item) => ({ item, failure: failureOf(err) })));
    }
    // Outcomes name the marketplace's SKUs, as sent.
    const bySku = new Map(outcomes.map((o) => [o.sku, o]));
    const pushed: ToPush[] = [];
    const retryable: Failed[] = [];
    const refused: Refused[] = [];
    for (const item of toPush) {
      const outcome: ItemOutcome = bySku.get(item.update.sku) ?? { sku: item.update.sku, ok: false, retryable: true, message: 'no result for this SKU in the response' };
      if (outcome.ok) pushed.push(item);
      else if (outcome.retryable) retryable.push({ item, failure: { message: outcome.message, code: outcome.code ?? null, status: null, reason: null } });
      else refused.push({ item, message: outcome.message, code: outcome.code ?? null, cause: deadLetterCause(this.kind, { code: outcome.code ?? null, status: null, reason: null }) });
    }
    await this.settlePushed(connection, pushed, mark);
    for (const item of pushed) await this.complete(item.job, 'pushed');
    if (pushed.length) await this.resendExhausted(connection);
    if (refused.length) await this.deadLetter(channelId, refused, { itemRefused: true });
    if (retryable.length) await this.retry(channelId, retryable);
  }

  /**
   * Records what the marketplace accepted. A push that landed under a marketplace SKU its SKU is no
   * longer listed as (the listing changed while the call was on its way) is not what that SKU shows:
   * the marketplace SKU is retired (again), so its 0 comes after this quantity. A retired
   * marketplace SKU pushed 0 is forgotten; one listed again meanwhile has its SKU pushed at once.
   */
  private async settlePushed(connection: ResolvedConnection, pushed: ToPush[], mark: (sku: string, quantity: number) => PushedMark): Promise<void> {
    const { channelId } = connection;
    const ordinary = pushed.filter((i) => !i.retired);
    const zeroed = pushed.flatMap((i) => i.retired ?? []);
    const listed = await this.deps.listings.listedAs(channelId, ordinary.map((i) => i.data.sku), connection.catalogue);
    const moved = ordinary.filter((i) => listed.get(i.data.sku) !== i.update.sku);
    await this.deps.service.markPushed(connection, ordinary.filter((i) => !moved.includes(i)).map((i) => mark(i.data.sku, i.update.quantity)), { sent: true });
    await this.deps.listings.retire(connection, moved.map((i) => ({ marketplaceSku: i.update.sku, sku: i.data.sku })));
    if (!zeroed.length) return;
    await this.deps.listings.forgetRetired(channelId, zeroed);
    const holders = await this.deps.listings.holdersOf(channelId, zeroed.map((r) => r.marketplaceSku));
    const skus = [...new Set(holders.values())];
    await this.deps.queues.forcePushes(connection, skus);
  }

  /** Puts the jobs back for later without spending a try: the connection, not the push, is at fault. */
  private async hold(items: Item[]): Promise<void> {
    for (const item of items) await item.job.moveToDelayed(Date.now() + HOLD_MS, this.token).catch(() => {});
  }

  private async throttled(channelId: string, items: Item[], retryAfterMs: number): Promise<void> {
    this.log.info({ channelId, retryAfterMs }, 'marketplace throttled the account; pausing its queue');
    await this.bucket?.pause(retryAfterMs);
    await this.deps.queues.queue(pushQueueName(this.kind, this.accountId)).rateLimit(retryAfterMs);
    await this.deps.service.countThrottle([channelId]);
    for (const item of items) await item.job.moveToWait(this.token).catch(() => {});
  }

  /**
   * Fails the jobs into BullMQ's backoff; a job on its last try becomes a dead letter instead, its
   * problem's cause that of its last failure (a timeout, a 5xx, the marketplace's code).
   */
  private async retry(channelId: string, failed: Failed[]): Promise<void> {
    const last = failed.filter((f) => f.item.job.attemptsMade + 1 >= this.deps.attempts);
    const again = failed.filter((f) => !last.includes(f));
    // A retired marketplace SKU's 0 has no push state of its own: its job alone retries.
    await this.deps.service.markRetrying(channelId, again.filter((f) => f.item.data.marketplaceSku === undefined).map((f) => ({ sku: f.item.data.sku, message: f.failure.message })));
    for (const { item, failure } of again) await item.job.moveToFailed(new Error(failure.message), this.token, false).catch(() => {});
    if (last.length) {
      await this.deadLetter(
        channelId,
        last.map(({ item, failure }) => ({ item, message: `gave up after ${this.deps.attempts} tries: ${failure.message}`, code: RETRIES_EXHAUSTED, cause: deadLetterCause(this.kind, failure) })),
        { itemRefused: false },
      );
      this.exhausted.add(channelId);
    }
  }

  /**
   * Once the marketplace accepts a push of the channel again, the channel's pushes that ran out of
   * tries (it was down, timed out or failed) are sent again with their SKUs' current quantities, as a
   * replay would: an outage longer than the tries leaves no SKU stale until somebody replays it.
   * Refused pushes stay dead letters. Each channel is looked at once after this worker starts too
   * (letters an earlier process left), then only after a push of it ran out of tries here.
   */
  private async resendExhausted(connection: ResolvedConnection): Promise<void> {
    const { channelId } = connection;
    if (this.checked.has(channelId) && !this.exhausted.has(channelId)) return;
    this.checked.add(channelId);
    this.exhausted.delete(channelId);
    const replayed = await this.deps.service.replayExhausted(connection);
    if (replayed.length) this.log.info({ channelId, count: replayed.length }, 'the marketplace accepts pushes again: the pushes that ran out of tries are sent again');
  }

  /**
   * Dead-letters refused pushes. A retired marketplace SKU's 0 is no dead letter (a replay pushes a
   * SKU's quantity, not a 0): refused for itself (the marketplace does not know the SKU, or will not
   * take it: it sells nothing under it either) it is forgotten; otherwise (the whole call refused, or
   * tries exhausted) it stays recorded for the next resync or drift-repair run.
   */
  private async deadLetter(channelId: string, refused: Refused[], opts: { itemRefused: boolean }): Promise<void> {
    const letters = refused.filter(({ item }) => item.data.marketplaceSku === undefined);
    const zeros = refused.filter(({ item }) => item.data.marketplaceSku !== undefined);
    if (letters.length) {
      this.log.warn({ channelId, count: letters.length, message: letters[0]?.message }, 'pushes refused; dead-lettered');
      await this.deps.service.deadLetter(
        channelId,
        letters.map(({ item, message, code, cause }) => ({
          sku: item.data.sku, quantity: item.update?.quantity ?? -1, message, code, attempts: item.job.attemptsMade + 1, cause,
        })),
      );
    }
    if (zeros.length) {
      const marketplaceSkus = zeros.map(({ item }) => item.data.marketplaceSku!);
      this.log.warn({ channelId, marketplaceSkus, message: zeros[0]?.message, forgotten: opts.itemRefused }, 'a retired marketplace SKU\'s 0 was refused');
      if (opts.itemRefused) await this.deps.listings.forgetRetired(channelId, await this.deps.listings.retiredOf(channelId, marketplaceSkus));
    }
    for (const { item } of letters) await this.complete(item.job, 'dead-lettered');
    for (const { item } of zeros) await this.complete(item.job, 'refused');
  }

  private async complete(job: Job, result: string): Promise<void> {
    await job.moveToCompleted(result, this.token, false).catch((err: unknown) => this.log.warn({ err, jobId: job.id }, 'could not complete a push job'));
  }
}

/** The same batch retried carries the same key, so a marketplace that de-duplicates applies it once. */
function idempotencyKey(channelId: string, updates: readonly QuantityUpdate[]): string {
  const hash = createHash('sha256').update(channelId);
  for (const u of updates) hash.update(`\n${u.sku}=${u.quantity}`);
  return hash.digest('hex').slice(0, 32);
}
