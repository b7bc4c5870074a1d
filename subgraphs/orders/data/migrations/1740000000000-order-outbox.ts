import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable } from '../../../../lib/outbox.js';

/**
 * Orders' outbox: the events orders emit (problem signals of stuck orders) are written in the
 * transaction that records what they describe, and relayed by the jobs process like every other
 * subgraph's.
 */
export class OrderOutbox1740000000000 implements MigrationInterface {
  name = 'OrderOutbox1740000000000';

  async up(q: QueryRunner): Promise<void> {
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox_events');
  }
}
