import { PROTECTIONS, type Protection } from '../../../contracts/protection.js';
import { CATALOGUES, type Catalogue } from '../domain/listing-rules.js';
import { OVERSELL_POLICIES, type OversellPolicy } from '../domain/intake-rules.js';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../../lib/batch.js';
import { BadUserInputError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { decodeCursor, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertPageSize, idSchema, skuSchema } from '../../../lib/validation.js';
import type { ChannelSnapshot } from '../../../contracts/events.js';
import { writeTransaction } from '../../../lib/db.js';
import { channelReplicaStore, type ReplicaChannel } from '../data/channel-replica.store.js';
import { endpointProblem, queueProblem, redactMessage } from '../domain/connection-rules.js';
import { DEFAULT_PUSH_POLICIES } from '../connectors/policies.js';
import type { MarketplaceKind, RatePolicy } from '../connectors/types.js';
import {
  DeadLetterEntity,
  DriftRunEntity,
  MarketplaceConnectionEntity,
  type DriftLineEntity,
  type SyncStateEntity,
} from '../data/marketplace.entity.js';
import { marketplaceStore, type PendingMark, type PushedMark, type SyncFilter } from '../data/marketplace.store.js';
import { deadLetterSignal, driftSignal, subjectOf, syncLagCause, syncLagSignal, syncLagTransition, type DriftCause } from '../domain/problem-rules.js';
import { problemSignals } from './problem-signals.js';
import type { MarketplaceQueues } from './queues.js';
import { connectionProblemCodeSchema, type ConnectionProblemCode } from './secrets.js';

/** The window channel lag percentiles are taken over. */

/** How long setting a connection waits for a channel its replica does not hold yet. */
const REPLICA_WAIT_MS = 3000;

/** The code of a dead letter whose push ran out of tries (rather than being refused by the marketplace). */
export const RETRIES_EXHAUSTED = 'RETRIES_EXHAUSTED';

export const LAG_WINDOW_MS = 15 * 60 * 1000;

const settingsSchema = z
  .object({
    marketplaceIds: z.array(z.string().regex(/^[A-Z0-9]{1,20}$/)).min(1).max(20).nullish(),
    productType: z.string().regex(/^[A-Z0-9_]{1,64}$/).nullish(),
    notificationQueueUrl: z.url({ protocol: /^https?$/ }).max(500).nullish(),
    locationId: z.string().regex(/^gid:\/\/shopify\/Location\/\d+$/, 'must be a Shopify location gid').nullish(),
    apiVersion: z.string().regex(/^\d{4}-\d{2}$/, 'must look like 2025-01').nullish(),
  })
  .nullish();

const ratePolicySchema = z.object({
  capacity: z.number().positive().max(1_000_000),
  refillPerSecond: z.number().positive().max(1_000_000),
  maxBatch: z.number().int().min(1),
  lingerMs: z.number().int().min(0).max(600_000),
});

const connectionSchema = z.object({
  accountId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_" or "-"'),
  baseUrl: z.url({ protocol: /^https?$/ }).max(500),
  secretName: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'must be 1-128 lower-case letters, digits, ".", "_" or "-"'),
  settings: settingsSchema,
  ratePolicy: ratePolicySchema.nullish(),
  protection: z.enum(PROTECTIONS).nullish(),
  catalogue: z.enum(CATALOGUES).nullish(),
  oversellPolicy: z.enum(OVERSELL_POLICIES).nullish(),
});
export type MarketplaceConnectionInput = z.input<typeof connectionSchema>;

/** What each marketplace needs in `settings`. */
const REQUIRED_SETTINGS: Record<MarketplaceKind, (keyof NonNullable<z.output<typeof settingsSchema>>)[]> = {
  AMAZON: ['marketplaceIds'],
  EBAY: [],
  WALMART: [],
  SHOPIFY: ['locationId'],
};

