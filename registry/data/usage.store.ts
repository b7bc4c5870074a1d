import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import type { UsageRow } from '../domain/usage.js';

/** One accumulated usage increment, as the gateway's recorder flushes it. */
export interface UsageIncrement {
  coordinate: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  clientId: string;
  operationHash: string;
  operationName: string;
  count: number;
  lastSeen: Date;
  /** The environment of the gateway that recorded it (default production). */
  environment?: string;
}


const usageRow = z.object({
  coordinate: z.string(),
  client_id: z.string(),
  operation_hash: z.string(),
  operation_name: z.string(),
  count: z.coerce.number(),
  last_seen: z.coerce.date(),
});

/** Rows per INSERT: keeps statements well below max_allowed_packet. */
const CHUNK = 500;

/** SQL of usage records. Every method runs on the manager it is given. */
export const usageStore = {
  /** Adds increments to the daily counters (an upsert per row; rows of one batch are distinct keys). */
  async add(tx: EntityManager, rows: readonly UsageIncrement[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      await tx.query(
        `INSERT INTO usage_records (coordinate, day, client_id, operation_hash, environment, operation_name, count, last_seen, omissions_recorded)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, 1)').join(', ')}
         ON DUPLICATE KEY UPDATE count = count + VALUES(count), last_seen = GREATEST(last_seen, VALUES(last_seen)),
           operation_name = VALUES(operation_name), omissions_recorded = 1`,
        chunk.flatMap((r) => [r.coordinate, r.day, r.clientId, r.operationHash, r.environment ?? 'production', r.operationName, r.count, r.lastSeen]),
      );
    }
  },

  /** Uses of these coordinates on or after `sinceDay` (recorded in `environments`; default: any), per coordinate, client and operation. */
  async usageOf(tx: EntityManager, coordinates: readonly string[], sinceDay: string, environments?: readonly string[]): Promise<UsageRow[]> {
    if (!coordinates.length) return [];
    const rows = (await tx.query(
      `SELECT coordinate, client_id, operation_hash, MAX(operation_name) AS operation_name, SUM(count) AS count, MAX(last_seen) AS last_seen
         FROM usage_records
        WHERE coordinate IN (${coordinates.map(() => '?').join(', ')}) AND day >= ?${inEnvironments('', environments)}
        GROUP BY coordinate, client_id, operation_hash
        ORDER BY client_id, operation_hash`,
      [...coordinates, sinceDay, ...(environments ?? [])],
    )) as unknown[];
    return rows.map(toUsageRow);
  },

  /**
   * Uses of these field coordinates (`Type.field`) on or after `sinceDay` recorded before omitted
   * arguments were, by operations with no later record of that field that has them.
   */
  async usageWithoutOmissions(tx: EntityManager, fields: readonly string[], sinceDay: string, environments?: readonly string[]): Promise<UsageRow[]> {
    if (!fields.length) return [];
    const rows = (await tx.query(
      `SELECT u.coordinate, u.client_id, u.operation_hash, MAX(u.operation_name) AS operation_name, SUM(u.count) AS count, MAX(u.last_seen) AS last_seen
         FROM usage_records u
        WHERE u.coordinate IN (${fields.map(() => '?').join(', ')}) AND u.day >= ? AND u.omissions_recorded = 0${inEnvironments('u.', environments)}
          AND NOT EXISTS (SELECT 1 FROM usage_records r
                           WHERE r.coordinate = u.coordinate AND r.client_id = u.client_id AND r.operation_hash = u.operation_hash
                             AND r.day >= ? AND r.omissions_recorded = 1)
        GROUP BY u.coordinate, u.client_id, u.operation_hash
        ORDER BY u.client_id, u.operation_hash`,
      [...fields, sinceDay, ...(environments ?? []), sinceDay],
    )) as unknown[];
    return rows.map(toUsageRow);
  },
};

/** ` AND <alias>environment IN (?, …)`, or nothing for any environment. */
function inEnvironments(alias: string, environments: readonly string[] | undefined): string {
  return environments ? ` AND ${alias}environment IN (${environments.map(() => '?').join(', ') || 'NULL'})` : '';
}

function toUsageRow(raw: unknown): UsageRow {
  const r = usageRow.parse(raw);
  return { coordinate: r.coordinate, clientId: r.client_id, operationHash: r.operation_hash, operationName: r.operation_name, count: r.count, lastSeen: r.last_seen };
}
