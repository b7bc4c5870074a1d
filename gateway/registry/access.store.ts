import { type EntityManager } from 'typeorm';
import { TeamEntity, TokenEntity } from './access.entity.js';

/** SQL of teams and tokens. Every method runs on the manager it is given. */
export const accessStore = {
  /** Creates the team unless it exists. */
  async ensureTeam(tx: EntityManager, name: string, at: Date): Promise<void> {
    await tx.query('INSERT IGNORE INTO registry_teams (name, created_at) VALUES (?, ?)', [name, at]);
  },

  teams(tx: EntityManager): Promise<TeamEntity[]> {
    return tx.find(TeamEntity, { order: { name: 'ASC' } });
  },

  tokenByHash(tx: EntityManager, tokenHash: string): Promise<TokenEntity | null> {
    return tx.findOneBy(TokenEntity, { tokenHash });
  },

  token(tx: EntityManager, id: string): Promise<TokenEntity | null> {
    return tx.findOneBy(TokenEntity, { id });
  },

  async insertToken(tx: EntityManager, row: TokenEntity): Promise<void> {
    await tx.insert(TokenEntity, row);
  },

  /** Newest first. */
  tokens(tx: EntityManager): Promise<TokenEntity[]> {
    return tx.find(TokenEntity, { order: { createdAt: 'DESC' } });
  },

  async revoke(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query('UPDATE registry_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [at, id]);
  },

  /** Records a use, at most once a minute per token (a write per request would be wasted). */
  async touch(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query('UPDATE registry_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [
      at,
      id,
      new Date(at.getTime() - 60_000),
    ]);
  },
};
