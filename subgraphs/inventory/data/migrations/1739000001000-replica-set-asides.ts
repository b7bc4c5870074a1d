import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Inventory's replica of the units set aside per (channel, SKU), fed by the `set-aside` events. */
export class ReplicaSetAsides1739000001000 implements MigrationInterface {
  name = 'ReplicaSetAsides1739000001000';

  async up(q: QueryRunner): Promise<void> {
    // ix_replica_set_asides_sku: what other channels hold of the SKUs a read or a reservation asks for.
    await q.query(`
      CREATE TABLE replica_set_asides (
        channel_id CHAR(36) NOT NULL,
        sku VARCHAR(64) NOT NULL,
        units INT NOT NULL,
        version BIGINT NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id, sku),
        KEY ix_replica_set_asides_sku (sku, units)
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE replica_set_asides');
  }
}
