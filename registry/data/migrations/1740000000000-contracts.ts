import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Contracts (API schemas per audience, filtered by @tag) and their schema in each supergraph
 * version; an API key may name the contract its caller sees.
 */
export class Contracts1740000000000 implements MigrationInterface {
  name = 'Contracts1740000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_contracts (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        include_tags TEXT NOT NULL,
        exclude_tags TEXT NOT NULL,
        description VARCHAR(500) NULL,
        created_by VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE registry_contract_versions (
        supergraph_version INT NOT NULL,
        contract VARCHAR(64) NOT NULL,
        sdl MEDIUMTEXT NOT NULL,
        hash CHAR(64) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (supergraph_version, contract),
        KEY idx_contract_versions_contract (contract, supergraph_version)
      ) ENGINE=InnoDB`);
    await q.query('ALTER TABLE gateway_api_keys ADD COLUMN contract VARCHAR(64) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE gateway_api_keys DROP COLUMN contract');
    await q.query('DROP TABLE registry_contract_versions');
    await q.query('DROP TABLE registry_contracts');
  }
}