const syncFilterSchema = z
  .object({
    skus: z.array(skuSchema).max(100).nullish(),
    onlyPending: z.boolean().nullish(),
    onlyFailed: z.boolean().nullish(),
  })
  .nullish();

const replaySchema = z.object({ channelId: idSchema, ids: z.array(idSchema).min(1).max(10_000).nullish() });

/**
 * Why a connection's pushes cannot go out, as the jobs process last found it. Its pushes then wait
 * (nothing is dead-lettered) and resume by themselves once it is fixed.
 */
export interface ConnectionProblem {
  code: ConnectionProblemCode;
  message: string;
  since: Date;
}

/** A connection in the form the push path uses, with its channel's state. */
export interface ResolvedConnection {
  channelId: string;
  channelCode: string;
  kind: MarketplaceKind;
  accountId: string;
  baseUrl: string;
  secretName: string;
  settings: Record<string, unknown>;
  policy: RatePolicy;
  policyOverridden: boolean;
  /** Whether the channel is shown less of a SKU selling faster than it hears (contracts/protection.ts). */
  protection: Protection;
  /** What the channel is pushed: every SKU, or its listed ones only (domain/listing-rules.ts). */
  catalogue: Catalogue;
  /** What happens to an order the marketplace sold that we had no stock for. */
  oversellPolicy: OversellPolicy;
  channelStatus: ReplicaChannel['status'];
  channelPriority: number;
  /** The channel's source locations. */
  locationIds: string[];
  /** As stored: what the jobs process last found. */
  problem: ConnectionProblem | null;
}

export interface SyncSummary {
  backlog: number;
  deadLetters: number;
  lastPushAt: Date | null;
  lagP95Ms: number | null;
  throttleCount: number;
  lastThrottledAt: Date | null;
  /** Null while the connection is healthy. */
  problem: ConnectionProblem | null;
}

/** The connection's policy: its stored override (parsed where it enters), else the marketplace's documented limits. */
export function resolvePolicy(row: MarketplaceConnectionEntity): RatePolicy {
  return row.ratePolicy ? ratePolicySchema.parse(JSON.parse(row.ratePolicy)) : DEFAULT_PUSH_POLICIES[row.kind];
}

/** The connection's stored problem (its code parsed where it enters); null while healthy. */
export function connectionProblem(row: MarketplaceConnectionEntity): ConnectionProblem | null {
  if (!row.problemCode) return null;
  return { code: connectionProblemCodeSchema.parse(row.problemCode), message: row.problemMessage ?? '', since: row.problemSince ?? row.updatedAt };
}

/** The connection's stored settings, parsed where they enter. */
export function connectionSettings(row: MarketplaceConnectionEntity): Record<string, unknown> {
  return z.record(z.string(), z.unknown()).parse(JSON.parse(row.settings));
}

/**
 * Marketplace connections, the push state per (channel, SKU), dead letters and drift runs: the
 * channels subgraph's API of them and the writes of the push path (which runs in the jobs process).
 */
