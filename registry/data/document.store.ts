import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { affectedRows } from '../../lib/db.js';
import type { ClientPolicy, RegisteredDocument } from '../../contracts/trusted-documents.js';
import { ClientPolicyEntity, TrustedDocumentEntity } from './document.entity.js';

const signatureRow = z.object({ documents: z.coerce.number(), last_seq: z.coerce.number() });
const registeredRow = z.object({
  client_id: z.string(),
  document_id: z.string(),
  body: z.string(),
  operation_names: z.string().transform((v) => z.array(z.string()).parse(JSON.parse(v))),
  registered_at: z.coerce.date(),
});
const bodyRow = z.object({ document_id: z.string(), body: z.string() });
const documentIdRow = z.object({ document_id: z.string() });

/** SQL of trusted documents and client policies. Every method runs on the manager it is given. */
export const documentStore = {
  /**
   * Changes whenever a document is registered or removed (rows are never updated): the gateway
   * reloads only when it moved. Count and highest seq together also catch a row committed out of seq
   * order; seqs are never reused (MariaDB and MySQL 8 keep AUTO_INCREMENT across restarts).
   */
  async signature(tx: EntityManager): Promise<string> {
    const [raw] = (await tx.query('SELECT COUNT(*) AS documents, COALESCE(MAX(seq), 0) AS last_seq FROM registry_trusted_documents')) as unknown[];
    const row = signatureRow.parse(raw);
    return `${row.documents}:${row.last_seq}`;
  },

  /** Every registered document of every client (the gateway's in-memory copy and the registry's checks). */
  async allDocuments(tx: EntityManager): Promise<RegisteredDocument[]> {
    const rows = (await tx.query('SELECT client_id, document_id, body, operation_names, registered_at FROM registry_trusted_documents ORDER BY seq')) as unknown[];
    return rows.map((raw) => {
      const r = registeredRow.parse(raw);
      return { clientId: r.client_id, documentId: r.document_id, body: r.body, operationNames: r.operation_names, registeredAt: r.registered_at };
    });
  },

  /** The stored text of each of these ids (under any client). */
  async bodies(tx: EntityManager, documentIds: readonly string[]): Promise<Map<string, string>> {
    if (!documentIds.length) return new Map();
    const rows = (await tx.query(
      `SELECT document_id, MIN(body) AS body FROM registry_trusted_documents WHERE document_id IN (${documentIds.map(() => '?').join(', ')}) GROUP BY document_id`,
      [...documentIds],
    )) as unknown[];
    return new Map(rows.map((raw) => bodyRow.parse(raw)).map((r) => [r.document_id, r.body]));
  },

  /** Registers documents for a client; those it already has are left as they are. @returns how many were new */
  async insertMissing(tx: EntityManager, rows: readonly Omit<TrustedDocumentEntity, 'seq'>[]): Promise<number> {
    if (!rows.length) return 0;
    const result = await tx.query(
      `INSERT IGNORE INTO registry_trusted_documents (client_id, document_id, body, operation_names, app_version, registered_by, registered_at)
       VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      rows.flatMap((r) => [r.clientId, r.documentId, r.body, JSON.stringify(r.operationNames), r.appVersion, r.registeredBy, r.registeredAt]),
    );
    return affectedRows(result);
  },

  /** Deletes a client's documents, by id or by app version. @returns the ids deleted */
  async remove(tx: EntityManager, clientId: string, which: { ids: readonly string[] } | { appVersion: string }): Promise<string[]> {
    const [filter, args] = 'ids' in which
      ? [`document_id IN (${which.ids.map(() => '?').join(', ')})`, which.ids]
      : ['app_version = ?', [which.appVersion]];
    if (!args.length) return [];
    const rows = (await tx.query(`SELECT document_id FROM registry_trusted_documents WHERE client_id = ? AND ${filter} ORDER BY seq FOR UPDATE`, [clientId, ...args])) as unknown[];
    const ids = rows.map((raw) => documentIdRow.parse(raw).document_id);
    if (ids.length) {
      await tx.query(`DELETE FROM registry_trusted_documents WHERE client_id = ? AND document_id IN (${ids.map(() => '?').join(', ')})`, [clientId, ...ids]);
    }
    return ids;
  },

  /** A client's documents (or every client's), in registration order. */
  documents(tx: EntityManager, clientId?: string | null): Promise<TrustedDocumentEntity[]> {
    return tx.find(TrustedDocumentEntity, { where: clientId ? { clientId } : {}, order: { seq: 'ASC' } });
  },

  policies(tx: EntityManager): Promise<ClientPolicyEntity[]> {
    return tx.find(ClientPolicyEntity, { order: { clientId: 'ASC' } });
  },

  async setPolicy(tx: EntityManager, clientId: string, policy: ClientPolicy, by: string, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO registry_client_policies (client_id, policy, updated_by, updated_at) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE policy = VALUES(policy), updated_by = VALUES(updated_by), updated_at = VALUES(updated_at)`,
      [clientId, policy, by, at],
    );
  },
};
