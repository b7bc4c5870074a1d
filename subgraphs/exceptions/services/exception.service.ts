import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { problemActionSchema, TOPICS } from '../../../contracts/events.js';
import { writeTransaction } from '../../../lib/db.js';
import { BadUserInputError, ConflictError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { outboxStore } from '../../../lib/outbox.js';
import { decodeCursor, encodeCursor, pageSizeSchema, type Connection } from '../../../lib/pagination.js';
import { ExceptionEntity } from '../data/exception.entity.js';
import { isAnomalyKind } from '../domain/anomaly-rules.js';
import { primaryReads, type Reads } from '../../../lib/read-replicas.js';
import { exceptionReads, exceptionStore, type EventRow, type EvidenceRow, type ExceptionFilter, type SubjectRow } from '../data/exception.store.js';
import {
  EXCEPTION_KINDS,
  EXCEPTION_STATES,
  groupKeyOf,
  maxSeverity,
  operationOf,
  SEVERITIES,
  severitiesFrom,
  severityOf,
  titleOf,
  transition,
  UNRESOLVED_STATES,
  type ActionOperation,
  type ExceptionEvent,
  type Signal,
  type Transition,
} from '../domain/exception-rules.js';

/** A signal as the relay delivered it: (source, seq) identify it and order a subject's signals. */
export interface SourcedSignal {
  source: string;
  seq: number;
  signal: Signal;
}

/** What the `exception` topic carries: enough to filter on without reading the exception. */
export const exceptionEventSchema = z.object({
  id: z.string(),
  event: z.string(),
  kind: z.string(),
  severity: z.enum(SEVERITIES),
  state: z.enum(EXCEPTION_STATES),
  channelId: z.string().nullable(),
  sku: z.string().nullable(),
  locationId: z.string().nullable(),
  cause: z.string(),
  title: z.string(),
  at: z.string(),
});
export type ExceptionEventPayload = z.infer<typeof exceptionEventSchema>;

/** Told when a person says an anomaly finding was not one, so detection learns from it. */
export interface AnomalyFeedback {
  markNotAnomaly(input: { kind: string; sku: string | null; locationId: string | null; channelId: string | null; score: number; day: Date; by: string | null; note: string | null }): Promise<unknown>;
}

const filterSchema = z
  .object({
    states: z.array(z.enum(EXCEPTION_STATES)).nullish(),
    kinds: z.array(z.enum(EXCEPTION_KINDS)).nullish(),
    minSeverity: z.enum(SEVERITIES).nullish(),
    channelId: z.string().max(64).nullish(),
    sku: z.string().max(100).nullish(),
    locationId: z.string().max(64).nullish(),
    cause: z.string().max(100).nullish(),
    team: z.string().max(100).nullish(),
  })
  .nullish();

const noteSchema = z.string().trim().max(2000).nullish();
const teamSchema = z.string().trim().min(1).max(100).nullable();

/** The exception of a subject cleared before it was ever raised here. */
const NO_EXCEPTION = '';

/** Signals applied in one transaction. */
const APPLY_BATCH = 200;

/** Units or value summed over subjects: unknown while none of them knows it. */
const sum = (a: number | null, b: number | null, sign = 1): number | null => (a === null && b === null ? null : (a ?? 0) + sign * (b ?? 0));

/**
 * The exceptions inbox: signals from every module grouped by root cause into exceptions, the moves
 * people make on them, and what the inbox tells (`exception` events: the subscription and webhooks).
 */
export class ExceptionService {
  constructor(
    private readonly ds: DataSource,
    private readonly feedback: AnomalyFeedback | null = null,
  ) {}

  /**
   * Applies signals in delivery order, up to APPLY_BATCH in a transaction (a marketplace refusing
   * 4,000 SKUs is absorbed in seconds, not a commit per SKU): a subject's later signal wins, a
   * resent or older one (same source, seq not after the last applied) changes nothing.
   * @returns the signals applied (not the stale ones)
   */
  async apply(signals: readonly SourcedSignal[]): Promise<SourcedSignal[]> {
    const applied: SourcedSignal[] = [];
    for (let i = 0; i < signals.length; i += APPLY_BATCH) {
      const batch = signals.slice(i, i + APPLY_BATCH);
      applied.push(
        ...(await writeTransaction(this.ds, async (tx) => {
          const fresh: SourcedSignal[] = [];
          for (const s of batch) if (await this.applyOne(tx, s)) fresh.push(s);
          return fresh;
        })),
      );
    }
    return applied;
  }

  /** @returns false for a stale signal, which changed nothing */
  private async applyOne(tx: EntityManager, { source, seq, signal: s }: SourcedSignal): Promise<boolean> {
    const at = new Date(s.at);
    const current = await exceptionStore.lockSubject(tx, s.kind, s.subject);
    if (current && current.source === source && current.seq >= seq) return false;
    const subjectRow = (exceptionId: string, open: boolean): Parameters<typeof exceptionStore.upsertSubject>[1] => ({
      kind: s.kind,
      subject: s.subject,
      exceptionId,
      open,
      units: s.units,
      value: s.value,
      measure: s.measure,
      source,
      seq,
      sku: s.sku,
      locationId: s.locationId,
      explanation: s.explanation,
      at,
    });

    if (s.state === 'CLEARED') {
      // Cleared before its RAISED was applied (two consumers, or a resend): kept with no exception, so the older RAISED changes nothing.
      if (!current) {
        await exceptionStore.upsertSubject(tx, subjectRow(NO_EXCEPTION, false));
        return true;
      }
      await exceptionStore.upsertSubject(tx, { ...subjectRow(current.exceptionId, false), units: current.units, value: current.value });
      if (current.open) await this.detach(tx, current, at);
      return true;
    }

    const key = groupKeyOf(s);
    let group: { row: ExceptionEntity; created: boolean } | null = null;
    let openHere = false;
    if (current?.open) {
      const holder = await exceptionStore.lock(tx, current.exceptionId);
      if (holder && holder.openKey === key) {
        group = { row: holder, created: false };
        openHere = true;
      } else {
        // Its cause changed, or a person resolved the exception it was in: it belongs elsewhere now.
        await this.detach(tx, current, at, holder);
      }
    }
    group ??= await exceptionStore.lockOpenGroup(tx, freshException(s, key, at));
    const { row, created } = group;

    if (openHere) {
      row.unitsAtRisk = sum(sum(row.unitsAtRisk, s.units), current!.units, -1);
      row.valueAtRisk = sum(sum(row.valueAtRisk, s.value), current!.value, -1);
    } else {
      row.openSubjects += 1;
      row.totalSubjects += 1;
      row.unitsAtRisk = sum(row.unitsAtRisk, s.units);
      row.valueAtRisk = sum(row.valueAtRisk, s.value);
      if (!created) {
        // A group spanning several SKUs, locations or channels names none of them.
        if (row.sku !== s.sku) row.sku = null;
        if (row.locationId !== s.locationId) row.locationId = null;
        if (row.channelId !== s.channelId) row.channelId = null;
      }
    }
    row.measure = s.measure ?? row.measure;
    row.explanation = s.explanation;
    row.cause = s.cause || row.cause;
    if (s.action) row.action = JSON.stringify(s.action);
    row.lastSeenAt = at;
    const before = row.severity;
    row.severity = maxSeverity(row.severity, severityOf(row.kind, { openSubjects: row.openSubjects, units: row.unitsAtRisk, value: row.valueAtRisk, measure: row.measure }));
    row.version += 1;
    await exceptionStore.save(tx, row);
    await exceptionStore.upsertSubject(tx, subjectRow(row.id, true));
    await exceptionStore.addEvidence(
      tx,
      s.evidence.map((e): EvidenceRow => ({ exceptionId: row.id, type: e.type, refId: e.id, subject: s.subject, at })),
    );
    if (created) await this.record(tx, row, 'RAISED', null, null, at);
    else if (row.severity !== before) await this.record(tx, row, 'ESCALATED', null, null, at);
    return true;
  }

  /** Takes an open subject out of the exception holding it; the exception resolves itself when none is left. */
  private async detach(tx: EntityManager, subject: SubjectRow, at: Date, locked?: ExceptionEntity | null): Promise<void> {
    const row = locked === undefined ? await exceptionStore.lock(tx, subject.exceptionId) : locked;
    if (!row) return;
    row.openSubjects = Math.max(0, row.openSubjects - 1);
    // At risk over the open subjects: nothing once none is left.
    row.unitsAtRisk = sum(row.unitsAtRisk, subject.units, -1);
    row.valueAtRisk = sum(row.valueAtRisk, subject.value, -1);
    row.version += 1;
    const autoResolves = row.state !== 'RESOLVED' && row.openSubjects === 0;
    if (autoResolves) {
      Object.assign(row, { state: 'RESOLVED', resolution: 'AUTO', resolvedAt: at, resolvedBy: null, openKey: null });
    }
    await exceptionStore.save(tx, row);
    if (autoResolves) await this.record(tx, row, 'AUTO_RESOLVED', null, 'the cause cleared', at);
  }

  /** A history entry and the `exception` event that tells subscribers and webhooks. */
  private async record(tx: EntityManager, row: ExceptionEntity, event: ExceptionEvent, actor: string | null, note: string | null, at: Date): Promise<void> {
    const entry: EventRow = { exceptionId: row.id, event, state: row.state, severity: row.severity, actor, note, at };
    await exceptionStore.addEvent(tx, entry);
    const payload: ExceptionEventPayload = {
      id: row.id,
      event,
      kind: row.kind,
      severity: row.severity,
      state: row.state,
      channelId: row.channelId,
      sku: row.sku,
      locationId: row.locationId,
      cause: row.cause,
      title: this.title(row),
      at: at.toISOString(),
    };
    await outboxStore.append(tx, [{ topic: TOPICS.exception, key: row.id, payload }], at);
  }

  title(row: ExceptionEntity): string {
    return titleOf(row.kind, row.openSubjects || row.totalSubjects, row.cause, row);
  }

  /** The suggested action as the operation a person runs; null when there is none. */
  action(row: ExceptionEntity): ActionOperation | null {
    if (!row.action) return null;
    const parsed = problemActionSchema.safeParse(JSON.parse(row.action));
    return parsed.success ? operationOf(parsed.data, row.id) : null;
  }

  /**
   * Acknowledges (someone is on it) or resolves an exception, with who, when and a note.
   * @throws NotFoundError for an unknown id; ConflictError for a resolved one
   */
  async move(id: string, move: Transition, actor: string | null, noteInput: unknown): Promise<ExceptionEntity> {
    const note = parseInput(noteSchema, noteInput, 'note') ?? null;
    return writeTransaction(this.ds, async (tx) => {
      const row = await this.locked(tx, id);
      const next = transition(row.state, move);
      if ('refused' in next) throw new ConflictError(`Exception ${id}: ${next.refused}`, { reason: 'EXCEPTION_RESOLVED' });
      if (!next.changed) return row;
      const at = new Date();
      if (move === 'ACKNOWLEDGE') Object.assign(row, { state: next.to, acknowledgedBy: actor, acknowledgedAt: at });
      else Object.assign(row, { state: next.to, resolvedBy: actor, resolvedAt: at, resolution: 'MANUAL', openKey: null });
      if (note) row.note = note;
      row.version += 1;
      await exceptionStore.save(tx, row);
      await this.record(tx, row, move === 'ACKNOWLEDGE' ? 'ACKNOWLEDGED' : 'RESOLVED', actor, note, at);
      return row;
    });
  }

  /** @throws NotFoundError for an unknown id; BadUserInputError for a bad team name */
  async assign(id: string, teamInput: unknown, actor: string | null): Promise<ExceptionEntity> {
    const team = parseInput(teamSchema, teamInput ?? null, 'team');
    return writeTransaction(this.ds, async (tx) => {
      const row = await this.locked(tx, id);
      if (row.team === team) return row;
      row.team = team;
      row.version += 1;
      await exceptionStore.save(tx, row);
      await exceptionStore.addEvent(tx, { exceptionId: row.id, event: 'ASSIGNED', state: row.state, severity: row.severity, actor, note: team, at: new Date() });
      return row;
    });
  }

  /**
   * A person says an anomaly finding was not an anomaly: it is resolved as such and detection is
   * told, so the same series does not fire again for a like score.
   * @throws BadUserInputError for an exception that is not an anomaly finding
   */
  async markNotAnomaly(id: string, actor: string | null, noteInput: unknown): Promise<ExceptionEntity> {
    const note = parseInput(noteSchema, noteInput, 'note') ?? null;
    const { row, subjects } = await writeTransaction(this.ds, async (tx) => {
      const row = await this.locked(tx, id);
      if (!isAnomalyKind(row.kind)) {
        throw new BadUserInputError(`Exception ${id} is a ${row.kind}, not an anomaly finding`, [{ path: 'id', message: 'not an anomaly finding' }]);
      }
      const subjects = await exceptionStore.openSubjectsOf(tx, row.id);
      if (row.state === 'RESOLVED') return { row, subjects: [] };
      const at = new Date();
      Object.assign(row, { state: 'RESOLVED', resolvedBy: actor, resolvedAt: at, resolution: 'NOT_AN_ANOMALY', openKey: null, note: note ?? row.note });
      row.version += 1;
      await exceptionStore.save(tx, row);
      await this.record(tx, row, 'RESOLVED', actor, note ?? 'not an anomaly', at);
      return { row, subjects };
    });
    for (const s of subjects) {
      await this.feedback?.markNotAnomaly({
        kind: row.kind,
        sku: s.sku,
        locationId: s.locationId,
        channelId: row.channelId,
        score: s.measure ?? 0,
        day: row.lastSeenAt,
        by: actor,
        note,
      });
    }
    return row;
  }

  private async locked(tx: EntityManager, id: string): Promise<ExceptionEntity> {
    const row = await exceptionStore.lock(tx, id);
    if (!row) throw new NotFoundError('Exception', id);
    return row;
  }

  async byIds(reads: Reads, ids: readonly string[]): Promise<(ExceptionEntity | null)[]> {
    const rows = await reads.run((r) => exceptionReads.findByIds(r, ids));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async evidence(reads: Reads, ids: readonly string[], limit: number): Promise<EvidenceRow[][]> {
    const rows = await reads.run((r) => exceptionReads.evidenceOf(r, ids, limit));
    return ids.map((id) => rows.filter((r) => r.exceptionId === id));
  }

  async evidenceCounts(reads: Reads, ids: readonly string[]): Promise<number[]> {
    const counts = await reads.run((r) => exceptionReads.evidenceCounts(r, ids));
    return ids.map((id) => counts.get(id) ?? 0);
  }

  async history(reads: Reads, ids: readonly string[]): Promise<EventRow[][]> {
    const rows = await reads.run((r) => exceptionReads.eventsOf(r, ids));
    return ids.map((id) => rows.filter((r) => r.exceptionId === id));
  }

  /** A page of exceptions, newest first; unresolved ones unless `states` says otherwise. */
  async list(filterInput: unknown, firstInput: unknown = 50, after?: string | null, reads: Reads = primaryReads(this.ds)): Promise<Connection<ExceptionEntity>> {
    const filter = this.filter(filterInput);
    const first = parseInput(pageSizeSchema, firstInput, 'first');
    let cursor: { firstSeenAt: Date; id: string } | null = null;
    if (after) {
      const [at, id] = decodeCursor(after, 2);
      cursor = { firstSeenAt: new Date(Number(at)), id: String(id) };
    }
    const rows = await reads.run((r) => exceptionReads.page(r, filter, first + 1, cursor));
    const page = rows.slice(0, first);
    return {
      edges: page.map((node) => ({ node, cursor: encodeCursor([node.firstSeenAt.getTime(), node.id]) })),
      pageInfo: { hasNextPage: rows.length > first, endCursor: page.length ? encodeCursor([page.at(-1)!.firstSeenAt.getTime(), page.at(-1)!.id]) : null },
    };
  }

  /** How many exceptions match, in all and by kind, cause and severity. */
  async counts(filterInput: unknown, reads: Reads = primaryReads(this.ds)): Promise<{ total: number; byKind: Count[]; byCause: Count[]; bySeverity: Count[] }> {
    const filter = this.filter(filterInput);
    const [byKind, byCause, bySeverity] = await Promise.all(
      (['kind', 'cause', 'severity'] as const).map((c) => reads.run((r) => exceptionReads.countBy(r, filter, c))),
    );
    return { total: byKind!.reduce((n, c) => n + c.count, 0), byKind: byKind!, byCause: byCause!, bySeverity: bySeverity! };
  }

  private filter(input: unknown): ExceptionFilter {
    const f = parseInput(filterSchema, input ?? null, 'filter') ?? {};
    return {
      states: f.states?.length ? f.states : UNRESOLVED_STATES,
      kinds: f.kinds,
      severities: f.minSeverity ? severitiesFrom(f.minSeverity) : null,
      channelId: f.channelId,
      sku: f.sku,
      locationId: f.locationId,
      cause: f.cause,
      team: f.team,
    };
  }
}

export interface Count {
  key: string;
  count: number;
}

function freshException(s: Signal, key: string, at: Date): ExceptionEntity {
  return Object.assign(new ExceptionEntity(), {
    id: randomUUID(),
    kind: s.kind,
    groupKey: key,
    openKey: key,
    state: 'OPEN',
    severity: 'LOW',
    cause: s.cause,
    explanation: s.explanation,
    sku: s.sku,
    locationId: s.locationId,
    channelId: s.channelId,
    openSubjects: 0,
    totalSubjects: 0,
    unitsAtRisk: null,
    valueAtRisk: null,
    measure: s.measure,
    action: s.action ? JSON.stringify(s.action) : null,
    team: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    resolvedBy: null,
    resolvedAt: null,
    resolution: null,
    note: null,
    firstSeenAt: at,
    lastSeenAt: at,
    version: 1,
  } satisfies ExceptionEntity);
}
