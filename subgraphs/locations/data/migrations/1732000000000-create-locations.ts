import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLocations1732000000000 implements MigrationInterface {
  name = 'CreateLocations1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE locations (
        id CHAR(36) NOT NULL,
        code VARCHAR(64) NOT NULL,
        name VARCHAR(200) NOT NULL,
        type VARCHAR(32) NOT NULL,
        status VARCHAR(16) NOT NULL,
        address_line1 VARCHAR(200) NOT NULL,
        address_line2 VARCHAR(200) NULL,
        city VARCHAR(100) NOT NULL,
        region VARCHAR(100) NULL,
        postal_code VARCHAR(20) NOT NULL,
        country_code CHAR(2) NOT NULL,
        timezone VARCHAR(64) NOT NULL,
        latitude DOUBLE NULL,
        longitude DOUBLE NULL,
        ships TINYINT(1) NOT NULL,
        pickup TINYINT(1) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_locations_code (code),
        KEY ix_locations_geo (latitude, longitude),
        KEY ix_locations_city (city)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE locations');
  }
}
