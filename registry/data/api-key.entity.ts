import { Column, Entity, PrimaryColumn } from 'typeorm';
import { jsonList } from './json-list.js';

/**
 * An API key: the one identity store of the gateway and the schema registry (registry permissions are
 * `registry:*` scopes). Only its sha256 is stored; the key is shown once.
 */
@Entity({ name: 'gateway_api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  /** The client application; becomes the actor (x-client-id) of what it does in the subgraphs. */
  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  /** The team that owns what the key publishes in the registry; null: its client id. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  team!: string | null;

  /** The contract (an API schema filtered by @tag) its caller sees; null: the whole API schema. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  contract!: string | null;

  @Column({ type: 'text', transformer: jsonList })
  scopes!: string[];

  /** What it is for. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  description!: string | null;

  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  /** The first characters of the key, to recognise it in lists. */
  @Column({ name: 'key_prefix', type: 'varchar', length: 16 })
  keyPrefix!: string;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3, nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'datetime', precision: 3, nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'datetime', precision: 3, nullable: true })
  lastUsedAt!: Date | null;
}
