import { createHash } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import {
  DataSource,
  type EntityManager,
  type EntitySchema,
  type Logger as OrmLogger,
  type MixedList,
  type ValueTransformer,
} from 'typeorm';
import { z } from 'zod';
import { logger } from './logger.js';
import type { Config } from './config.js';

/** Statements executed by this process; the SQL-count test reads it. */
export const sqlStatements = { count: 0 };

class PinoOrmLogger implements OrmLogger {
  logQuery(): void {
    sqlStatements.count++;
  }
  logQueryError(error: string | Error, query: string): void {
    // Debug only: callers turn expected failures (duplicate keys) into domain errors; formatError logs the rest.
    logger().debug({ err: error, query }, 'query failed');
  }
  logQuerySlow(time: number, query: string): void {
    logger().warn({ ms: time, query }, 'slow query');
  }
  logSchemaBuild(): void {}
  logMigration(message: string): void {
    logger().info({ migration: message }, 'migration');
  }
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') logger().warn({ typeorm: message }, 'typeorm');
  }
}

/** Thrown when MySQL cannot be reached; names the URL (without the password). */
export class DatabaseUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Cannot reach MySQL at ${redactUrl(url)}: ${(cause as Error)?.message ?? cause}`);
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Creates the database when it does not exist yet (each subgraph owns one). */
export async function ensureDatabase(mysqlUrl: string, database: string): Promise<void> {
  let conn;
  try {
    conn = await createConnection({ uri: mysqlUrl, connectTimeout: 5000 });
  } catch (err) {
    throw new DatabaseUnreachableError(mysqlUrl, err);
  }
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await conn.end();
  }
}

export interface DataSourceSpec {
  database: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
}

/** A DataSource on the spec's database of MYSQL_URL, or of `server` (a read replica). */
export function createDataSource(cfg: Config, spec: DataSourceSpec, server: string = cfg.MYSQL_URL): DataSource {
  const url = new URL(server);
  url.pathname = `/${spec.database}`;
  return new DataSource({
    type: 'mysql',
    url: url.toString(),
    entities: spec.entities,
    migrations: spec.migrations,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    poolSize: cfg.DB_POOL_SIZE,
    maxQueryExecutionTime: cfg.DB_SLOW_QUERY_MS,
    logger: new PinoOrmLogger(),
    // trace: false spares mysql2 capturing a stack trace for every query (a measurable share of CPU
    // on the reservation path); failed queries are still logged with their SQL.
    // connectTimeout and queueLimit bound how long a request waits when MySQL is away: a refused
    // connection fails at once, an unanswered one after DB_CONNECT_TIMEOUT_MS, and requests beyond
    // DB_POOL_QUEUE_LIMIT waiting for a connection fail at once (mysql2 has no acquire timeout).
    extra: {
      connectTimeout: cfg.DB_CONNECT_TIMEOUT_MS,
      queueLimit: cfg.DB_POOL_QUEUE_LIMIT,
      waitForConnections: true,
      enableKeepAlive: true,
      trace: false,
    },
  });
}

/**
 * Runs pending migrations under a MySQL named lock, so several processes starting at once
 * (replicas, parallel test files) apply each migration exactly once.
 */
export async function migrate(ds: DataSource): Promise<void> {
  // The driver's name, parsed from the URL: options.database is unset for URL-configured sources.
  const lockName = `omnistock_migrate_${ds.driver.database ?? ''}`;
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    if (!(await getNamedLock(runner.manager, lockName, 60))) throw new Error(`Timed out waiting for the migration lock ${lockName}`);
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await releaseNamedLock(runner.manager, lockName);
    }
  } finally {
    await runner.release();
  }
}

/**
 * Takes a MySQL named lock for the connection `manager` runs on (a QueryRunner's), waiting up to
 * `timeoutSeconds` (0: not at all). Named locks are server-wide, so names must include the database
 * name; the server releases the lock itself when the connection ends, so a crashed holder never
 * blocks the others.
 * @returns true when the lock is now held by this connection
 */
export async function getNamedLock(manager: EntityManager, name: string, timeoutSeconds: number): Promise<boolean> {
  const [row] = (await manager.query('SELECT GET_LOCK(?, ?) AS got', [lockKey(name), timeoutSeconds])) as { got: number | null }[];
  return Number(row?.got) === 1;
}

/** Releases a named lock this connection holds (a no-op when it holds none). */
export async function releaseNamedLock(manager: EntityManager, name: string): Promise<void> {
  await manager.query('SELECT RELEASE_LOCK(?)', [lockKey(name)]);
}

/** MySQL refuses lock names over 64 characters (MariaDB does not): longer ones keep a prefix and a hash. */
export function lockKey(name: string): string {
  return name.length <= 64 ? name : `${name.slice(0, 31)}:${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** Connects (creating the database if needed) and applies migrations. */
export async function openDatabase(cfg: Config, spec: DataSourceSpec): Promise<DataSource> {
  await ensureDatabase(cfg.MYSQL_URL, spec.database);
  const ds = createDataSource(cfg, spec);
  await ds.initialize();
  await readCommittedSessions(ds);
  await migrate(ds);
  return ds;
}

/**
 * Every connection of the pool runs its transactions at READ COMMITTED: row locks only, no gap
 * locks between writers of neighbouring keys, and no extra SET TRANSACTION round trip per
 * transaction. Correctness never depends on it (stock writes lock their rows explicitly).
 */
async function readCommittedSessions(ds: DataSource): Promise<void> {
  const sql = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';
  const pool = (ds.driver as unknown as { pool: { on(event: 'connection', fn: (c: { query(sql: string): void }) => void): void } }).pool;
  pool.on('connection', (connection) => connection.query(sql));
  // The connection TypeORM opened to check the server is the pool's only one now.
  await ds.query(sql);
}

/**
 * For BIGINT columns read as numbers: mysql2 hands them over as strings (TypeORM turns on
 * bigNumberStrings), while the values kept in them, row versions, stay far below 2^53.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  // A NULL stays null (Number(null) would be 0, a row id that does not exist).
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

/** DECIMAL columns read as numbers (mysql2 hands them over as strings); amounts kept in them stay well within a double. */
export const decimalAsNumber: ValueTransformer = bigintAsNumber;

/** Network-level failures of a MySQL connection (mysql2 and Node socket codes). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

/**
 * The one classifier of "MySQL is unreachable" (refused, reset or timed-out connections, a server
 * shutting down, a pool whose wait queue is full), as opposed to errors of the statement itself.
 * Sees through TypeORM's QueryFailedError (it keeps mysql2's `code` and `fatal`, and the driver
 * error as `driverError`) and `cause` chains.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let current = err, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const e = current as { code?: unknown; fatal?: unknown; message?: unknown; errno?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    // mysql2 marks errors that killed the connection fatal; handshake refusals (bad credentials) are fatal too, with an errno.
    if (e.fatal === true && typeof e.errno !== 'number') return true;
    if (e.message === 'Queue limit reached.' || e.message === "Can't add new command when connection is in closed state") return true;
    current = e.driverError ?? e.cause;
  }
  return false;
}

/** The level to log a failure at: warn while MySQL is unreachable (an outage the process rides out and retries), error otherwise. */
export function failureLogLevel(err: unknown): 'warn' | 'error' {
  return isDatabaseUnavailable(err) ? 'warn' : 'error';
}

/** A unique index refused the row (mysql2's code survives TypeORM's QueryFailedError wrapping). */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
}

const resultHeader = z.object({ affectedRows: z.number(), insertId: z.union([z.number(), z.string()]) });

/** Rows written by a raw INSERT/UPDATE/DELETE run with `manager.query` (mysql2's result header). */
export function affectedRows(result: unknown): number {
  return resultHeader.parse(result).affectedRows;
}

/** The first AUTO_INCREMENT value an INSERT generated (mysql2's result header). */
export function insertIdOf(result: unknown): number | string {
  return resultHeader.parse(result).insertId;
}

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/**
 * Runs a short write transaction (READ COMMITTED, see readCommittedSessions) and retries it when
 * InnoDB picked it as a deadlock victim or a lock wait timed out: the whole transaction was rolled
 * back, so running it again is safe.
 */
export async function writeTransaction<T>(ds: DataSource, work: (tx: EntityManager) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ds.transaction(work);
    } catch (err) {
      const code = (err as { code?: string } | null)?.code;
      if (!code || !RETRYABLE.has(code) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}
