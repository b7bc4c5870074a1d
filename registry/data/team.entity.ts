import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A team that owns subgraphs (our own teams and partners alike); API keys name theirs. */
@Entity({ name: 'registry_teams' })
export class TeamEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
