import { Column, Entity, PrimaryColumn } from 'typeorm';
import { jsonList } from './json-list.js';

/** A contract: the API schema an audience sees, filtered from the supergraph by `@tag`. */
@Entity({ name: 'registry_contracts' })
export class ContractEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  /** Only what carries one of these tags (or whose type does); empty: everything not excluded. */
  @Column({ name: 'include_tags', type: 'text', transformer: jsonList })
  includeTags!: string[];

  /** Never what carries one of these tags. */
  @Column({ name: 'exclude_tags', type: 'text', transformer: jsonList })
  excludeTags!: string[];

  @Column({ type: 'varchar', length: 500, nullable: true })
  description!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** A contract's API schema in one supergraph version: composed, checked and versioned with it. */
@Entity({ name: 'registry_contract_versions' })
export class ContractVersionEntity {
  @PrimaryColumn({ name: 'supergraph_version', type: 'int' })
  supergraphVersion!: number;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  contract!: string;

  /** The contract's API schema (what its callers validate against and introspect). */
  @Column({ type: 'mediumtext' })
  sdl!: string;

  @Column({ type: 'char', length: 64 })
  hash!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
