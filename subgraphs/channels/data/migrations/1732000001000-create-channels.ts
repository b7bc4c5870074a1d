import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateChannels1732000001000 implements MigrationInterface {
  name = 'CreateChannels1732000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channels (
        id CHAR(36) NOT NULL,
        code VARCHAR(64) NOT NULL,
        name VARCHAR(200) NOT NULL,
        type VARCHAR(32) NOT NULL,
        marketplace VARCHAR(32) NULL,
        status VARCHAR(16) NOT NULL,
        priority INT NOT NULL,
        buffer_kind VARCHAR(16) NULL,
        buffer_value INT NULL,
        cap INT NULL,
        allow_split_shipments TINYINT(1) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_channels_code (code),
        CONSTRAINT ck_channels_marketplace CHECK ((type = 'MARKETPLACE') = (marketplace IS NOT NULL)),
        CONSTRAINT ck_channels_buffer CHECK ((buffer_kind IS NULL) = (buffer_value IS NULL))
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // location_id references the locations subgraph's rows, which live in another database: no foreign key.
    await q.query(`
      CREATE TABLE channel_sources (
        channel_id CHAR(36) NOT NULL,
        location_id CHAR(36) NOT NULL,
        priority INT NOT NULL,
        PRIMARY KEY (channel_id, location_id),
        KEY ix_channel_sources_location (location_id),
        CONSTRAINT fk_channel_sources_channel FOREIGN KEY (channel_id) REFERENCES channels (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE channel_sources');
    await q.query('DROP TABLE channels');
  }
}
