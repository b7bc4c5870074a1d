/**
 * Read replicas of a subgraph's database (MYSQL_REPLICA_URLS): where a read-only query runs.
 *
 * Routing is explicit. A store marks the queries that may run on a replica by taking a `ReadSide`
 * (not an EntityManager: a ReadSide cannot be handed to a method that decides or writes), and a
 * service runs them through the request's `Reads` (`BaseContext.reads`). Everything else (writes,
 * transactions, reservation decisions, outbox relays, the availability read model, migrations)
 * keeps using the primary DataSource, as before.
 *
 * Freshness, checked every MYSQL_REPLICA_CHECK_INTERVAL_MS, never per query: the checker samples
 * the primary's `@@gtid_binlog_pos` (every transaction committed before the sample's instant is in
 * it) and each replica's SHOW SLAVE STATUS (both replication threads running) and `@@gtid_slave_pos`. A
 * replica whose applied position includes a sample taken at T holds every transaction committed
 * before T: T is its `asOf`. A read may go to a replica only while `now - asOf <=
 * MYSQL_REPLICA_MAX_LAG_MS`, its threads were running at the last check and it answered it; a
 * replica that fails a read is set aside until the next check passes. Otherwise the read goes to
 * another replica or the primary.
 *
 * Read your own writes: after each mutation a subgraph records the primary's `@@gtid_binlog_pos` for
 * the caller (the client its service token names: the gateway's caller, also when orders or
 * marketplace sync call inventory for it) in Redis under the database, for MYSQL_REPLICA_MAX_LAG_MS.
 * While that record lives, the caller's reads go only to a replica whose applied position includes
 * it (known from the last check, or waited for with MASTER_GTID_WAIT up to MYSQL_REPLICA_WAIT_MS),
 * else to the primary; when Redis cannot be read, to the primary. Once it expires, the write is older
 * than MYSQL_REPLICA_MAX_LAG_MS, so every replica that may answer includes it.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataSource, EntityManager } from 'typeorm';
import type { Config } from './config.js';
import { createDataSource, isDatabaseUnavailable, redactUrl, type DataSourceSpec } from './db.js';
import { logger } from './logger.js';
import { createRedis, redisTarget, type RedisClient } from './redis.js';

declare const readSide: unique symbol;

/** Where one read runs: the only thing a store's replica-capable query accepts. */
export interface ReadSide {
  readonly [readSide]: true;
  readonly manager: EntityManager;
  readonly target: 'replica' | 'primary';
  /** The read includes every transaction committed on the primary before this instant. */
  readonly asOf: Date;
}

/** A request's reads: routed for its caller. */
export interface Reads {
  /**
   * Runs `work` (read-only, no transaction) on a replica that may answer for this caller, else on
   * the primary. When the replica fails it (unreachable: then it is set aside), `work` runs again
   * on the primary: the caller sees no error of the replica's.
   */
  run<T>(work: (side: ReadSide) => Promise<T>): Promise<T>;
  /** Every later read of the request on the primary: a mutation's reads must see what it wrote. */
  pinToPrimary(): void;
}

/** One MariaDB GTID position (`domain-server-seq,…`): the highest sequence applied per replication domain. */
export function parseGtidPos(pos: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of pos.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)-\d+-(\d+)$/.exec(part);
    if (!m) throw new Error(`not a GTID position: ${pos}`);
    const seq = BigInt(m[2]!);
    const prev = out.get(m[1]!);
    if (prev === undefined || seq > prev) out.set(m[1]!, seq);
  }
  return out;
}

/** Whether a server at position `have` has applied every transaction of position `want`. */
export function gtidIncludes(have: string, want: string): boolean {
  const h = parseGtidPos(have);
  for (const [domain, seq] of parseGtidPos(want)) {
    if ((h.get(domain) ?? -1n) < seq) return false;
  }
  return true;
}

function side(manager: EntityManager, target: 'replica' | 'primary', asOf: Date): ReadSide {
  return { manager, target, asOf } as ReadSide;
}

/** The primary as a ReadSide: for a read that must be exact (a store's replica-capable query run where it decides). */
export function primarySide(ds: DataSource): ReadSide {
  return side(ds.manager, 'primary', new Date());
}

/** Reads that always go to the primary (no replicas configured, or tools). */
export function primaryReads(ds: DataSource): Reads {
  return { run: (work) => work(primarySide(ds)), pinToPrimary: () => {} };
}

