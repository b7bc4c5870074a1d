import type { DataSource, EntityManager } from 'typeorm';
import { parseInput } from '../../lib/errors.js';
import { requireAdmin, type Principal } from '../domain/principal.js';
import { nameSchema } from '../domain/inputs.js';
import { teamStore } from '../data/team.store.js';

/** The teams that own subgraphs (an admin's business). */
export class TeamsService {
  private readonly m: EntityManager;

  constructor(ds: DataSource) {
    this.m = ds.manager;
  }

  /**
   * Registers a team (idempotent).
   * @throws ForbiddenError unless the principal is an admin
   */
  async register(principal: Principal, name: string): Promise<{ name: string }> {
    requireAdmin(principal, 'register teams');
    const team = parseInput(nameSchema, name, 'team');
    await teamStore.ensureTeam(this.m, team, new Date());
    return { name: team };
  }

  /** @throws ForbiddenError unless the principal is an admin */
  async list(principal: Principal) {
    requireAdmin(principal, 'list teams');
    return teamStore.teams(this.m);
  }
}
