import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The replica of a channel's rule carries its protection (read by availability and reservations). */
export class ReplicaChannelProtection1739000000000 implements MigrationInterface {
  name = 'ReplicaChannelProtection1739000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE replica_channels ADD COLUMN protection VARCHAR(16) NOT NULL DEFAULT 'OFF'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE replica_channels DROP COLUMN protection');
  }
}