type Reason = 'no_replica' | 'own_write' | 'write_unknown' | 'replica_failed';

interface Replica {
  name: string;
  ds: DataSource;
  /** Every transaction committed on the primary before this instant (ms) is applied; null: not known. */
  asOf: number | null;
  /** Its applied GTID position at the last check. */
  pos: string | null;
  /** Threads running and answering at the last check, and no failed read since. */
  ok: boolean;
  state: string;
}

export interface ReadRouterOptions {
  primary: DataSource;
  /** The replicas' DataSources (not yet initialised: the checker initialises them, again while one is away). */
  replicas: { url: string; ds: DataSource }[];
  /** The database, naming the read-your-writes records. */
  database: string;
  maxLagMs: number;
  checkIntervalMs: number;
  waitMs: number;
  /** Shared by every process of the subgraph: the read-your-writes records. */
  redis: RedisClient;
  keyPrefix: string;
  metrics: Registry;
  log: Logger;
}

const LOCAL_WRITES_MAX = 10_000;

/** A database's read routing: the replicas' health, checked periodically, and who must read their writes. */
export class ReadRouter {
  private readonly replicas: Replica[];
  /** Distinct primary positions and the last instant each was seen (newest last). */
  private samples: { at: number; pos: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private turn = 0;
  /** This process's own records of writes (clientId → position, until), should Redis miss one. */
  private readonly localWrites = new Map<string, { pos: string; until: number }>();
  private readonly readsTotal: Counter<'target'>;
  private readonly fallbacks: Counter<'reason'>;

  constructor(private readonly o: ReadRouterOptions) {
    this.replicas = o.replicas.map((r) => ({ name: replicaName(r.url), ds: r.ds, asOf: null, pos: null, ok: false, state: 'not checked yet' }));
    this.readsTotal = new Counter({
      name: 'omnistock_db_reads_total',
      help: 'Read-only queries routed by the read replicas router, by where they ran (replica, primary)',
      labelNames: ['target'] as const,
      registers: [o.metrics],
    });
    this.fallbacks = new Counter({
      name: 'omnistock_db_replica_fallbacks_total',
      help: 'Reads sent to the primary although replicas are configured: no replica fresh enough (no_replica), the caller wrote and no replica has it yet (own_write), the caller\'s writes could not be looked up (write_unknown), the replica failed the read (replica_failed)',
      labelNames: ['reason'] as const,
      registers: [o.metrics],
    });
    const replicas = this.replicas;
    new Gauge({
      name: 'omnistock_db_replica_lag_seconds',
      help: 'How old a replica\'s data may be: seconds since the newest primary position it was seen to have applied (NaN: never seen)',
      labelNames: ['replica'] as const,
      registers: [o.metrics],
      collect() {
        const now = Date.now();
        for (const r of replicas) this.set({ replica: r.name }, r.asOf === null ? Number.NaN : (now - r.asOf) / 1000);
      },
    });
    const router = this;
    new Gauge({
      name: 'omnistock_db_replica_usable',
      help: '1 while a replica may answer reads (replication running, within MYSQL_REPLICA_MAX_LAG_MS, reachable), else 0',
      labelNames: ['replica'] as const,
      registers: [o.metrics],
      collect() {
        const now = Date.now();
        for (const r of replicas) this.set({ replica: r.name }, router.fresh(r, now) ? 1 : 0);
      },
    });
  }

  /** Starts the periodic check (the first one at once). */
  start(): void {
    const tick = async () => {
      await this.check();
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.o.checkIntervalMs).unref();
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.replicas.map((r) => (r.ds.isInitialized ? r.ds.destroy().catch(() => {}) : undefined)));
  }

  /** What each replica looked like at the last check (for logs and tests). */
  status(): { name: string; usable: boolean; asOf: Date | null; state: string }[] {
    const now = Date.now();
    return this.replicas.map((r) => ({ name: r.name, usable: this.fresh(r, now), asOf: r.asOf === null ? null : new Date(r.asOf), state: r.state }));
  }

