import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
/** Schema coordinates, client ids and hashes are ASCII: ascii keys stay well inside InnoDB's index limit. */
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/** The schema registry's tables, in its own database `<DB_PREFIX>_registry`. */
export class CreateRegistry1733000000000 implements MigrationInterface {
  name = 'CreateRegistry1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_teams (
        name VARCHAR(64) ${ASCII} NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (name)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE registry_subgraphs (
        name VARCHAR(64) ${ASCII} NOT NULL,
        routing_url VARCHAR(1000) NOT NULL,
        subscription_url VARCHAR(1000) NULL,
        team VARCHAR(64) ${ASCII} NOT NULL,
        current_schema_id BIGINT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (name)
      ) ${TABLE}`);
    // Immutable: a schema version is never updated or deleted.
    await q.query(`
      CREATE TABLE schema_versions (
        id BIGINT NOT NULL AUTO_INCREMENT,
        subgraph VARCHAR(64) ${ASCII} NOT NULL,
        version INT NOT NULL,
        sdl MEDIUMTEXT NOT NULL,
        hash CHAR(64) ${ASCII} NOT NULL,
        author VARCHAR(200) NOT NULL,
        commit_ref VARCHAR(200) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_schema_versions_subgraph_version (subgraph, version)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE supergraph_versions (
        id BIGINT NOT NULL AUTO_INCREMENT,
        sdl MEDIUMTEXT NOT NULL,
        hash CHAR(64) ${ASCII} NOT NULL,
        composition_version VARCHAR(32) NOT NULL,
        created_by VARCHAR(200) NOT NULL,
        reason VARCHAR(300) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE supergraph_members (
        supergraph_version BIGINT NOT NULL,
        subgraph VARCHAR(64) ${ASCII} NOT NULL,
        schema_id BIGINT NOT NULL,
        routing_url VARCHAR(1000) NOT NULL,
        subscription_url VARCHAR(1000) NULL,
        PRIMARY KEY (supergraph_version, subgraph)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE check_runs (
        id CHAR(36) ${ASCII} NOT NULL,
        subgraph VARCHAR(64) ${ASCII} NOT NULL,
        kind VARCHAR(16) ${ASCII} NOT NULL,
        proposed_hash CHAR(64) ${ASCII} NOT NULL,
        base_supergraph_version BIGINT NULL,
        ok TINYINT(1) NOT NULL,
        result LONGTEXT NOT NULL,
        actor VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        KEY ix_check_runs_subgraph (subgraph, created_at)
      ) ${TABLE}`);
    // The breaking changes each check found, so an approval can name one by fingerprint.
    await q.query(`
      CREATE TABLE check_changes (
        check_run_id CHAR(36) ${ASCII} NOT NULL,
        fingerprint CHAR(16) ${ASCII} NOT NULL,
        subgraph VARCHAR(64) ${ASCII} NOT NULL,
        type VARCHAR(64) ${ASCII} NOT NULL,
        coordinate VARCHAR(500) ${ASCII} NULL,
        message TEXT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (check_run_id, fingerprint),
        KEY ix_check_changes_fingerprint (fingerprint, created_at)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE approvals (
        id BIGINT NOT NULL AUTO_INCREMENT,
        fingerprint CHAR(16) ${ASCII} NOT NULL,
        subgraph VARCHAR(64) ${ASCII} NOT NULL,
        type VARCHAR(64) ${ASCII} NOT NULL,
        coordinate VARCHAR(500) ${ASCII} NULL,
        message TEXT NOT NULL,
        approved_by VARCHAR(200) NOT NULL,
        reason VARCHAR(500) NULL,
        created_at DATETIME(3) NOT NULL,
        shipped_supergraph_version BIGINT NULL,
        PRIMARY KEY (id),
        KEY ix_approvals_fingerprint (fingerprint, shipped_supergraph_version)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE registry_tokens (
        id CHAR(36) ${ASCII} NOT NULL,
        team VARCHAR(64) ${ASCII} NOT NULL,
        description VARCHAR(200) NULL,
        token_hash CHAR(64) ${ASCII} NOT NULL,
        token_prefix VARCHAR(16) ${ASCII} NOT NULL,
        admin TINYINT(1) NOT NULL,
        subgraphs TEXT NOT NULL,
        actions TEXT NOT NULL,
        expires_at DATETIME(3) NULL,
        revoked_at DATETIME(3) NULL,
        created_by VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        last_used_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_registry_tokens_hash (token_hash)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE usage_records (
        coordinate VARCHAR(500) ${ASCII} NOT NULL,
        day DATE NOT NULL,
        client_id VARCHAR(128) ${ASCII} NOT NULL,
        operation_hash CHAR(64) ${ASCII} NOT NULL,
        operation_name VARCHAR(200) NOT NULL,
        count BIGINT NOT NULL,
        last_seen DATETIME(3) NOT NULL,
        PRIMARY KEY (coordinate, day, client_id, operation_hash)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE webhooks (
        id CHAR(36) ${ASCII} NOT NULL,
        url VARCHAR(1000) NOT NULL,
        secret VARCHAR(200) NOT NULL,
        events TEXT NOT NULL,
        created_by VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE deprecations (
        subgraph VARCHAR(64) ${ASCII} NOT NULL,
        coordinate VARCHAR(500) ${ASCII} NOT NULL,
        reason TEXT NOT NULL,
        removal_date DATE NULL,
        first_published_at DATETIME(3) NOT NULL,
        resolved_at DATETIME(3) NULL,
        notified_at DATETIME(3) NULL,
        PRIMARY KEY (subgraph, coordinate),
        KEY ix_deprecations_due (resolved_at, notified_at, removal_date)
      ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'deprecations',
      'webhooks',
      'usage_records',
      'registry_tokens',
      'approvals',
      'check_changes',
      'check_runs',
      'supergraph_members',
      'supergraph_versions',
      'schema_versions',
      'registry_subgraphs',
      'registry_teams',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
