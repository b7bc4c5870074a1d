import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Location names in the replica, so `availability` answers a location's name itself (`@provides`)
 * and the storefront's query needs no call to the locations subgraph. Null until the location's
 * snapshot arrives again: the jobs process asks for every snapshot when it finds one missing.
 */
export class ReplicaLocationName1739000002000 implements MigrationInterface {
  name = 'ReplicaLocationName1739000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE replica_locations ADD COLUMN name VARCHAR(200) NULL AFTER code');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE replica_locations DROP COLUMN name');
  }
}
