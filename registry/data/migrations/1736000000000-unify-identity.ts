import type { MigrationInterface, QueryRunner } from 'typeorm';
import { z } from 'zod';

const jsonList = z.string().transform((v) => z.array(z.string()).parse(JSON.parse(v)));

const tokenRow = z.object({
  id: z.string(),
  team: z.string(),
  description: z.string().nullable(),
  token_hash: z.string(),
  token_prefix: z.string(),
  admin: z.coerce.number(),
  subgraphs: jsonList,
  actions: jsonList,
  expires_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
  created_by: z.string(),
  created_at: z.date(),
  last_used_at: z.date().nullable(),
});

/** A registry token's permissions as scopes: `registry:admin`, else `registry:<action>:<subgraph>` for each pair. */
export function tokenScopes(admin: boolean, actions: string[], subgraphs: string[]): string[] {
  if (admin) return ['registry:admin'];
  return [...new Set(actions.flatMap((a) => subgraphs.map((s) => `registry:${a.toLowerCase()}:${s}`)))].sort();
}

/**
 * One identity store: registry tokens become API keys (client id and team: the token's team; scopes:
 * its permissions), keeping their hashes, so issued `osr_` tokens keep working; then
 * registry_tokens is dropped. Keys gain a team (registry ownership) and a description.
 */
export class UnifyIdentity1736000000000 implements MigrationInterface {
  name = 'UnifyIdentity1736000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE gateway_api_keys
        ADD COLUMN team VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER client_id,
        ADD COLUMN description VARCHAR(200) NULL AFTER scopes`);
    const rows = z.array(tokenRow).parse(await q.query('SELECT * FROM registry_tokens ORDER BY created_at'));
    for (const r of rows) {
      await q.query(
        `INSERT INTO gateway_api_keys
           (id, client_id, team, scopes, description, key_hash, key_prefix, expires_at, revoked_at, created_by, created_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.team,
          r.team,
          JSON.stringify(tokenScopes(r.admin === 1, r.actions, r.subgraphs)),
          r.description,
          r.token_hash,
          r.token_prefix,
          r.expires_at,
          r.revoked_at,
          r.created_by,
          r.created_at,
          r.last_used_at,
        ],
      );
    }
    await q.query('DROP TABLE registry_tokens');
  }

  /** Moves `osr_` keys back into a registry_tokens table (their scopes as subgraphs × actions). */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_tokens (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        team VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        description VARCHAR(200) NULL,
        token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        token_prefix VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        admin TINYINT(1) NOT NULL,
        subgraphs TEXT NOT NULL,
        actions TEXT NOT NULL,
        expires_at DATETIME(3) NULL,
        revoked_at DATETIME(3) NULL,
        created_by VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        last_used_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY ux_registry_tokens_hash (token_hash)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    const keys = (await q.query("SELECT * FROM gateway_api_keys WHERE key_prefix LIKE 'osr\\_%'")) as Record<string, unknown>[];
    for (const k of keys) {
      const scopes = (JSON.parse(String(k['scopes'])) as string[]).map((s) => s.split(':')).filter((p) => p[0] === 'registry');
      const admin = scopes.some((p) => p[1] === 'admin');
      const actions = [...new Set(scopes.filter((p) => p.length === 3).map((p) => p[1]!.toUpperCase()))];
      const subgraphs = [...new Set(scopes.filter((p) => p.length === 3).map((p) => p[2]!))];
      await q.query(
        `INSERT INTO registry_tokens (id, team, description, token_hash, token_prefix, admin, subgraphs, actions, expires_at, revoked_at, created_by, created_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [k['id'], k['team'] ?? k['client_id'], k['description'], k['key_hash'], k['key_prefix'], admin ? 1 : 0, JSON.stringify(admin ? ['*'] : subgraphs), JSON.stringify(admin ? ['CHECK', 'PUBLISH', 'APPROVE'] : actions), k['expires_at'], k['revoked_at'], k['created_by'], k['created_at'], k['last_used_at']],
      );
    }
    await q.query("DELETE FROM gateway_api_keys WHERE key_prefix LIKE 'osr\\_%'");
    await q.query('ALTER TABLE gateway_api_keys DROP COLUMN team, DROP COLUMN description');
  }
}
