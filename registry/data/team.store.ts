import type { EntityManager } from 'typeorm';
import { TeamEntity } from './team.entity.js';

/** SQL of teams. Every method runs on the manager it is given. */
export const teamStore = {
  /** Creates the team unless it exists. */
  async ensureTeam(tx: EntityManager, name: string, at: Date): Promise<void> {
    await tx.query('INSERT IGNORE INTO registry_teams (name, created_at) VALUES (?, ?)', [name, at]);
  },

  teams(tx: EntityManager): Promise<TeamEntity[]> {
    return tx.find(TeamEntity, { order: { name: 'ASC' } });
  },
};
