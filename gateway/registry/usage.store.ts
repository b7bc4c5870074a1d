import type { EntityManager } from 'typeorm';
import { z } from 'zod';

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
}

export interface UsageRow {
  coordinate: string;
  clientId: string;
  operationHash: string;
  operationName: string;
  count: number;
  lastSeen: Date;
  /** A client's registered (trusted) document rather than recorded traffic: it counts whatever the usage window. */
  registered?: boolean;
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
        `INSERT INTO usage_records (coordinate, day, client_id, operation_hash, operation_name, count, last_seen)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE count = count + VALUES(count), last_seen = GREATEST(last_seen, VALUES(last_seen)),
           operation_name = VALUES(operation_name)`,
        chunk.flatMap((r) => [r.coordinate, r.day, r.clientId, r.operationHash, r.operationName, r.count, r.lastSeen]),
      );
    }
  },

  /** Uses of these coordinates on or after `sinceDay`, per coordinate, client and operation. */
  async usageOf(tx: EntityManager, coordinates: readonly string[], sinceDay: string): Promise<UsageRow[]> {
    if (!coordinates.length) return [];
    const rows = (await tx.query(
      `SELECT coordinate, client_id, operation_hash, MAX(operation_name) AS operation_name, SUM(count) AS count, MAX(last_seen) AS last_seen
         FROM usage_records
        WHERE coordinate IN (${coordinates.map(() => '?').join(', ')}) AND day >= ?
        GROUP BY coordinate, client_id, operation_hash
        ORDER BY client_id, operation_hash`,
      [...coordinates, sinceDay],
    )) as unknown[];
    return rows.map((raw) => {
      const r = usageRow.parse(raw);
      return { coordinate: r.coordinate, clientId: r.client_id, operationHash: r.operation_hash, operationName: r.operation_name, count: r.count, lastSeen: r.last_seen };
    });
  },
};
