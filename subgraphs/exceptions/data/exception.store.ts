import { Brackets, In, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { affectedRows } from '../../../lib/db.js';
import type { ReadSide } from '../../../lib/read-replicas.js';
import { ExceptionEntity } from './exception.entity.js';
import type { ExceptionEvent, ExceptionState, Severity } from '../domain/exception-rules.js';

export interface ExceptionFilter {
  states?: readonly ExceptionState[] | null;
  kinds?: readonly string[] | null;
  severities?: readonly Severity[] | null;
  channelId?: string | null;
  sku?: string | null;
  locationId?: string | null;
  cause?: string | null;
  team?: string | null;
}

/** One subject a module reported, with the last signal applied to it (the relay's (source, seq)). */
export interface SubjectRow {
  kind: string;
  subject: string;
  exceptionId: string;
  open: boolean;
  units: number | null;
  value: number | null;
  measure: number | null;
  source: string;
  seq: number;
}

export interface EvidenceRow {
  exceptionId: string;
  type: string;
  refId: string;
  subject: string;
  at: Date;
}

export interface EventRow {
  exceptionId: string;
  event: ExceptionEvent;
  state: ExceptionState;
  severity: Severity;
  actor: string | null;
  note: string | null;
  at: Date;
}

export interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  minSeverity: Severity;
  kinds: string[] | null;
  createdBy: string | null;
  createdAt: Date;
}

const num = z.union([z.number(), z.string()]).transform(Number);
const subjectRow = z
  .object({
    kind: z.string(),
    subject: z.string(),
    exception_id: z.string(),
    open: z.coerce.number(),
    units: num.nullable(),
    value: num.nullable(),
    measure: num.nullable(),
    source: z.string(),
    seq: num,
  })
  .transform(
    (r): SubjectRow => ({
      kind: r.kind,
      subject: r.subject,
      exceptionId: r.exception_id,
      open: r.open === 1,
      units: r.units,
      value: r.value,
      measure: r.measure,
      source: r.source,
      seq: r.seq,
    }),
  );
const evidenceRow = z
  .object({ exception_id: z.string(), type: z.string(), ref_id: z.string(), subject: z.string(), at: z.coerce.date() })
  .transform((r): EvidenceRow => ({ exceptionId: r.exception_id, type: r.type, refId: r.ref_id, subject: r.subject, at: r.at }));
const eventRow = z
  .object({
    exception_id: z.string(),
    event: z.string(),
    state: z.string(),
    severity: z.string(),
    actor: z.string().nullable(),
    note: z.string().nullable(),
    at: z.coerce.date(),
  })
  .transform(
    (r): EventRow => ({
      exceptionId: r.exception_id,
      event: r.event as ExceptionEvent,
      state: r.state as ExceptionState,
      severity: r.severity as Severity,
      actor: r.actor,
      note: r.note,
      at: r.at,
    }),
  );
const webhookRow = z
  .object({
    id: z.string(),
    url: z.string(),
    secret: z.string(),
    min_severity: z.string(),
    kinds: z.string().nullable(),
    created_by: z.string().nullable(),
    created_at: z.coerce.date(),
  })
  .transform(
    (r): WebhookRow => ({
      id: r.id,
      url: r.url,
      secret: r.secret,
      minSeverity: r.min_severity as Severity,
      kinds: r.kinds === null ? null : z.array(z.string()).parse(JSON.parse(r.kinds)),
      createdBy: r.created_by,
      createdAt: r.created_at,
    }),
  );
const countRow = z.object({ k: z.string(), n: num });

