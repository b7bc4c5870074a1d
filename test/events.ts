import type { RedisClient } from '../lib/redis.js';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { config } from '../lib/config.js';
import { createDataSource, ensureDatabase } from '../lib/db.js';
import { parseStreamEntry, type StreamEntry } from '../lib/event-stream.js';
import { createOutboxTable } from '../lib/outbox.js';

/** A REDIS_KEY_PREFIX of its own, so test files, and a running dev instance, never share streams, groups or queues. */
export function testKeyPrefix(): string {
  return `omnistock_test:${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under a test prefix. */
export { dropKeys } from '../lib/redis.js';

/** A database of its own holding only an outbox table: relays on it meet no other test's relays or rows. */
export async function outboxDatabase(): Promise<DataSource> {
  const cfg = config();
  const database = `${cfg.DB_PREFIX}_outbox_${randomUUID().slice(0, 8)}`;
  await ensureDatabase(cfg.MYSQL_URL, database);
  const ds = await createDataSource(cfg, { database, entities: [], migrations: [] }).initialize();
  const runner = ds.createQueryRunner();
  try {
    await createOutboxTable(runner);
  } finally {
    await runner.release();
  }
  return ds;
}

export async function dropDatabase(ds: DataSource): Promise<void> {
  const database = ds.driver.database!;
  await ds.query(`DROP DATABASE \`${database}\``);
  await ds.destroy();
}

export interface ReadEntry extends StreamEntry {
  id: string;
}

/** Every entry of a stream, oldest first. */
export async function readStream(redis: RedisClient, key: string): Promise<ReadEntry[]> {
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([id, fields]) => {
    const parsed = parseStreamEntry(fields);
    if (!parsed.success) throw parsed.error;
    return { id, ...parsed.data };
  });
}

/** Polls until `check` returns a truthy value (which it answers) or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until inventory's replicas hold these locations and channels (their events went through the relay and the replication consumer). */
export async function waitForReplicas(inventory: DataSource, locations: string[], channels: string[]): Promise<void> {
  await waitFor('the replicas', async () => {
    const count = async (sql: string, ids: string[]) => (ids.length ? Number((await inventory.query(sql, [ids]))[0].n) : 0);
    const l = await count('SELECT COUNT(*) AS n FROM replica_locations WHERE location_id IN (?)', locations);
    const c = await count('SELECT COUNT(*) AS n FROM replica_channels WHERE channel_id IN (?)', channels);
    return l === locations.length && c === channels.length;
  });
}

export async function countUnpublished(ds: DataSource): Promise<number> {
  const [row] = await ds.query('SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL');
  return Number(row.n);
}
