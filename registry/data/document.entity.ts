import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { ClientPolicy } from '../../contracts/trusted-documents.js';
import { jsonList } from './json-list.js';

/**
 * A trusted (persisted) document of a client application: immutable once registered, unique per
 * (client, document id), where the id is `sha256:<hex of the document text>`.
 */
@Entity({ name: 'registry_trusted_documents' })
export class TrustedDocumentEntity {
  /** Registration order (the CLI's listing); the key is (client, document id). */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'document_id', type: 'char', length: 71 })
  documentId!: string;

  /** The document text exactly as registered: its sha256 is the id. */
  @Column({ type: 'mediumtext' })
  body!: string;

  @Column({ name: 'operation_names', type: 'text', transformer: jsonList })
  operationNames!: string[];

  /** The app version or list name it was registered with, when given. */
  @Column({ name: 'app_version', type: 'varchar', length: 100, nullable: true })
  appVersion!: string | null;

  @Column({ name: 'registered_by', type: 'varchar', length: 200 })
  registeredBy!: string;

  @Column({ name: 'registered_at', type: 'datetime', precision: 3 })
  registeredAt!: Date;
}

/** A client application's policy; a client without a row is ALLOW. */
@Entity({ name: 'registry_client_policies' })
export class ClientPolicyEntity {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'varchar', length: 16 })
  policy!: ClientPolicy;

  @Column({ name: 'updated_by', type: 'varchar', length: 200 })
  updatedBy!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