export class MarketplaceService {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: MarketplaceQueues,
    private readonly opts: { allowedHosts: readonly string[] },
  ) {}

  async connectionsOf(channelIds: readonly string[]): Promise<(MarketplaceConnectionEntity | null)[]> {
    return oneByKey(channelIds, await marketplaceStore.connectionsOf(this.ds.manager, channelIds), (c) => c.channelId);
  }

  /**
   * Keeps the channel replica current from a `channel` event (ignored when older than the replica,
   * or written before events carried what the replica needs).
   * @returns whether it changed the replica
   */
  async applyChannelSnapshot(snapshot: ChannelSnapshot): Promise<boolean> {
    const { code, type, marketplace, priority } = snapshot;
    if (code === undefined || type === undefined || marketplace === undefined || priority === undefined) return false;
    return writeTransaction(this.ds, (tx) => channelReplicaStore.apply(tx, { ...snapshot, code, type, marketplace, priority }, new Date()));
  }

  /**
   * The channel from the replica. One created a moment ago may not have reached it yet (its event
   * goes through the outbox relay and the jobs process): it is waited for, up to REPLICA_WAIT_MS.
   * @throws NotFoundError when the replica still does not hold it
   */
  private async replicatedChannel(channelId: string): Promise<ReplicaChannel> {
    const deadline = Date.now() + REPLICA_WAIT_MS;
    for (;;) {
      const [channel] = await channelReplicaStore.byIds(this.ds.manager, [channelId]);
      if (channel) return channel;
      if (Date.now() >= deadline) {
        throw new NotFoundError('Channel', channelId, {
          hint: `This subgraph knows channels from the channels subgraph's events: one created moments ago may not have arrived yet (is the jobs process running?)`,
        });
      }
      await sleep(50);
    }
  }

  /** A channel by its code, from the replica (the CLI names channels by code); null when it holds none. */
  /** A channel's source locations, as the channel replica holds them. */
  async sourcesOf(channelId: string): Promise<string[]> {
    return (await channelReplicaStore.sourcesOf(this.ds.manager, [channelId])).map((s) => s.locationId);
  }

  async channelByCode(code: string): Promise<ReplicaChannel | null> {
    return (await channelReplicaStore.byCode(this.ds.manager, code)) ?? null;
  }

  /** Every connection with its channel's status, priority and sources (from the channel replica). */
  async resolvedConnections(): Promise<ResolvedConnection[]> {
    const tx = this.ds.manager;
    const rows = await marketplaceStore.allConnections(tx);
    if (!rows.length) return [];
    const ids = rows.map((r) => r.channelId);
    const [channels, sources] = await Promise.all([channelReplicaStore.byIds(tx, ids), channelReplicaStore.sourcesOf(tx, ids)]);
    const channelOf = oneByKey(ids, channels, (c) => c.id);
    const sourcesOf = manyByKey(ids, sources, (s) => s.channelId);
    return rows.flatMap((row, i) => {
      const channel = channelOf[i];
      if (!channel) return [];
      return [{
        channelId: row.channelId,
        channelCode: channel.code,
        kind: row.kind,
        accountId: row.accountId,
        baseUrl: row.baseUrl,
        secretName: row.secretName,
        settings: connectionSettings(row),
        policy: resolvePolicy(row),
        policyOverridden: row.ratePolicy !== null,
        protection: row.protection,
        catalogue: row.catalogue,
        oversellPolicy: row.oversellPolicy,
        channelStatus: channel.status,
        channelPriority: channel.priority,
        locationIds: sourcesOf[i]!.map((s) => s.locationId),
        problem: connectionProblem(row),
      }];
    });
  }

  /**
   * Connects a MARKETPLACE channel to its marketplace account (or replaces the connection), then
   * queues a resync so the account receives every SKU's available-to-sell (moved to another account
   * or endpoint, what the old one was told is forgotten, so the new one is sent every SKU).
   * @throws NotFoundError for an unknown channel
   * @throws BadUserInputError for a channel that is no marketplace, or invalid input
   */
  async setConnection(channelId: string, input: MarketplaceConnectionInput): Promise<ReplicaChannel> {
    const v = parseInput(connectionSchema, input);
    const channel = await this.replicatedChannel(channelId);
    const kind = channel.marketplace;
    if (channel.type !== 'MARKETPLACE' || !kind) {
      throw new BadUserInputError(`Channel ${channel.code} is not a marketplace channel`, [{ path: 'channelId', message: `is a ${channel.type} channel` }]);
    }
    const settings = Object.fromEntries(Object.entries(v.settings ?? {}).filter(([, value]) => value != null));
    const missing = REQUIRED_SETTINGS[kind].filter((key) => settings[key] == null);
    if (missing.length) {
      throw new BadUserInputError(
        `Invalid input: ${kind} needs ${missing.map((m) => `settings.${m}`).join(', ')}`,
        missing.map((m) => ({ path: `settings.${m}`, message: `required for ${kind}` })),
      );
    }
    const endpoint = endpointProblem(kind, v.baseUrl, this.opts.allowedHosts);
    if (endpoint) throw new BadUserInputError(`Invalid input: baseUrl ${endpoint}`, [{ path: 'baseUrl', message: endpoint }]);
    if (typeof settings.notificationQueueUrl === 'string') {
      const queue = kind === 'AMAZON' ? queueProblem(settings.notificationQueueUrl, this.opts.allowedHosts) : 'is for Amazon connections only';
      if (queue) throw new BadUserInputError(`Invalid input: settings.notificationQueueUrl ${queue}`, [{ path: 'settings.notificationQueueUrl', message: queue }]);
    }
    const documented = DEFAULT_PUSH_POLICIES[kind];
    if (v.ratePolicy && v.ratePolicy.maxBatch > documented.maxBatch) {
      throw new BadUserInputError(`Invalid input: ${kind} takes at most ${documented.maxBatch} items per call`, [
        { path: 'ratePolicy.maxBatch', message: `must be at most ${documented.maxBatch}` },
      ]);
    }
    const now = new Date();
    const baseUrl = v.baseUrl.replace(/\/+$/, '');
    await this.ds.transaction(async (tx) => {
      // Another account (or marketplace endpoint) was told nothing yet: the resync pushes it every SKU.
      const [before] = await marketplaceStore.connectionsOf(tx, [channel.id], { lock: true });
      if (before && (before.accountId !== v.accountId || before.baseUrl !== baseUrl)) await marketplaceStore.forgetAllPushed(tx, channel.id);
      await marketplaceStore.saveConnection(tx, {
        channelId: channel.id,
        kind,
        accountId: v.accountId,
        baseUrl,
        secretName: v.secretName,
        settings: JSON.stringify(settings),
        ratePolicy: v.ratePolicy ? JSON.stringify(v.ratePolicy) : null,
        protection: v.protection ?? 'OFF',
        catalogue: v.catalogue ?? 'EVERY_SKU',
        oversellPolicy: v.oversellPolicy ?? 'RECORD',
        createdAt: now,
        updatedAt: now,
      });
    });
    await this.queues.requestResync(channel.id);
    return channel;
  }

  /**
   * Disconnects the channel: its queued pushes are dropped when they come up. Its dead-letter and
   * drift problems end with it (nothing is left to replay or repair), in the same transaction.
   * @throws NotFoundError for an unknown channel or one without a connection
   */
  async removeConnection(channelId: string): Promise<ReplicaChannel> {
    const [channel] = await channelReplicaStore.byIds(this.ds.manager, [channelId]);
    const [connection] = await marketplaceStore.connectionsOf(this.ds.manager, [channelId]);
    if (!channel || !connection) throw new NotFoundError('MarketplaceConnection', channelId);
    await writeTransaction(this.ds, async (tx) => {
      await marketplaceStore.deleteConnection(tx, channel.id);
      const explanation = `Channel ${channel.code ?? channel.id} was disconnected from its marketplace: nothing is pushed to it any more`;
      await problemSignals.clearChannel(tx, ['DEAD_LETTER', 'MARKETPLACE_DRIFT'], channel.id, () => ({ explanation }), new Date());
    });
    return channel;
  }

  /** Backlog, lag, dead letters and throttling per channel, null for channels without a connection. */
  async summaries(channelIds: readonly string[]): Promise<(SyncSummary | null)[]> {
    const connections = await this.connectionsOf(channelIds);
    const connected = channelIds.filter((_, i) => connections[i]);
    const figures = connected.length
      ? await marketplaceStore.summaries(this.ds.manager, connected, new Date(Date.now() - LAG_WINDOW_MS))
      : [];
    return channelIds.map((id, i) => {
      const connection = connections[i];
      if (!connection) return null;
      return {
        ...figures[connected.indexOf(id)]!,
        throttleCount: connection.throttleCount,
        lastThrottledAt: connection.lastThrottledAt,
        problem: connectionProblem(connection),
      };
    });
  }

  /** @throws BadUserInputError for a bad filter, page size or cursor */
  async syncStates(channelId: string, filter: unknown, first: number | null | undefined, after: string | null | undefined): Promise<Connection<SyncStateEntity>> {
    const f = parseInput(syncFilterSchema, filter, 'filter') ?? {};
    const size = assertPageSize(first);
    const afterSku = after ? String(decodeCursor(after, 1)[0]) : null;
    const rows = await marketplaceStore.syncPage(this.ds.manager, channelId, f as SyncFilter, size + 1, afterSku);
    return toConnection(rows, size, (s) => [s.sku]);
  }

  /** @throws BadUserInputError for a bad page size or cursor */
  async deadLetters(channelId: string, includeReplayed: boolean, first: number | null | undefined, after: string | null | undefined): Promise<Connection<DeadLetterEntity>> {
    const size = assertPageSize(first);
    const cursor = after ? (decodeCursor(after, 2).map(String) as [string, string]) : null;
    const rows = await marketplaceStore.deadLetterPage(this.ds.manager, channelId, includeReplayed, size + 1, cursor);
    return toConnection(rows, size, (d) => [d.createdAt.toISOString(), d.id]);
  }

  /**
   * Queues the dead letters' SKUs again (all of the channel's open ones, or those given), pushing
   * the current available-to-sell, not the quantity that was refused.
   * @returns the dead letters replayed
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError for a channel without a connection
   */
  async replayDeadLetters(input: { channelId: string; ids?: string[] | null }): Promise<DeadLetterEntity[]> {
    const v = parseInput(replaySchema, input);
    const [connection] = (await this.resolvedConnections()).filter((c) => c.channelId === v.channelId);
    if (!connection) throw new NotFoundError('MarketplaceConnection', v.channelId);
    return this.replay(connection, v.ids ?? null);
  }

  /**
   * Replays the channel's pushes that ran out of tries (RETRIES_EXHAUSTED: the marketplace was
   * unreachable, timed out or failed), not those it refused: the pusher calls it once the
   * marketplace accepts a push of the channel again, so an outage longer than the tries leaves no
   * SKU stale until somebody replays it.
   */
  replayExhausted(connection: ResolvedConnection): Promise<DeadLetterEntity[]> {
    return this.replay(connection, null, RETRIES_EXHAUSTED);
  }

  private async replay(connection: ResolvedConnection, ids: readonly string[] | null, code?: string): Promise<DeadLetterEntity[]> {
    const replayed = await this.ds.transaction(async (tx) => {
      const open = await marketplaceStore.openDeadLettersForUpdate(tx, connection.channelId, ids, code);
      const now = new Date();
      await marketplaceStore.markReplayed(tx, open.map((d) => d.id), now);
      await marketplaceStore.markPending(tx, open.map((d) => ({ channelId: d.channelId, sku: d.sku, seq: '' })), now);
      return open.map((d) => Object.assign(d, { replayedAt: now }));
    });
    if (!replayed.length) return replayed;
    // After the commit: a crash here leaves the SKUs pending, and the next resync queues them.
    await this.queues.forcePushes(connection, [...new Set(replayed.map((d) => d.sku))], false);
    return replayed;
  }

  /** @throws BadUserInputError for a bad page size or cursor */
  async driftRuns(channelId: string, first: number | null | undefined, after: string | null | undefined): Promise<Connection<DriftRunEntity>> {
    const size = assertPageSize(first);
    const cursor = after ? (decodeCursor(after, 2).map(String) as [string, string]) : null;
    const rows = await marketplaceStore.driftRunPage(this.ds.manager, channelId, size + 1, cursor);
    return toConnection(rows, size, (r) => [r.startedAt.toISOString(), r.id]);
  }

  async driftLinesOf(runIds: readonly string[]): Promise<DriftLineEntity[][]> {
    return manyByKey(runIds, await marketplaceStore.driftLinesOf(this.ds.manager, runIds), (l) => l.runId);
  }

  /**
   * Queues a drift-repair run for the channel now (besides the schedule).
   * @throws NotFoundError for a channel without a connection
   */
  async requestDriftRepair(channelId: string): Promise<void> {
    const [connection] = await marketplaceStore.connectionsOf(this.ds.manager, [channelId]);
    if (!connection) throw new NotFoundError('MarketplaceConnection', channelId);
    await this.queues.requestDriftRepair(connection.channelId);
  }

  // The push path's writes (jobs process).

  markPending(marks: readonly PendingMark[]): Promise<unknown> {
    return this.ds.transaction((tx) => marketplaceStore.markPending(tx, marks, new Date()));
  }

  /** The SKUs wait for no push any more (the channel does not list them: domain/listing-rules.ts listedAs). */
  clearPending(channelId: string, skus: readonly string[]): Promise<unknown> {
    return marketplaceStore.clearPending(this.ds.manager, channelId, skus);
  }

  async syncStatesOf(channelId: string, skus: readonly string[]): Promise<Map<string, SyncStateEntity>> {
    return new Map((await marketplaceStore.syncStates(this.ds.manager, channelId, skus)).map((s) => [s.sku, s]));
  }

  /**
   * Records what the marketplace holds now, when `to` is still the channel's connection; `sent`: the
   * quantities were sent now (kept in the push history), not found unchanged. A SKU the marketplace
   * accepted a quantity of shows what it should: its dead-letter and drift problems end (a replay
   * that fails again raises them again).
   */
  async markPushed(to: Pick<ResolvedConnection, 'channelId' | 'accountId' | 'baseUrl'>, marks: readonly PushedMark[], opts: { sent: boolean }): Promise<void> {
    if (!marks.length) return;
    const { channelId } = to;
    const at = new Date();
    const bySubject = new Map(marks.map((m) => [subjectOf(channelId, m.sku), m]));
    await writeTransaction(this.ds, async (tx) => {
      // Held until the marks are written: a connection moved (or removed) meanwhile had setConnection
      // forget what the old account was told, and what the old account holds must not be recorded
      // after that, or the resync would skip the new account's SKUs as unchanged.
      const current = await marketplaceStore.connectionTarget(tx, channelId);
      if (!current || current.accountId !== to.accountId || current.baseUrl !== to.baseUrl) return;
      if (!opts.sent) return marketplaceStore.markPushed(tx, channelId, marks, at, false);
      await marketplaceStore.recordPushes(tx, channelId, marks, at);
      await marketplaceStore.markPushed(tx, channelId, marks, at, true);
      await problemSignals.clear(tx, ['DEAD_LETTER', 'MARKETPLACE_DRIFT'], [...bySubject.keys()], (open) => {
        const { sku, quantity } = bySubject.get(open.subject)!;
        return { sku, explanation: `The marketplace accepted ${quantity} of ${sku}: it shows what it should again` };
      }, at);
    });
  }

  /** Forgets the push history older than `before`, in rounds of 10,000 rows. */
  async prunePushHistory(before: Date): Promise<number> {
    let total = 0;
    for (let n = -1; n !== 0; total += n) n = await marketplaceStore.prunePushHistory(this.ds.manager, before, 10_000);
    return total;
  }

  markRetrying(channelId: string, failures: readonly { sku: string; message: string }[]): Promise<unknown> {
    return marketplaceStore.markFailed(this.ds.manager, channelId, failures.map((f) => ({ ...f, message: redactMessage(f.message) })), false, new Date());
  }

  /**
   * Records pushes that cannot succeed as they are, in one transaction with their sync state and a
   * DEAD_LETTER problem per SKU (`cause`: domain/problem-rules.ts deadLetterCause; -1 for a quantity
   * never computed).
   */
  deadLetter(channelId: string, letters: readonly { sku: string; quantity: number; message: string; code: string | null; attempts: number; cause: string }[]): Promise<unknown> {
    if (!letters.length) return Promise.resolve();
    const now = new Date();
    // Marketplaces echo requests in their errors: what is kept and shown carries no credential.
    const redacted = letters.map(({ cause, ...l }) => ({ letter: { ...l, message: redactMessage(l.message) }, cause }));
    return writeTransaction(this.ds, async (tx) => {
      const rows = redacted.map(({ letter }) => Object.assign(new DeadLetterEntity(), { id: randomUUID(), channelId, ...letter, createdAt: now, replayedAt: null }));
      await marketplaceStore.insertDeadLetters(tx, rows);
      await marketplaceStore.markFailed(tx, channelId, redacted.map((r) => r.letter), true, now);
      await problemSignals.raise(
        tx,
        rows.map((row, i) => ({
          ...deadLetterSignal({ channelId, sku: row.sku, quantity: row.quantity >= 0 ? row.quantity : null, cause: redacted[i]!.cause, message: row.message, deadLetterIds: [row.id] }, now),
          channelId,
        })),
        now,
      );
    });
  }

  /** Records the connection's problem, or that it has none (null). */
  recordProblem(channelId: string, problem: { code: ConnectionProblemCode; message: string } | null): Promise<unknown> {
    return marketplaceStore.setProblem(this.ds.manager, channelId, problem, new Date());
  }

  countThrottle(channelIds: readonly string[]): Promise<unknown> {
    return marketplaceStore.countThrottle(this.ds.manager, channelIds, new Date());
  }

  leastRecentlyVerified(channelId: string, limit: number): Promise<SyncStateEntity[]> {
    return marketplaceStore.leastRecentlyVerified(this.ds.manager, channelId, limit);
  }

  /**
   * Records a finished drift-repair run with its drifted lines, each waiting for its correction
   * (queued by the caller once this commits: a crash between leaves them pending, for the next
   * resync) and raised as a MARKETPLACE_DRIFT problem of its measured cause; a verified SKU found as
   * it should be ends its drift problem.
   */
  async recordDriftRun(run: DriftRunEntity, lines: DriftLineEntity[], verified: readonly string[], causes: ReadonlyMap<string, DriftCause>): Promise<void> {
    const at = run.finishedAt ?? new Date();
    const { channelId } = run;
    const drifted = new Set(lines.map((l) => l.sku));
    const matching = new Map(verified.filter((sku) => !drifted.has(sku)).map((sku) => [subjectOf(channelId, sku), sku]));
    await writeTransaction(this.ds, async (tx) => {
      await marketplaceStore.insertDriftRun(tx, run);
      await marketplaceStore.insertDriftLines(tx, lines);
      await marketplaceStore.markVerified(tx, channelId, verified, at);
      await marketplaceStore.markPending(tx, lines.map((l) => ({ channelId, sku: l.sku, seq: '' })), at);
      await problemSignals.raise(
        tx,
        lines.map((l) => ({ ...driftSignal({ channelId, sku: l.sku, ours: l.ours, theirs: l.theirs, cause: causes.get(l.sku) ?? 'QUANTITY_MISMATCH', runId: run.id }, at), channelId })),
        at,
      );
      await problemSignals.clear(tx, ['MARKETPLACE_DRIFT'], [...matching.keys()], (open) => ({
        sku: matching.get(open.subject)!,
        explanation: `Drift run ${run.id} found the marketplace showing what it should of ${matching.get(open.subject)!}`,
        evidence: [{ type: 'DRIFT_RUN', id: run.id }],
      }), at);
    });
  }

  // Sync lag (jobs process).

  /** Per channel, since when its oldest change waits for a push (channels with none waiting are absent). */
  oldestPendingOf(channelIds: readonly string[]): Promise<Map<string, Date>> {
    return marketplaceStore.oldestPending(this.ds.manager, channelIds);
  }

  /** The channels whose SYNC_LAG problem is open, with the lag (ms) it was last raised with. */
  async syncLagging(): Promise<Map<string, number | null>> {
    const open = await problemSignals.openOfKind(this.ds.manager, 'SYNC_LAG');
    return new Map(open.map((o) => [o.channelId, o.measure === null ? null : o.measure * 1000]));
  }

  /**
   * Raises the channel's SYNC_LAG problem if its lag (measured again here) is at or above the
   * threshold and it is not open already, with its measured cause; with `again`, raises the open
   * one again once the lag is twice what it was last raised with.
   * @returns whether this call raised it
   */
  async raiseSyncLag(channelId: string, p: { thresholdMs: number; bucketFill: number | null; again?: boolean }, at = new Date()): Promise<boolean> {
    return writeTransaction(this.ds, async (tx) => {
      const oldest = (await marketplaceStore.oldestPending(tx, [channelId])).get(channelId);
      const lagMs = oldest ? at.getTime() - oldest.getTime() : 0;
      const [open] = p.again ? await problemSignals.open(tx, 'SYNC_LAG', [subjectOf(channelId)]) : [];
      const move = syncLagTransition({ raised: Boolean(p.again), lagMs, thresholdMs: p.thresholdMs, raisedLagMs: open?.measure == null ? null : open.measure * 1000 });
      if (!oldest || move !== (p.again ? 'RAISE_AGAIN' : 'RAISE') || (p.again && !open)) return false;
      const [[connection], figures] = await Promise.all([marketplaceStore.connectionsOf(tx, [channelId]), marketplaceStore.pendingFigures(tx, channelId)]);
      const cause = syncLagCause({
        problemCode: connection?.problemCode ?? null,
        failing: figures.failing,
        lastThrottledAt: connection?.lastThrottledAt ?? null,
        oldestPendingSince: oldest,
        bucketFill: p.bucketFill,
      });
      const signal = { ...syncLagSignal({ channelId, lagMs, thresholdMs: p.thresholdMs, cause, backlog: figures.backlog }, at), channelId };
      if (!p.again) return problemSignals.raiseOnce(tx, signal, at);
      await problemSignals.raise(tx, [signal], at);
      return true;
    });
  }

  /**
   * Clears the channel's SYNC_LAG problem: when its lag (measured again here) is back under half the
   * threshold, or, without a threshold, at once (the channel is no longer pushed).
   * @returns whether this call cleared it
   */
  async clearSyncLag(channelId: string, p: { thresholdMs: number } | { reason: string }, at = new Date()): Promise<boolean> {
    return writeTransaction(this.ds, async (tx) => {
      let explanation: string;
      if ('thresholdMs' in p) {
        const oldest = (await marketplaceStore.oldestPending(tx, [channelId])).get(channelId);
        const lagMs = oldest ? Math.max(0, at.getTime() - oldest.getTime()) : 0;
        if (syncLagTransition({ raised: true, lagMs, thresholdMs: p.thresholdMs }) !== 'CLEAR') return false;
        explanation = oldest ? `The oldest change waiting for a push is ${Math.round(lagMs / 100) / 10} s old: under half the threshold` : 'No change waits for a push';
      } else explanation = p.reason;
      return (await problemSignals.clear(tx, ['SYNC_LAG'], [subjectOf(channelId)], () => ({ explanation }), at)).length > 0;
    });
  }
}

export function newDriftRun(channelId: string): DriftRunEntity {
  return Object.assign(new DriftRunEntity(), {
    id: randomUUID(), channelId, startedAt: new Date(), finishedAt: null, checked: 0, drifted: 0, corrected: 0, error: null,
  });
}
