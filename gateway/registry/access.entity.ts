import { Column, Entity, PrimaryColumn } from 'typeorm';

export const REGISTRY_ACTIONS = ['CHECK', 'PUBLISH', 'APPROVE'] as const;
export type RegistryAction = (typeof REGISTRY_ACTIONS)[number];

/** A team that owns subgraphs and holds tokens (our own teams and partners alike). */
@Entity({ name: 'registry_teams' })
export class TeamEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

const jsonList = {
  to: (value: string[] | undefined) => (value === undefined ? undefined : JSON.stringify(value)),
  from: (value: string) => JSON.parse(value) as string[],
};

/** An API token: only its sha256 is stored; the token itself is shown once, when issued. */
@Entity({ name: 'registry_tokens' })
export class TokenEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  team!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  description!: string | null;

  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash!: string;

  /** The first characters of the token, to recognise it in lists. */
  @Column({ name: 'token_prefix', type: 'varchar', length: 16 })
  tokenPrefix!: string;

  /** Admin tokens may do everything, on every subgraph. */
  @Column({ type: 'boolean' })
  admin!: boolean;

  /** Subgraph names the token may act on; `*` for all. */
  @Column({ type: 'text', transformer: jsonList })
  subgraphs!: string[];

  @Column({ type: 'text', transformer: jsonList })
  actions!: RegistryAction[];

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
