import { createConnection } from 'mysql2/promise';
import { DataSource, type EntityManager, type Logger as OrmLogger, type MixedList, type EntitySchema } from 'typeorm';
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

export function createDataSource(cfg: Config, spec: DataSourceSpec): DataSource {
  const url = new URL(cfg.MYSQL_URL);
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
    extra: { connectTimeout: 5000, waitForConnections: true, enableKeepAlive: true },
  });
}

/**
 * Runs pending migrations under a MySQL named lock, so several processes starting at once
 * (replicas, parallel test files) apply each migration exactly once.
 */
export async function migrate(ds: DataSource): Promise<void> {
  const lockName = `omnistock_migrate_${ds.options.database ?? ''}`;
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    const [row] = (await runner.query('SELECT GET_LOCK(?, 60) AS got', [lockName])) as { got: number }[];
    if (Number(row?.got) !== 1) throw new Error(`Timed out waiting for the migration lock ${lockName}`);
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [lockName]);
    }
  } finally {
    await runner.release();
  }
}

/** Connects (creating the database if needed) and applies migrations. */
export async function openDatabase(cfg: Config, spec: DataSourceSpec): Promise<DataSource> {
  await ensureDatabase(cfg.MYSQL_URL, spec.database);
  const ds = createDataSource(cfg, spec);
  await ds.initialize();
  await migrate(ds);
  return ds;
}

export type Tx = EntityManager;

/** A unique index refused the row (mysql2's code survives TypeORM's QueryFailedError wrapping). */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
}

const resultHeader = z.object({ affectedRows: z.number() });

/** Rows written by a raw INSERT/UPDATE/DELETE run with `manager.query` (mysql2's result header). */
export function affectedRows(result: unknown): number {
  return resultHeader.parse(result).affectedRows;
}
