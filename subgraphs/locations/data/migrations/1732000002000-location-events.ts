import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable } from '../../../../lib/outbox.js';

/**
 * Locations emit a snapshot of their state on every change (inventory keeps a replica; see README
 * "Data ownership and events"). The version orders the snapshots, so a replica ignores stale ones.
 */
export class LocationEvents1732000002000 implements MigrationInterface {
  name = 'LocationEvents1732000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE locations ADD COLUMN version BIGINT NOT NULL DEFAULT 1');
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox_events');
    await q.query('ALTER TABLE locations DROP COLUMN version');
  }
}