  /** One round: the primary's position, then each replica's. */
  async check(): Promise<void> {
    const at = Date.now();
    try {
      const [row] = (await this.o.primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos')) as { pos: string | null }[];
      this.addSample(at, row?.pos ?? '');
    } catch (err) {
      // Without the primary's position no replica's freshness can be known: they age until it answers.
      this.o.log.warn({ err: (err as Error).message }, 'read replicas: the primary\'s GTID position could not be read');
    }
    await Promise.all(this.replicas.map((r) => this.checkReplica(r)));
  }

  private addSample(at: number, pos: string): void {
    const last = this.samples.at(-1);
    if (last && last.pos === pos) last.at = at;
    else this.samples.push({ at, pos });
    // Keep what can still prove a replica fresh, and the newest older one.
    const horizon = at - this.o.maxLagMs - 2 * this.o.checkIntervalMs;
    while (this.samples.length > 1 && this.samples[1]!.at < horizon) this.samples.shift();
  }

  private async checkReplica(r: Replica): Promise<void> {
    try {
      if (!r.ds.isInitialized) await withTimeout(r.ds.initialize(), 5000);
      const rows = (await withTimeout(r.ds.query('SHOW SLAVE STATUS'), 5000)) as Record<string, unknown>[];
      const status = rows[0];
      if (!status) return this.setAside(r, 'not a replica (SHOW SLAVE STATUS is empty)');
      if (status['Slave_IO_Running'] !== 'Yes' || status['Slave_SQL_Running'] !== 'Yes') {
        return this.setAside(r, `replication stopped (IO ${String(status['Slave_IO_Running'])}, SQL ${String(status['Slave_SQL_Running'])})`);
      }
      // What the SQL thread has applied (SHOW SLAVE STATUS names it only in SHOW ALL SLAVES STATUS).
      const [applied] = (await withTimeout(r.ds.query('SELECT @@GLOBAL.gtid_slave_pos AS pos'), 5000)) as { pos: string | null }[];
      const pos = applied?.pos ?? '';
      r.pos = pos;
      // The newest primary sample this replica has applied.
      for (let i = this.samples.length - 1; i >= 0; i--) {
        if (gtidIncludes(pos, this.samples[i]!.pos)) {
          r.asOf = Math.max(r.asOf ?? 0, this.samples[i]!.at);
          break;
        }
      }
      if (!r.ok) this.o.log.info({ replica: r.name }, 'read replica usable');
      r.ok = true;
      r.state = 'replicating';
    } catch (err) {
      this.setAside(r, `unreachable: ${(err as Error).message}`);
    }
  }

  private setAside(r: Replica, state: string): void {
    if (r.ok || r.state !== state) this.o.log.warn({ replica: r.name, state }, 'read replica set aside');
    r.ok = false;
    r.state = state;
  }

  private fresh(r: Replica, now: number): boolean {
    return r.ok && r.asOf !== null && now - r.asOf <= this.o.maxLagMs;
  }

  private key(clientId: string | null): string {
    return `${this.o.keyPrefix}:replica-reads:${this.o.database}:${encodeURIComponent(clientId ?? '')}`;
  }

  /**
   * Records that `clientId` wrote: the primary's position now (after the mutation committed), for
   * MYSQL_REPLICA_MAX_LAG_MS, in Redis (every process of the subgraph) and in this process.
   */
  async recordWrite(clientId: string | null): Promise<void> {
    let pos: string;
    try {
      const [row] = (await this.o.primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos')) as { pos: string | null }[];
      pos = row?.pos ?? '';
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'read replicas: a write could not be recorded (primary position unread)');
      return;
    }
    const key = this.key(clientId);
    this.localWrites.delete(key);
    this.localWrites.set(key, { pos, until: Date.now() + this.o.maxLagMs });
    if (this.localWrites.size > LOCAL_WRITES_MAX) this.localWrites.delete(this.localWrites.keys().next().value!);
    try {
      await this.o.redis.set(key, pos, 'PX', this.o.maxLagMs);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, clientId }, 'read replicas: a write could not be recorded in Redis; other processes of this subgraph may serve its caller a replica without it');
    }
  }

  /** The positions `clientId` must read (its recorded writes), or 'unknown' when Redis could not say. */
  private async pendingWrites(clientId: string | null): Promise<string[] | 'unknown'> {
    const key = this.key(clientId);
    const out: string[] = [];
    const local = this.localWrites.get(key);
    if (local && local.until > Date.now()) out.push(local.pos);
    else if (local) this.localWrites.delete(key);
    try {
      const shared = await this.o.redis.get(key);
      if (shared) out.push(shared);
    } catch {
      return 'unknown';
    }
    return out;
  }

  /** The reads of one request, made for `clientId`. */
  forCaller(clientId: string | null): Reads {
    if (!this.replicas.length) return primaryReads(this.o.primary);
    let pending: Promise<string[] | 'unknown'> | null = null;
    let pinned = false;
    return {
      pinToPrimary: () => void (pinned = true),
      run: async (work) => {
        pending ??= pinned ? null : this.pendingWrites(clientId);
        const replica = pinned ? null : await this.choose(await pending!);
        if (replica) {
          try {
            const result = await work(side(replica.ds.manager, 'replica', new Date(replica.asOf!)));
            this.readsTotal.inc({ target: 'replica' });
            return result;
          } catch (err) {
            // Unreachable: set aside until a check passes. Any other failure (a table or column a
            // migration added that the replica has not applied yet) falls back for this read alone;
            // a statement that is wrong fails again on the primary, and that error is the caller's.
            if (isDatabaseUnavailable(err)) this.setAside(replica, `unreachable: ${(err as Error).message}`);
            else this.o.log.warn({ replica: replica.name, err: (err as Error).message }, 'read replica failed a read; the primary answers it');
            this.fallbacks.inc({ reason: 'replica_failed' });
          }
        }
        const result = await work(primarySide(this.o.primary));
        this.readsTotal.inc({ target: 'primary' });
        return result;
      },
    };
  }

  /** A replica that may answer a caller who must see `pending`; null: the primary (the fallback counted). */
  private async choose(pending: string[] | 'unknown'): Promise<Replica | null> {
    const now = Date.now();
    const fresh = this.replicas.filter((r) => this.fresh(r, now));
    const fallback = (reason: Reason) => {
      this.fallbacks.inc({ reason });
      return null;
    };
    if (!fresh.length) return fallback('no_replica');
    if (pending === 'unknown') return fallback('write_unknown');
    const start = this.turn++ % fresh.length;
    const rotated = [...fresh.slice(start), ...fresh.slice(0, start)];
    if (!pending.length) return rotated[0]!;
    const has = (r: Replica) => r.pos !== null && pending.every((p) => gtidIncludes(r.pos!, p));
    const known = rotated.find(has);
    if (known) return known;
    if (this.o.waitMs > 0) {
      // The freshest one, waited on: it has applied the caller's writes when MASTER_GTID_WAIT answers 0.
      const best = fresh.reduce((a, b) => ((b.asOf ?? 0) > (a.asOf ?? 0) ? b : a));
      if (await this.waitFor(best, pending)) return best;
    }
    return fallback('own_write');
  }

  private async waitFor(r: Replica, pending: string[]): Promise<boolean> {
    try {
      for (const pos of pending) {
        const [row] = (await r.ds.query('SELECT MASTER_GTID_WAIT(?, ?) AS waited', [pos, this.o.waitMs / 1000])) as { waited: number | string }[];
        if (Number(row?.waited) !== 0) return false;
      }
      return true;
    } catch (err) {
      if (isDatabaseUnavailable(err)) this.setAside(r, `unreachable: ${(err as Error).message}`);
      return false;
    }
  }
}

