import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The gateway's API keys (gateway/auth), beside the registry's tokens in the gateway-owned database. */
export class CreateApiKeys1734000000000 implements MigrationInterface {
  name = 'CreateApiKeys1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway_api_keys (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        client_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        scopes TEXT NOT NULL,
        key_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        key_prefix VARCHAR(16) NOT NULL,
        expires_at DATETIME(3) NULL,
        revoked_at DATETIME(3) NULL,
        created_by VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        last_used_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_gateway_api_keys_hash (key_hash),
        KEY ix_gateway_api_keys_client (client_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE gateway_api_keys');
  }
}
