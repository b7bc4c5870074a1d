import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable } from '../../../../lib/outbox.js';

/** Marketplaces emits events (oversells) through an outbox of its own, relayed by the jobs process. */
export class OversellEvents1738000004000 implements MigrationInterface {
  name = 'OversellEvents1738000004000';

  async up(q: QueryRunner): Promise<void> {
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox_events');
  }
}