/**
 * The read router of a subgraph's database: null without MYSQL_REPLICA_URLS. Its replicas' pools
 * connect on the first check, and again after an outage; `close` ends them and its Redis connection.
 */
export function createReadRouter(
  cfg: Config,
  primary: DataSource,
  spec: Pick<DataSourceSpec, 'database' | 'entities'>,
  metrics: Registry,
): { router: ReadRouter; close(): Promise<void> } | null {
  if (!cfg.MYSQL_REPLICA_URLS.length) return null;
  // Fails a command at once while Redis is away (the read then goes to the primary) rather than queueing it.
  const redis = createRedis(redisTarget(cfg), { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const router = new ReadRouter({
    primary,
    replicas: cfg.MYSQL_REPLICA_URLS.map((url) => ({ url, ds: createDataSource(cfg, { ...spec, migrations: [] }, url) })),
    database: spec.database,
    maxLagMs: cfg.MYSQL_REPLICA_MAX_LAG_MS,
    checkIntervalMs: cfg.MYSQL_REPLICA_CHECK_INTERVAL_MS,
    waitMs: cfg.MYSQL_REPLICA_WAIT_MS,
    redis,
    keyPrefix: cfg.REDIS_KEY_PREFIX,
    metrics,
    log: logger().child({ component: 'read-replicas', database: spec.database }),
  });
  router.start();
  return {
    router,
    async close() {
      await router.stop();
      redis.disconnect();
    },
  };
}

/** A replica's name in logs and metrics: host and port, never credentials. */
export function replicaName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '3306'}`;
  } catch {
    return redactUrl(url);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}
