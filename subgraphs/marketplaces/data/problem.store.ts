import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { affectedRows } from '../../../lib/db.js';
import { EVIDENCE_TYPES, PROBLEM_KINDS, type ProblemKind } from '../../../contracts/events.js';
import type { OpenProblem } from '../domain/problem-rules.js';

const evidenceSchema = z.array(z.object({ type: z.enum(EVIDENCE_TYPES), id: z.string() }));
const problemRow = z.object({
  kind: z.enum(PROBLEM_KINDS),
  subject: z.string(),
  channel_id: z.string(),
  cause: z.string(),
  units: z.coerce.number().int().nullable(),
  measure: z.coerce.number().nullable(),
  evidence: z.string(),
});
const toProblem = (raw: unknown): OpenProblem => {
  const r = problemRow.parse(raw);
  return { kind: r.kind, subject: r.subject, channelId: r.channel_id, cause: r.cause, units: r.units, measure: r.measure, evidence: evidenceSchema.parse(JSON.parse(r.evidence)) };
};
const COLUMNS = 'kind, subject, channel_id, cause, units, measure, evidence';

/** SQL of the problems marketplace sync raised and has not cleared (marketplace_problems). Every method runs on the manager it is given. */
export const problemStore = {
  /**
   * The open problems of these kinds among these subjects; `lock`: locked for the rest of the
   * transaction (under READ COMMITTED only the rows that exist are locked: no gap locks).
   */
  async open(tx: EntityManager, kinds: readonly ProblemKind[], subjects: readonly string[], opts: { lock?: boolean } = {}): Promise<OpenProblem[]> {
    if (!kinds.length || !subjects.length) return [];
    const rows: unknown[] = await tx.query(
      `SELECT ${COLUMNS} FROM marketplace_problems WHERE kind IN (?) AND subject IN (?) ORDER BY kind, subject${opts.lock ? ' FOR UPDATE' : ''}`,
      [kinds, subjects],
    );
    return rows.map(toProblem);
  },

  /** The subjects of the channel's open problems of these kinds. */
  async subjectsOfChannel(tx: EntityManager, kinds: readonly ProblemKind[], channelId: string): Promise<string[]> {
    const rows: { subject: string }[] = await tx.query('SELECT subject FROM marketplace_problems WHERE kind IN (?) AND channel_id = ?', [kinds, channelId]);
    return rows.map((r) => r.subject);
  },

  /** Every open problem of a kind (SYNC_LAG: one per channel at most). */
  async openOfKind(tx: EntityManager, kind: ProblemKind): Promise<OpenProblem[]> {
    const rows: unknown[] = await tx.query(`SELECT ${COLUMNS} FROM marketplace_problems WHERE kind = ?`, [kind]);
    return rows.map(toProblem);
  },

  /** Records problems as raised, or raised again (`raised_at` kept). */
  async upsert(tx: EntityManager, rows: readonly OpenProblem[], at: Date): Promise<void> {
    if (!rows.length) return;
    await tx.query(
      `INSERT INTO marketplace_problems (${COLUMNS}, raised_at, updated_at) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE cause = VALUES(cause), units = VALUES(units), measure = VALUES(measure), evidence = VALUES(evidence), updated_at = VALUES(updated_at)`,
      rows.flatMap((r) => [r.kind, r.subject, r.channelId, r.cause, r.units, r.measure, JSON.stringify(r.evidence), at, at]),
    );
  },

  /** Records a problem as raised unless it is open already; true when this call raised it. */
  async insertIfAbsent(tx: EntityManager, row: OpenProblem, at: Date): Promise<boolean> {
    const result: unknown = await tx.query(
      `INSERT IGNORE INTO marketplace_problems (${COLUMNS}, raised_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [row.kind, row.subject, row.channelId, row.cause, row.units, row.measure, JSON.stringify(row.evidence), at, at],
    );
    return affectedRows(result) > 0;
  },

  async remove(tx: EntityManager, rows: readonly Pick<OpenProblem, 'kind' | 'subject'>[]): Promise<void> {
    for (const kind of new Set(rows.map((r) => r.kind))) {
      await tx.query('DELETE FROM marketplace_problems WHERE kind = ? AND subject IN (?)', [kind, rows.filter((r) => r.kind === kind).map((r) => r.subject)]);
    }
  },
};
