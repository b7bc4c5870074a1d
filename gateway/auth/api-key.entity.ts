import { Column, Entity, PrimaryColumn } from 'typeorm';

const jsonList = {
  to: (value: string[] | undefined) => (value === undefined ? undefined : JSON.stringify(value)),
  from: (value: string) => JSON.parse(value) as string[],
};

/** A client application's API key for the gateway: only its sha256 is stored; the key is shown once. */
@Entity({ name: 'gateway_api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  /** The client application; becomes the actor (x-client-id) of what it does in the subgraphs. */
  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'text', transformer: jsonList })
  scopes!: string[];

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
