import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../lib/db.js';

/** A subgraph in one registry environment: where that environment's gateways reach it, its current schema version, and which team owns it. */
@Entity({ name: 'registry_subgraphs' })
export class RegistrySubgraphEntity {
  /** The registry environment (REGISTRY_ENVIRONMENTS) this row is of. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  environment!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ name: 'routing_url', type: 'varchar', length: 1000 })
  routingUrl!: string;

  @Column({ name: 'subscription_url', type: 'varchar', length: 1000, nullable: true })
  subscriptionUrl!: string | null;

  @Column({ type: 'varchar', length: 64 })
  team!: string;

  /** The schema version the current supergraph was composed with (null until the first publish). */
  @Column({ name: 'current_schema_id', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  currentSchemaId!: number | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** One immutable version of a subgraph's SDL. */
@Entity({ name: 'schema_versions' })
export class SchemaVersionEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintAsNumber })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  subgraph!: string;

  /** 1, 2, 3… per subgraph. */
  @Column({ type: 'int' })
  version!: number;

  @Column({ type: 'mediumtext' })
  sdl!: string;

  /** sha256 of the SDL. */
  @Column({ type: 'char', length: 64 })
  hash!: string;

  @Column({ type: 'varchar', length: 200 })
  author!: string;

  @Column({ name: 'commit_ref', type: 'varchar', length: 200, nullable: true })
  commitRef!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** One composed supergraph; its id is the version the gateway serves and names in `x-supergraph-version`. */
@Entity({ name: 'supergraph_versions' })
export class SupergraphVersionEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintAsNumber })
  id!: number;

  /** The registry environment whose gateways serve it (version numbers are unique across environments). */
  @Column({ type: 'varchar', length: 32 })
  environment!: string;

  @Column({ type: 'mediumtext' })
  sdl!: string;

  @Column({ type: 'char', length: 64 })
  hash!: string;

  /** @apollo/composition's version that composed it. */
  @Column({ name: 'composition_version', type: 'varchar', length: 32 })
  compositionVersion!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  /** What produced it: seed, a publish, a rollback. */
  @Column({ type: 'varchar', length: 300 })
  reason!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** A supergraph version's member: the schema version and URLs each subgraph had in it. */
@Entity({ name: 'supergraph_members' })
export class SupergraphMemberEntity {
  @PrimaryColumn({ name: 'supergraph_version', type: 'bigint', transformer: bigintAsNumber })
  supergraphVersion!: number;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  subgraph!: string;

  @Column({ name: 'schema_id', type: 'bigint', transformer: bigintAsNumber })
  schemaId!: number;

  @Column({ name: 'routing_url', type: 'varchar', length: 1000 })
  routingUrl!: string;

  @Column({ name: 'subscription_url', type: 'varchar', length: 1000, nullable: true })
  subscriptionUrl!: string | null;
}
