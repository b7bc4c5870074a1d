import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What this subgraph knows of the channels it connects, fed by the channels subgraph's `channel`
 * events (each carries the whole channel, with the version that orders them): its code, type,
 * marketplace, status, priority and source locations. A snapshot older than the row is ignored.
 */
export class ChannelReplica1732000002500 implements MigrationInterface {
  name = 'ChannelReplica1732000002500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE marketplace_channels (
        channel_id CHAR(36) NOT NULL,
        code VARCHAR(64) NOT NULL,
        type VARCHAR(32) NOT NULL,
        marketplace VARCHAR(32) NULL,
        status VARCHAR(16) NOT NULL,
        priority INT NOT NULL,
        version BIGINT NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (channel_id),
        KEY ix_marketplace_channels_code (code)
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE marketplace_channel_sources (
        channel_id CHAR(36) NOT NULL,
        location_id CHAR(36) NOT NULL,
        priority INT NOT NULL,
        PRIMARY KEY (channel_id, location_id),
        KEY ix_marketplace_channel_sources_location (location_id)
      ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE marketplace_channel_sources');
    await q.query('DROP TABLE marketplace_channels');
  }
}
