import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
/** Client ids and document ids are ASCII (and compared byte for byte, as the gateway does). */
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/** Trusted documents per client application and each client's policy (ENFORCE or ALLOW). */
export class CreateTrustedDocuments1735000000000 implements MigrationInterface {
  name = 'CreateTrustedDocuments1735000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_trusted_documents (
        seq BIGINT NOT NULL AUTO_INCREMENT,
        client_id VARCHAR(128) ${ASCII} NOT NULL,
        document_id CHAR(71) ${ASCII} NOT NULL,
        body MEDIUMTEXT NOT NULL,
        operation_names TEXT NOT NULL,
        app_version VARCHAR(100) NULL,
        registered_by VARCHAR(200) NOT NULL,
        registered_at DATETIME(3) NOT NULL,
        PRIMARY KEY (seq),
        UNIQUE KEY ux_trusted_documents_client_document (client_id, document_id),
        KEY ix_trusted_documents_document (document_id)
      ) ${TABLE}`);
    await q.query(`
      CREATE TABLE registry_client_policies (
        client_id VARCHAR(128) ${ASCII} NOT NULL,
        policy VARCHAR(16) ${ASCII} NOT NULL,
        updated_by VARCHAR(200) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (client_id)
      ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE registry_client_policies');
    await q.query('DROP TABLE registry_trusted_documents');
  }
}