/** All SQL of the exceptions subgraph's inbox. Every method runs on the manager it is given. */
export const exceptionStore = {
  async lockSubject(tx: EntityManager, kind: string, subject: string): Promise<SubjectRow | null> {
    const rows: unknown[] = await tx.query(
      'SELECT kind, subject, exception_id, open, units, value, measure, source, seq FROM exception_subjects WHERE kind = ? AND subject = ? FOR UPDATE',
      [kind, subject],
    );
    return rows.length ? subjectRow.parse(rows[0]) : null;
  },

  async upsertSubject(
    tx: EntityManager,
    s: SubjectRow & { sku: string | null; locationId: string | null; explanation: string; at: Date },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO exception_subjects (kind, subject, exception_id, open, sku, location_id, units, value, measure, explanation, source, seq, raised_at, cleared_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE exception_id = VALUES(exception_id), open = VALUES(open), sku = VALUES(sku), location_id = VALUES(location_id),
         units = VALUES(units), value = VALUES(value), measure = VALUES(measure), explanation = VALUES(explanation), source = VALUES(source),
         seq = VALUES(seq), raised_at = IF(VALUES(open) = 1 AND open = 0, VALUES(raised_at), raised_at), cleared_at = VALUES(cleared_at)`,
      [s.kind, s.subject, s.exceptionId, s.open, s.sku, s.locationId, s.units, s.value, s.measure, s.explanation.slice(0, 60_000), s.source, s.seq, s.at, s.open ? null : s.at],
    );
  },

  /** The open subjects of these kinds raised by `source` (an anomaly run clears those it no longer finds). */
  async openSubjectsBySource(tx: EntityManager, source: string): Promise<SubjectRow[]> {
    const rows: unknown[] = await tx.query(
      'SELECT kind, subject, exception_id, open, units, value, measure, source, seq FROM exception_subjects WHERE source = ? AND open = 1',
      [source],
    );
    return rows.map((r) => subjectRow.parse(r));
  },

  async openSubjectsOf(tx: EntityManager, exceptionId: string): Promise<(SubjectRow & { sku: string | null; locationId: string | null })[]> {
    const rows: unknown[] = await tx.query(
      'SELECT kind, subject, exception_id, open, units, value, measure, source, seq, sku, location_id FROM exception_subjects WHERE exception_id = ? AND open = 1',
      [exceptionId],
    );
    return rows.map((r) => {
      const extra = z.object({ sku: z.string().nullable(), location_id: z.string().nullable() }).parse(r);
      return { ...subjectRow.parse(r), sku: extra.sku, locationId: extra.location_id };
    });
  },

  /**
   * The unresolved exception of a cause, locked; created from `fresh` when there is none. The
   * unique open_key makes concurrent creators of one cause meet on one row.
   */
  async lockOpenGroup(tx: EntityManager, fresh: ExceptionEntity): Promise<{ row: ExceptionEntity; created: boolean }> {
    const inserted = affectedRows(
      await tx.createQueryBuilder().insert().into(ExceptionEntity).values(fresh).orIgnore().execute().then((r) => r.raw),
    );
    const row = await tx.findOne(ExceptionEntity, { where: { openKey: fresh.openKey! }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw new Error(`exception group ${fresh.openKey} vanished under its lock`);
    return { row, created: inserted === 1 && row.id === fresh.id };
  },

  lock(tx: EntityManager, id: string): Promise<ExceptionEntity | null> {
    return tx.findOne(ExceptionEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  },

  /** Writes back a row read under its lock (an UPDATE by id, without the read TypeORM's save() would make first). */
  async save(tx: EntityManager, row: ExceptionEntity): Promise<void> {
    const { id, ...columns } = row;
    await tx.update(ExceptionEntity, { id }, columns);
  },

  findByIds(tx: EntityManager, ids: readonly string[]): Promise<ExceptionEntity[]> {
    return tx.find(ExceptionEntity, { where: { id: In([...ids]) } });
  },

  async addEvidence(tx: EntityManager, rows: readonly EvidenceRow[]): Promise<void> {
    if (!rows.length) return;
    await tx.query('INSERT IGNORE INTO exception_evidence (exception_id, type, ref_id, subject, at) VALUES ?', [
      rows.map((r) => [r.exceptionId, r.type, r.refId.slice(0, 200), r.subject, r.at]),
    ]);
  },

  /** The latest `limit` evidence rows of each exception, newest first. */
  async evidenceOf(tx: EntityManager, ids: readonly string[], limit: number): Promise<EvidenceRow[]> {
    if (!ids.length) return [];
    const rows: unknown[] = await tx.query(
      `SELECT exception_id, type, ref_id, subject, at FROM (
         SELECT e.*, ROW_NUMBER() OVER (PARTITION BY exception_id ORDER BY at DESC, ref_id) AS rn FROM exception_evidence e WHERE exception_id IN (?)
       ) ranked WHERE rn <= ? ORDER BY exception_id, at DESC, ref_id`,
      [ids, limit],
    );
    return rows.map((r) => evidenceRow.parse(r));
  },

  async evidenceCounts(tx: EntityManager, ids: readonly string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows: unknown[] = await tx.query('SELECT exception_id AS k, COUNT(*) AS n FROM exception_evidence WHERE exception_id IN (?) GROUP BY exception_id', [ids]);
    return new Map(rows.map((r) => countRow.parse(r)).map((r) => [r.k, r.n]));
  },

  async addEvent(tx: EntityManager, e: EventRow): Promise<void> {
    await tx.query('INSERT INTO exception_events (exception_id, event, state, severity, actor, note, at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      e.exceptionId,
      e.event,
      e.state,
      e.severity,
      e.actor,
      e.note,
      e.at,
    ]);
  },

  async eventsOf(tx: EntityManager, ids: readonly string[]): Promise<EventRow[]> {
    if (!ids.length) return [];
    const rows: unknown[] = await tx.query(
      'SELECT exception_id, event, state, severity, actor, note, at FROM exception_events WHERE exception_id IN (?) ORDER BY exception_id, id',
      [ids],
    );
    return rows.map((r) => eventRow.parse(r));
  },

  /** Keyset page, newest first: `limit` rows after (firstSeenAt, id). */
  page(tx: EntityManager, filter: ExceptionFilter, limit: number, after: { firstSeenAt: Date; id: string } | null): Promise<ExceptionEntity[]> {
    const qb = tx.createQueryBuilder(ExceptionEntity, 'x');
    applyFilter(qb, filter);
    if (after) {
      qb.andWhere(
        new Brackets((w) => w.where('x.first_seen_at < :at', { at: after.firstSeenAt }).orWhere('x.first_seen_at = :at AND x.id < :id', { id: after.id })),
      );
    }
    return qb.orderBy('x.first_seen_at', 'DESC').addOrderBy('x.id', 'DESC').limit(limit).getMany();
  },

  /** How many exceptions match, by `column` (kind, cause or severity). */
  async countBy(tx: EntityManager, filter: ExceptionFilter, column: 'kind' | 'cause' | 'severity'): Promise<{ key: string; count: number }[]> {
    const qb = tx.createQueryBuilder(ExceptionEntity, 'x').select(`x.${column}`, 'k').addSelect('COUNT(*)', 'n');
    applyFilter(qb, filter);
    const rows: unknown[] = await qb.groupBy(`x.${column}`).orderBy('n', 'DESC').getRawMany();
    return rows.map((r) => countRow.parse(r)).map((r) => ({ key: r.k, count: r.n }));
  },

  /** Exceptions in these states by (kind, severity): the Prometheus gauge. */
  async countByKindAndSeverity(tx: EntityManager, states: readonly ExceptionState[]): Promise<{ kind: string; severity: string; count: number }[]> {
    const rows: unknown[] = await tx.query('SELECT kind, severity, COUNT(*) AS n FROM exceptions WHERE state IN (?) GROUP BY kind, severity', [states]);
    return rows.map((r) => z.object({ kind: z.string(), severity: z.string(), n: num }).parse(r)).map((r) => ({ kind: r.kind, severity: r.severity, count: r.n }));
  },

  async insertWebhook(tx: EntityManager, w: WebhookRow): Promise<void> {
    await tx.query('INSERT INTO exception_webhooks (id, url, secret, min_severity, kinds, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      w.id,
      w.url,
      w.secret,
      w.minSeverity,
      w.kinds ? JSON.stringify(w.kinds) : null,
      w.createdBy,
      w.createdAt,
    ]);
  },

  async webhooks(tx: EntityManager): Promise<WebhookRow[]> {
    const rows: unknown[] = await tx.query('SELECT id, url, secret, min_severity, kinds, created_by, created_at FROM exception_webhooks ORDER BY created_at, id');
    return rows.map((r) => webhookRow.parse(r));
  },

  async webhook(tx: EntityManager, id: string): Promise<WebhookRow | null> {
    const rows: unknown[] = await tx.query('SELECT id, url, secret, min_severity, kinds, created_by, created_at FROM exception_webhooks WHERE id = ?', [id]);
    return rows.length ? webhookRow.parse(rows[0]) : null;
  },

  async deleteWebhook(tx: EntityManager, id: string): Promise<boolean> {
    return affectedRows(await tx.query('DELETE FROM exception_webhooks WHERE id = ?', [id])) > 0;
  },
};

function applyFilter(qb: ReturnType<EntityManager['createQueryBuilder']>, f: ExceptionFilter): void {
  if (f.states?.length) qb.andWhere('x.state IN (:...states)', { states: f.states });
  if (f.kinds?.length) qb.andWhere('x.kind IN (:...kinds)', { kinds: f.kinds });
  if (f.severities?.length) qb.andWhere('x.severity IN (:...severities)', { severities: f.severities });
  if (f.channelId) qb.andWhere('x.channel_id = :channelId', { channelId: f.channelId });
  if (f.sku) qb.andWhere('x.sku = :sku', { sku: f.sku });
  if (f.locationId) qb.andWhere('x.location_id = :locationId', { locationId: f.locationId });
  if (f.cause) qb.andWhere('x.cause = :cause', { cause: f.cause });
  if (f.team) qb.andWhere('x.team = :team', { team: f.team });
}

/** Inbox queries that may run on a read replica (lib/read-replicas.ts): lists, counts, evidence and history as the API shows them. Grouping and state changes read and lock on the primary. */
export const exceptionReads = {
  findByIds: (r: ReadSide, ids: readonly string[]) => exceptionStore.findByIds(r.manager, ids),
  evidenceOf: (r: ReadSide, ids: readonly string[], limit: number) => exceptionStore.evidenceOf(r.manager, ids, limit),
  evidenceCounts: (r: ReadSide, ids: readonly string[]) => exceptionStore.evidenceCounts(r.manager, ids),
  eventsOf: (r: ReadSide, ids: readonly string[]) => exceptionStore.eventsOf(r.manager, ids),
  page: (r: ReadSide, filter: ExceptionFilter, limit: number, after: { firstSeenAt: Date; id: string } | null) => exceptionStore.page(r.manager, filter, limit, after),
  countBy: (r: ReadSide, filter: ExceptionFilter, column: 'kind' | 'cause' | 'severity') => exceptionStore.countBy(r.manager, filter, column),
};
