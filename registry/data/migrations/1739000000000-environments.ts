import type { MigrationInterface, QueryRunner } from 'typeorm';

const ENVIRONMENT = `environment VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'production'`;

/**
 * Registry environments (REGISTRY_ENVIRONMENTS): each subgraph's current schema version and URLs,
 * the supergraph versions, check runs, approvals and usage belong to one environment. Schema
 * versions stay shared (the same immutable SDL is promoted from one environment to the next).
 * Everything there was becomes `production`. Down keeps production's rows and drops the others'.
 */
export class Environments1739000000000 implements MigrationInterface {
  name = 'Environments1739000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE registry_subgraphs ADD COLUMN ${ENVIRONMENT} FIRST, DROP PRIMARY KEY, ADD PRIMARY KEY (environment, name)`);
    await q.query(`ALTER TABLE supergraph_versions ADD COLUMN ${ENVIRONMENT} AFTER id, ADD KEY ix_supergraph_versions_environment (environment, id)`);
    await q.query(`ALTER TABLE check_runs ADD COLUMN ${ENVIRONMENT} AFTER id`);
    await q.query(
      `ALTER TABLE approvals ADD COLUMN ${ENVIRONMENT} AFTER id, DROP KEY ix_approvals_fingerprint, ADD KEY ix_approvals_fingerprint (environment, fingerprint, shipped_supergraph_version)`,
    );
    await q.query(`ALTER TABLE usage_records ADD COLUMN ${ENVIRONMENT}, DROP PRIMARY KEY, ADD PRIMARY KEY (coordinate, day, client_id, operation_hash, environment)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM usage_records WHERE environment <> 'production'`);
    await q.query(`ALTER TABLE usage_records DROP PRIMARY KEY, ADD PRIMARY KEY (coordinate, day, client_id, operation_hash), DROP COLUMN environment`);
    await q.query(`DELETE FROM approvals WHERE environment <> 'production'`);
    await q.query(`ALTER TABLE approvals DROP KEY ix_approvals_fingerprint, ADD KEY ix_approvals_fingerprint (fingerprint, shipped_supergraph_version), DROP COLUMN environment`);
    await q.query(`DELETE FROM check_runs WHERE environment <> 'production'`);
    await q.query(`ALTER TABLE check_runs DROP COLUMN environment`);
    await q.query(`DELETE m FROM supergraph_members m JOIN supergraph_versions v ON v.id = m.supergraph_version WHERE v.environment <> 'production'`);
    await q.query(`DELETE FROM supergraph_versions WHERE environment <> 'production'`);
    await q.query(`ALTER TABLE supergraph_versions DROP KEY ix_supergraph_versions_environment, DROP COLUMN environment`);
    await q.query(`DELETE FROM registry_subgraphs WHERE environment <> 'production'`);
    await q.query(`ALTER TABLE registry_subgraphs DROP PRIMARY KEY, ADD PRIMARY KEY (name), DROP COLUMN environment`);
  }
}
