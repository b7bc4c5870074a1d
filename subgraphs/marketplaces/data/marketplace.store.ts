import { In, IsNull, type EntityManager } from 'typeorm';
import type { Catalogue } from '../domain/listing-rules.js';
import {
  DeadLetterEntity,
  DriftLineEntity,
  DriftRunEntity,
  MarketplaceConnectionEntity,
  SyncStateEntity,
} from './marketplace.entity.js';

export interface PendingMark {
  channelId: string;
  sku: string;
  /** sortableStreamId of the newest event behind the mark. */
  seq: string;
}

export interface PushedMark {
  sku: string;
  quantity: number;
  /** The newest event the pushed quantity includes; pending stays set when a newer one arrived. */
  seq: string;
  /** Since when the change this push carries had been waiting (the state the push was computed from). */
  pendingSince: Date | null;
  lagMs: number | null;
}

export interface PushHistoryRow {
  sku: string;
  pushedAt: Date;
  quantity: number;
  /** Since when the change this push carried had been waiting. */
  pendingSince: Date | null;
  lagMs: number | null;
}

export interface SyncFilter {
  skus?: string[] | null;
  onlyPending?: boolean | null;
  onlyFailed?: boolean | null;
}

/** All SQL of marketplace sync. Every method runs on the manager it is given. */
export const marketplaceStore = {
  /** `lock`: the rows stay locked for the rest of the transaction. */
  connectionsOf(tx: EntityManager, channelIds: readonly string[], opts: { lock?: boolean } = {}): Promise<MarketplaceConnectionEntity[]> {
    return tx.find(MarketplaceConnectionEntity, { where: { channelId: In([...channelIds]) }, ...(opts.lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
  },

  /**
   * Where the channel's connection points, kept from changing until the transaction ends (a shared
   * lock: `LOCK IN SHARE MODE`, which MariaDB and MySQL both take; TypeORM writes MySQL 8's `FOR SHARE`).
   */
  async connectionTarget(tx: EntityManager, channelId: string): Promise<{ accountId: string; baseUrl: string } | null> {
    const [row] = (await tx.query('SELECT account_id, base_url FROM marketplace_connections WHERE channel_id = ? LOCK IN SHARE MODE', [channelId])) as { account_id: string; base_url: string }[];
    return row ? { accountId: row.account_id, baseUrl: row.base_url } : null;
  },

  allConnections(tx: EntityManager): Promise<MarketplaceConnectionEntity[]> {
    return tx.find(MarketplaceConnectionEntity, { order: { channelId: 'ASC' } });
  },

  /**
   * Inserts or replaces the connection; the throttle count survives a replacement, and so does a
   * problem, until the jobs process checks the connection again.
   */
  saveConnection(
    tx: EntityManager,
    row: Omit<MarketplaceConnectionEntity, 'throttleCount' | 'lastThrottledAt' | 'problemCode' | 'problemMessage' | 'problemSince'>,
  ): Promise<unknown> {
    return tx.query(
      `INSERT INTO marketplace_connections
         (channel_id, kind, account_id, base_url, secret_name, settings, rate_policy, protection, catalogue, oversell_policy, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE kind = VALUES(kind), account_id = VALUES(account_id), base_url = VALUES(base_url),
         secret_name = VALUES(secret_name), settings = VALUES(settings), rate_policy = VALUES(rate_policy), protection = VALUES(protection),
         catalogue = VALUES(catalogue), oversell_policy = VALUES(oversell_policy), updated_at = VALUES(updated_at)`,
      [row.channelId, row.kind, row.accountId, row.baseUrl, row.secretName, row.settings, row.ratePolicy, row.protection, row.catalogue, row.oversellPolicy, row.createdAt, row.updatedAt],
    );
  },

  /** Locks the channel's connection row (serialising the writers of its listings); its catalogue, or null when it has none. */
  async lockConnection(tx: EntityManager, channelId: string): Promise<Catalogue | null> {
    const rows: { catalogue: Catalogue }[] = await tx.query('SELECT catalogue FROM marketplace_connections WHERE channel_id = ? FOR UPDATE', [channelId]);
    return rows[0]?.catalogue ?? null;
  },

  /** What the channel is pushed (EVERY_SKU without a connection: nothing is pushed then anyway). */
  async catalogueOf(tx: EntityManager, channelId: string): Promise<Catalogue> {
    const rows: { catalogue: Catalogue }[] = await tx.query('SELECT catalogue FROM marketplace_connections WHERE channel_id = ?', [channelId]);
    return rows[0]?.catalogue ?? 'EVERY_SKU';
  },

  deleteConnection(tx: EntityManager, channelId: string): Promise<unknown> {
    return tx.delete(MarketplaceConnectionEntity, { channelId });
  },

  /**
   * Records the connection's problem, or that it has none (null); `since` is kept while the code
   * stays the same. (MariaDB applies SET assignments in order: problem_since reads the old code.)
   */
  setProblem(tx: EntityManager, channelId: string, problem: { code: string; message: string } | null, at: Date): Promise<unknown> {
    const code = problem?.code ?? null;
    return tx.query(
      `UPDATE marketplace_connections
       SET problem_since = IF(problem_code <=> ?, problem_since, ?), problem_code = ?, problem_message = ?
       WHERE channel_id = ?`,
      [code, problem ? at : null, code, problem?.message.slice(0, 500) ?? null, channelId],
    );
  },

  countThrottle(tx: EntityManager, channelIds: readonly string[], at: Date): Promise<unknown> {
    return tx.query(
      `UPDATE marketplace_connections SET throttle_count = throttle_count + 1, last_throttled_at = ?
       WHERE channel_id IN (${channelIds.map(() => '?').join(',')})`,
      [at, ...channelIds],
    );
  },

  /**
   * Marks (channel, SKU) pairs as waiting for a push, remembering the newest event behind each and
   * when the oldest unpushed change arrived (the lag is measured from it).
   */
  markPending(tx: EntityManager, marks: readonly PendingMark[], at: Date): Promise<unknown> {
    if (!marks.length) return Promise.resolve();
    return tx.query(
      `INSERT INTO marketplace_sync_state (channel_id, sku, pending, pending_since, last_event_seq)
       VALUES ${marks.map(() => '(?, ?, 1, ?, ?)').join(',')}
       ON DUPLICATE KEY UPDATE
         pending_since = IF(pending, pending_since, VALUES(pending_since)),
         pending = 1,
         last_event_seq = GREATEST(last_event_seq, VALUES(last_event_seq))`,
      marks.flatMap((m) => [m.channelId, m.sku, at, m.seq]),
    );
  },

  syncStates(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<SyncStateEntity[]> {
    if (!skus.length) return Promise.resolve([]);
    return tx.find(SyncStateEntity, { where: { channelId, sku: In([...skus]) } });
  },

  /** Appends to the push history what the marketplace accepted now, with the change each push carried. */
  async recordPushes(tx: EntityManager, channelId: string, marks: readonly PushedMark[], at: Date): Promise<void> {
    if (!marks.length) return;
    await tx.query(
      `INSERT IGNORE INTO marketplace_push_history (channel_id, sku, pushed_at, quantity, pending_since, lag_ms) VALUES ${marks.map(() => '(?, ?, ?, ?, ?, ?)').join(',')}`,
      marks.flatMap((m) => [channelId, m.sku, at, m.quantity, m.pendingSince, m.lagMs]),
    );
  },

  /** The SKU's last push at or before `at` and its first after it (the primary key's order: two index lookups). */
  pushesAround(tx: EntityManager, channelId: string, sku: string, at: Date): Promise<PushHistoryRow[]> {
    const columns = 'sku, pushed_at, quantity, pending_since, lag_ms';
    return tx
      .query(
        `(SELECT ${columns} FROM marketplace_push_history WHERE channel_id = ? AND sku = ? AND pushed_at <= ? ORDER BY pushed_at DESC LIMIT 1)
         UNION ALL
         (SELECT ${columns} FROM marketplace_push_history WHERE channel_id = ? AND sku = ? AND pushed_at > ? ORDER BY pushed_at LIMIT 1)`,
        [channelId, sku, at, channelId, sku, at],
      )
      .then((rows: { sku: string; pushed_at: Date; quantity: number; pending_since: Date | null; lag_ms: number | null }[]) =>
        rows.map((r) => ({ sku: r.sku, pushedAt: new Date(r.pushed_at), quantity: Number(r.quantity), pendingSince: r.pending_since ? new Date(r.pending_since) : null, lagMs: r.lag_ms === null ? null : Number(r.lag_ms) })),
      );
  },

  /** Forgets pushes older than `before`, at most `limit` rows at a time; returns how many. */
  async prunePushHistory(tx: EntityManager, before: Date, limit: number): Promise<number> {
    const result = await tx.query('DELETE FROM marketplace_push_history WHERE pushed_at < ? LIMIT ?', [before, limit]);
    return Number(result?.affectedRows ?? 0);
  },

  /**
   * Records what the marketplace now holds: what it was `sent`, or, not sent (unchanged), what it was
   * last told still, unless that was forgotten meanwhile (it sold some: intake). A SKU stays pending
   * when an event newer than the pushed quantity arrived meanwhile (its job is queued again by then).
   */
  markPushed(tx: EntityManager, channelId: string, marks: readonly PushedMark[], at: Date, sent: boolean): Promise<unknown> {
    if (!marks.length) return Promise.resolve();
    return tx.query(
      `INSERT INTO marketplace_sync_state
         (channel_id, sku, pending, last_event_seq, last_pushed_quantity, last_pushed_at, last_pushed_seq, last_lag_ms)
       VALUES ${marks.map(() => '(?, ?, 0, ?, ?, ?, ?, ?)').join(',')}
       ON DUPLICATE KEY UPDATE
         pending_since = IF(last_event_seq > VALUES(last_pushed_seq), pending_since, NULL),
         pending = last_event_seq > VALUES(last_pushed_seq),
         ${sent ? 'last_pushed_quantity = VALUES(last_pushed_quantity),' : ''}
         last_pushed_at = VALUES(last_pushed_at),
         last_pushed_seq = VALUES(last_pushed_seq),
         last_lag_ms = COALESCE(VALUES(last_lag_ms), last_lag_ms),
         last_error = NULL,
         last_error_at = NULL`,
      marks.flatMap((m) => [channelId, m.sku, m.seq, m.quantity, at, m.seq, m.lagMs]),
    );
  },

  /** Records a failed push; a dead-lettered SKU is no longer pending (it waits for a replay). */
  markFailed(tx: EntityManager, channelId: string, failures: readonly { sku: string; message: string }[], deadLettered: boolean, at: Date): Promise<unknown> {
    if (!failures.length) return Promise.resolve();
    return tx.query(
      `INSERT INTO marketplace_sync_state (channel_id, sku, pending, last_error, last_error_at)
       VALUES ${failures.map(() => '(?, ?, ?, ?, ?)').join(',')}
       ON DUPLICATE KEY UPDATE last_error = VALUES(last_error), last_error_at = VALUES(last_error_at),
         pending_since = IF(VALUES(pending), pending_since, NULL), pending = VALUES(pending)`,
      failures.flatMap((f) => [channelId, f.sku, !deadLettered, f.message.slice(0, 2000), at]),
    );
  },

  /** Every SKU of the channel was last told nothing (its connection moved to another account). */
  forgetAllPushed(tx: EntityManager, channelId: string): Promise<unknown> {
    return tx.update(SyncStateEntity, { channelId }, { lastPushedQuantity: null });
  },

  /**
   * Forgets what the SKUs' marketplace SKU was last told: their listing now names another one, which
   * was told nothing yet, or the marketplace sold some and counted its quantity down on its own (so no
   * push of theirs is skipped as unchanged, and Shopify compares with nothing).
   */
  forgetPushed(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<unknown> {
    if (!skus.length) return Promise.resolve();
    return tx.update(SyncStateEntity, { channelId, sku: In([...skus]) }, { lastPushedQuantity: null });
  },

  /**
   * For a LISTED channel: its SKUs without a listing (of those given, or all) are pushed nothing
   * (domain/listing-rules.ts listedAs), so they wait for no push and were last told nothing
   * (whatever they held is retired first).
   */
  forgetUnlisted(tx: EntityManager, channelId: string, skus?: readonly string[]): Promise<unknown> {
    if (skus && !skus.length) return Promise.resolve();
    return tx.query(
      `UPDATE marketplace_sync_state s SET s.pending = 0, s.pending_since = NULL, s.last_pushed_quantity = NULL
       WHERE s.channel_id = ? ${skus ? `AND s.sku IN (${skus.map(() => '?').join(',')})` : ''}
         AND (s.pending = 1 OR s.last_pushed_quantity IS NOT NULL)
         AND NOT EXISTS (SELECT 1 FROM marketplace_listings l WHERE l.channel_id = s.channel_id AND l.sku = s.sku)`,
      [channelId, ...(skus ?? [])],
    );
  },

  /** The SKUs no longer wait for a push (the channel does not list them). */
  clearPending(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<unknown> {
    if (!skus.length) return Promise.resolve();
    return tx.update(SyncStateEntity, { channelId, sku: In([...skus]), pending: true }, { pending: false, pendingSince: null });
  },

  markVerified(tx: EntityManager, channelId: string, skus: readonly string[], at: Date): Promise<unknown> {
    if (!skus.length) return Promise.resolve();
    return tx.update(SyncStateEntity, { channelId, sku: In([...skus]) }, { lastVerifiedAt: at });
  },

  /**
   * SKUs pushed before and not pending, least recently verified first (drift repair's round robin);
   * under the LISTED catalogue, only the listed ones (domain/listing-rules.ts listedAs).
   */
  leastRecentlyVerified(tx: EntityManager, channelId: string, limit: number): Promise<SyncStateEntity[]> {
    return tx
      .createQueryBuilder(SyncStateEntity, 's')
      .where('s.channel_id = :channelId AND s.pending = 0 AND s.last_pushed_at IS NOT NULL', { channelId })
      .andWhere(
        `(NOT EXISTS (SELECT 1 FROM marketplace_connections c WHERE c.channel_id = s.channel_id AND c.catalogue = 'LISTED')
          OR EXISTS (SELECT 1 FROM marketplace_listings l WHERE l.channel_id = s.channel_id AND l.sku = s.sku))`,
      )
      .orderBy('s.last_verified_at IS NULL', 'DESC')
      .addOrderBy('s.last_verified_at', 'ASC')
      .limit(limit)
      .getMany();
  },

  syncPage(tx: EntityManager, channelId: string, filter: SyncFilter, limit: number, afterSku: string | null): Promise<SyncStateEntity[]> {
    const qb = tx.createQueryBuilder(SyncStateEntity, 's').where('s.channel_id = :channelId', { channelId });
    if (filter.skus?.length) qb.andWhere('s.sku IN (:...skus)', { skus: filter.skus });
    if (filter.onlyPending) qb.andWhere('s.pending = 1');
    if (filter.onlyFailed) qb.andWhere('s.last_error IS NOT NULL');
    if (afterSku !== null) qb.andWhere('s.sku > :afterSku', { afterSku });
    return qb.orderBy('s.sku', 'ASC').limit(limit).getMany();
  },

  /**
   * Per channel: SKUs waiting, open dead letters, newest push, and the 95th percentile of the lag of
   * the pushes since `lagSince` (null when there were none). One statement per figure for all channels.
   */
  async summaries(tx: EntityManager, channelIds: readonly string[], lagSince: Date) {
    const marks = channelIds.map(() => '?').join(',');
    const ids = [...channelIds];
    type Count = { channel_id: string; n: string };
    const [pending, dead, pushed, lag] = (await Promise.all([
      tx.query(`SELECT channel_id, COUNT(*) AS n FROM marketplace_sync_state WHERE channel_id IN (${marks}) AND pending = 1 GROUP BY channel_id`, ids),
      tx.query(`SELECT channel_id, COUNT(*) AS n FROM marketplace_dead_letters WHERE channel_id IN (${marks}) AND replayed_at IS NULL GROUP BY channel_id`, ids),
      tx.query(`SELECT channel_id, MAX(last_pushed_at) AS at FROM marketplace_sync_state WHERE channel_id IN (${marks}) GROUP BY channel_id`, ids),
      tx.query(
        `SELECT channel_id, last_lag_ms AS lag FROM (
           SELECT channel_id, last_lag_ms,
             ROW_NUMBER() OVER (PARTITION BY channel_id ORDER BY last_lag_ms) AS rn,
             COUNT(*) OVER (PARTITION BY channel_id) AS n
           FROM marketplace_sync_state
           WHERE channel_id IN (${marks}) AND last_pushed_at >= ? AND last_lag_ms IS NOT NULL) ranked
         WHERE rn = GREATEST(1, CEIL(n * 0.95))`,
        [...ids, lagSince],
      ),
    ])) as [Count[], Count[], { channel_id: string; at: Date | null }[], { channel_id: string; lag: number }[]];
    return channelIds.map((id) => ({
      backlog: Number(pending.find((r) => r.channel_id === id)?.n ?? 0),
      deadLetters: Number(dead.find((r) => r.channel_id === id)?.n ?? 0),
      lastPushAt: pushed.find((r) => r.channel_id === id)?.at ?? null,
      lagP95Ms: ((l) => (l ? Number(l.lag) : null))(lag.find((r) => r.channel_id === id)),
    }));
  },

  /**
   * Per channel, since when its oldest change waits for a push (channels with none waiting are
   * absent): how far what the marketplace shows lags what we hold. One index range per channel.
   */
  async oldestPending(tx: EntityManager, channelIds: readonly string[]): Promise<Map<string, Date>> {
    if (!channelIds.length) return new Map();
    const rows: { channel_id: string; since: Date | string | null }[] = await tx.query(
      'SELECT channel_id, MIN(pending_since) AS since FROM marketplace_sync_state WHERE channel_id IN (?) AND pending = 1 GROUP BY channel_id',
      [channelIds],
    );
    return new Map(rows.flatMap((r) => (r.since === null ? [] : [[r.channel_id, new Date(r.since)] as const])));
  },

  /** The channel's SKUs waiting for a push, and whether any of them failed its last try (it is retrying). */
  async pendingFigures(tx: EntityManager, channelId: string): Promise<{ backlog: number; failing: boolean }> {
    const [row]: { backlog: string | number; failing: string | number | null }[] = await tx.query(
      'SELECT COUNT(*) AS backlog, MAX(last_error IS NOT NULL) AS failing FROM marketplace_sync_state WHERE channel_id = ? AND pending = 1',
      [channelId],
    );
    return { backlog: Number(row?.backlog ?? 0), failing: Number(row?.failing ?? 0) > 0 };
  },

  insertDeadLetters(tx: EntityManager, rows: DeadLetterEntity[]): Promise<unknown> {
    return rows.length ? tx.insert(DeadLetterEntity, rows) : Promise.resolve();
  },

  /** Open (not replayed) dead letters of a channel, optionally only the given ids; locked for the replay. */
  /** The channel's dead letters not replayed yet (of `ids`, or all; with `code` only, when given), locked. */
  openDeadLettersForUpdate(tx: EntityManager, channelId: string, ids: readonly string[] | null, code?: string): Promise<DeadLetterEntity[]> {
    return tx.find(DeadLetterEntity, {
      where: { channelId, replayedAt: IsNull(), ...(ids ? { id: In([...ids]) } : {}), ...(code ? { code } : {}) },
      lock: { mode: 'pessimistic_write' },
    });
  },

  markReplayed(tx: EntityManager, ids: readonly string[], at: Date): Promise<unknown> {
    return ids.length ? tx.update(DeadLetterEntity, { id: In([...ids]) }, { replayedAt: at }) : Promise.resolve();
  },

  /** Newest first; keyset on (created_at, id). */
  deadLetterPage(tx: EntityManager, channelId: string, includeReplayed: boolean, limit: number, after: [string, string] | null): Promise<DeadLetterEntity[]> {
    const qb = tx.createQueryBuilder(DeadLetterEntity, 'd').where('d.channel_id = :channelId', { channelId });
    if (!includeReplayed) qb.andWhere('d.replayed_at IS NULL');
    if (after) qb.andWhere('(d.created_at < :at OR (d.created_at = :at AND d.id < :id))', { at: new Date(after[0]), id: after[1] });
    return qb.orderBy('d.created_at', 'DESC').addOrderBy('d.id', 'DESC').limit(limit).getMany();
  },

  insertDriftRun(tx: EntityManager, row: DriftRunEntity): Promise<unknown> {
    return tx.insert(DriftRunEntity, row);
  },

  finishDriftRun(tx: EntityManager, id: string, changes: Pick<DriftRunEntity, 'finishedAt' | 'checked' | 'drifted' | 'corrected' | 'error'>): Promise<unknown> {
    return tx.update(DriftRunEntity, { id }, changes);
  },

  insertDriftLines(tx: EntityManager, rows: DriftLineEntity[]): Promise<unknown> {
    return rows.length ? tx.insert(DriftLineEntity, rows) : Promise.resolve();
  },

  /** Newest first; keyset on (started_at, id). */
  driftRunPage(tx: EntityManager, channelId: string, limit: number, after: [string, string] | null): Promise<DriftRunEntity[]> {
    const qb = tx.createQueryBuilder(DriftRunEntity, 'r').where('r.channel_id = :channelId', { channelId });
    if (after) qb.andWhere('(r.started_at < :at OR (r.started_at = :at AND r.id < :id))', { at: new Date(after[0]), id: after[1] });
    return qb.orderBy('r.started_at', 'DESC').addOrderBy('r.id', 'DESC').limit(limit).getMany();
  },

  driftLinesOf(tx: EntityManager, runIds: readonly string[]): Promise<DriftLineEntity[]> {
    return tx.find(DriftLineEntity, { where: { runId: In([...runIds]) }, order: { sku: 'ASC' } });
  },
};
