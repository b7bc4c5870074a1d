import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A host (`host` or `host:port`) a subgraph's routing and subscription URLs may name; set by admins before or after the subgraph exists. */
@Entity({ name: 'registry_subgraph_hosts' })
export class SubgraphHostEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  subgraph!: string;

  @PrimaryColumn({ type: 'varchar', length: 260 })
  host!: string;

  @Column({ name: 'allowed_by', type: 'varchar', length: 200 })
  allowedBy!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
