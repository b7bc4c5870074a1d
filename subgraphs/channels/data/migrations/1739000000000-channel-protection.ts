import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A channel's rule says whether its available-to-sell is protective (see contracts/protection.ts). */
export class ChannelProtection1739000000000 implements MigrationInterface {
  name = 'ChannelProtection1739000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE channels ADD COLUMN protection VARCHAR(16) NOT NULL DEFAULT 'OFF'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE channels DROP COLUMN protection');
  }
}
