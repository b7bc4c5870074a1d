import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables marketplace sync kept in the channels database, in the order their rows are copied. */
const MOVED_TABLES = ['marketplace_connections', 'marketplace_sync_state', 'marketplace_dead_letters', 'marketplace_drift_runs', 'marketplace_drift_lines'];

/**
 * Marketplace sync lived in the channels subgraph (`<DB_PREFIX>_channels`) until it became this
 * subgraph. On a database created before, this copies its rows here: every connection, SKU sync
 * state, dead letter and drift run, and the channels as the replica (the `channel` events keep it
 * current from then on). Both databases are on the same server (`<DB_PREFIX>_<subgraph>`). The old
 * tables are left where they were, unread: drop them once this has run everywhere.
 * On a new installation there is nothing to copy and it does nothing.
 */
export class MoveFromChannels1738000000000 implements MigrationInterface {
  name = 'MoveFromChannels1738000000000';

  async up(q: QueryRunner): Promise<void> {
    const [{ db }] = (await q.query('SELECT DATABASE() AS db')) as { db: string }[];
    const channels = db.replace(/_marketplaces$/, '_channels');
    if (channels === db) return;
    const found = (await q.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [channels])) as { name: string }[];
    const names = new Set(found.map((t) => t.name));
    if (!names.has('marketplace_connections') || !names.has('channels')) return;
    const from = (table: string) => `\`${channels}\`.\`${table}\``;
    await q.query(
      `INSERT IGNORE INTO marketplace_channels (channel_id, code, type, marketplace, status, priority, version, updated_at)
       SELECT id, code, type, marketplace, status, priority, version, updated_at FROM ${from('channels')}`,
    );
    await q.query(`INSERT IGNORE INTO marketplace_channel_sources (channel_id, location_id, priority) SELECT channel_id, location_id, priority FROM ${from('channel_sources')}`);
    // The same migrations created these tables there and here (less the foreign key to channels): the columns match.
    for (const table of MOVED_TABLES) if (names.has(table)) await q.query(`INSERT IGNORE INTO \`${table}\` SELECT * FROM ${from(table)}`);
  }

  async down(): Promise<void> {
    // The rows stay where they were copied from: nothing to undo.
  }
}
