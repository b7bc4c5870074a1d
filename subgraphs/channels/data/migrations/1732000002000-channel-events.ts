import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable } from '../../../../lib/outbox.js';

/**
 * Channels emit a full snapshot on every change (inventory keeps a replica of the rules; see README
 * "Data ownership and events"). The version orders the snapshots, so a replica ignores stale ones.
 */
export class ChannelEvents1732000002000 implements MigrationInterface {
  name = 'ChannelEvents1732000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE channels ADD COLUMN version BIGINT NOT NULL DEFAULT 1');
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox_events');
    await q.query('ALTER TABLE channels DROP COLUMN version');
  }
}
