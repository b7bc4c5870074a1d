import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Units of a SKU set aside for one channel only; a row stays at 0 units once lifted, so its version goes on. */
export class SetAsides1739000001000 implements MigrationInterface {
  name = 'SetAsides1739000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channel_set_asides (
        channel_id CHAR(36) NOT NULL,
        sku VARCHAR(64) NOT NULL,
        units INT NOT NULL,
        version BIGINT NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id, sku),
        CONSTRAINT fk_set_asides_channel FOREIGN KEY (channel_id) REFERENCES channels (id),
        CONSTRAINT ck_set_asides_units CHECK (units >= 0)
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE channel_set_asides');
  }
}
