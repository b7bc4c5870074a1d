import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { z } from 'zod';
import { affectedRows } from './db.js';

/**
 * The transactional outbox every subgraph that emits events shares. A service appends events in
 * the same transaction as the change they describe; the relay (lib/outbox-relay.ts) publishes
 * them in `seq` order and marks them published. A crash means a resend, never a loss, so
 * consumers de-duplicate by (source, seq).
 */
export interface OutboxEvent {
  /** Stream the event goes to, e.g. `stock`, `channel`, `location`. */
  topic: string;
  /** What the event is about (`sku:locationId`, a channel id); order is kept per key. */
  key: string;
  payload: Record<string, unknown>;
}

/** DDL of the outbox table, for each emitting subgraph's own migration. */
export async function createOutboxTable(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE TABLE outbox_events (
      seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      topic VARCHAR(64) NOT NULL,
      event_key VARCHAR(200) NOT NULL,
      payload LONGTEXT NOT NULL,
      created_at DATETIME(3) NOT NULL,
      published_at DATETIME(3) NULL,
      PRIMARY KEY (seq),
      KEY ix_outbox_unpublished (published_at, seq)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
}

/** An outbox row as the relay reads it; `payload` stays the JSON text it was stored as. */
export interface OutboxRow {
  seq: number;
  topic: string;
  key: string;
  payload: string;
}

const outboxRow = z
  .object({ seq: z.coerce.number().int().positive(), topic: z.string(), event_key: z.string(), payload: z.string() })
  .transform((r): OutboxRow => ({ seq: r.seq, topic: r.topic, key: r.event_key, payload: r.payload }));

/** All SQL on outbox tables: the emitting services' append and the relay's reads, marks and clean-up. */
export const outboxStore = {
  /** Appends events inside the caller's transaction, in the order given (one multi-row INSERT). */
  async append(tx: EntityManager, events: readonly OutboxEvent[], at: Date = new Date()): Promise<void> {
    if (!events.length) return;
    await tx.query('INSERT INTO outbox_events (topic, event_key, payload, created_at) VALUES ?', [
      events.map((e) => [e.topic, e.key, JSON.stringify(e.payload), at]),
    ]);
    const runner = tx.queryRunner;
    if (runner?.isTransactionActive) runner.data[APPENDED] = true;
    else nudges.get(tx.connection)?.();
  },

  /** Up to `limit` unpublished rows in `seq` order (a range of ix_outbox_unpublished). */
  async unpublished(tx: EntityManager, limit: number): Promise<OutboxRow[]> {
    const rows: unknown[] = await tx.query(
      'SELECT seq, topic, event_key, payload FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT ?',
      [limit],
    );
    return rows.map((r) => outboxRow.parse(r));
  },

  /** Unpublished rows and when the oldest of them was written (null when there are none): the relay's backlog. */
  async backlog(tx: EntityManager): Promise<{ count: number; oldestAt: Date | null }> {
    const rows: unknown[] = await tx.query('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_events WHERE published_at IS NULL');
    const row = z.object({ n: z.coerce.number().int().min(0), oldest: z.coerce.date().nullable() }).parse(rows[0]);
    return { count: row.n, oldestAt: row.oldest };
  },

  async markPublished(tx: EntityManager, seqs: readonly number[], at: Date): Promise<void> {
    if (!seqs.length) return;
    await tx.query('UPDATE outbox_events SET published_at = ? WHERE seq IN (?)', [at, seqs]);
  },

  /** Deletes up to `limit` rows published before `before`; returns how many it deleted. */
  async deletePublishedBefore(tx: EntityManager, before: Date, limit: number): Promise<number> {
    return affectedRows(await tx.query('DELETE FROM outbox_events WHERE published_at < ? LIMIT ?', [before, limit]));
  },
};

/** Set in a transaction's QueryRunner data once it has appended outbox rows. */
const APPENDED = 'omnistock.outboxAppended';

/** Per database, what tells its relay that rows were committed (nudgeRelayOnCommit). */
const nudges = new WeakMap<DataSource, () => void>();

/**
 * Tells the database's relay, once per commit that appended outbox rows, that there is something to
 * publish (`nudge`; at most one per turn of the event loop), so that it need not poll for them. A
 * nudge lost (Redis away, a writer without one) costs only latency: relays poll as well.
 */
export function nudgeRelayOnCommit(ds: DataSource, nudge: () => void): void {
  let queued = false;
  const coalesced = () => {
    if (queued) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      nudge();
    });
  };
  nudges.set(ds, coalesced);
  // A savepoint's commit or rollback inside a transaction is not the end: only the outermost counts
  // (a savepoint rolled back after rows were appended at most costs a nudge that finds nothing).
  const subscriber: EntitySubscriberInterface = {
    afterTransactionCommit(event: TransactionCommitEvent) {
      if (event.queryRunner.isTransactionActive || !event.queryRunner.data[APPENDED]) return;
      delete event.queryRunner.data[APPENDED];
      coalesced();
    },
    afterTransactionRollback(event: TransactionRollbackEvent) {
      if (!event.queryRunner.isTransactionActive) delete event.queryRunner.data[APPENDED];
    },
  };
  ds.subscribers.push(subscriber);
}
