import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage rows say whether their operation's omitted arguments were recorded too
 * (`Type.field.argument#omitted`). Rows written before cannot tell an argument left out from one
 * never recorded, so they keep 0 and checks count them as leaving every argument out.
 */
export class UsageOmissions1737000000000 implements MigrationInterface {
  name = 'UsageOmissions1737000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_records ADD COLUMN omissions_recorded TINYINT(1) NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_records DROP COLUMN omissions_recorded`);
  }
}
