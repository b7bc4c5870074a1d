import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { manyByKey, oneByKey } from '../../../lib/batch.js';
import { isDuplicateKey, writeTransaction } from '../../../lib/db.js';
import { ConflictError, DomainError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { outboxStore, type OutboxEvent } from '../../../lib/outbox.js';
import { decodeCursor, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertId, assertPageSize, idSchema, skuSchema } from '../../../lib/validation.js';
import { itemStore } from '../data/item.store.js';
import { levelKeyOf } from '../domain/level-math.js';
import { idempotencyKeySchema, requestHash } from '../../../contracts/idempotency.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import { derivedKey } from '../domain/movement-rules.js';
import { onLevels, type MovementService } from './movement.service.js';
import { correctedOnHand, driftCleared, driftRaised, driftUncorrectable } from '../domain/reconciliation-rules.js';
import { DriftLineEntity, ReconciliationRunEntity, type DriftOutcome } from '../data/reconciliation.entity.js';
import { reconciliationStore } from '../data/reconciliation.store.js';
import { replicaStore } from '../data/replica.store.js';

export const MAX_SNAPSHOT_LINES = 10_000;
const CHUNK = 1000;

const snapshotSchema = z.object({
  idempotencyKey: idempotencyKeySchema,
  source: z.string().trim().min(1).max(100),
  tolerance: z.number().int().min(0).max(MAX_QUANTITY).nullish(),
  apply: z.boolean().nullish(),
  lines: z
    .array(z.object({ sku: skuSchema, locationId: idSchema, onHand: z.number().int().min(0).max(MAX_QUANTITY) }))
    .min(1)
    .max(MAX_SNAPSHOT_LINES)
    .superRefine((lines, ctx) => {
      const seen = new Set<string>();
      lines.forEach((l, i) => {
        if (seen.has(levelKeyOf(l))) ctx.addIssue({ code: 'custom', path: [i], message: 'repeats the SKU and location of an earlier line' });
        seen.add(levelKeyOf(l));
      });
    }),
});

export interface RunView extends ReconciliationRunEntity {
  replayed: boolean;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** A run's events in statements of 1,000 rows: a 10,000-line run in one would near max_allowed_packet. */
async function appendEvents(tx: EntityManager, events: readonly OutboxEvent[], at: Date): Promise<void> {
  for (const part of chunks(events)) await outboxStore.append(tx, part, at);
}

/**
 * Compares an ERP/WMS on-hand snapshot with ours, records every line whose drift exceeds the
 * tolerance, and on request corrects each as a CYCLE_COUNT movement guarded by the on-hand it was
 * compared against (a level that moved meanwhile is reported as CONFLICT, not overwritten). A run
 * recorded without apply raises a RECONCILIATION_DRIFT problem per line, and may be applied later
 * (applyRun) by its recorded drift.
 */
export class ReconciliationService {
  constructor(
    private readonly ds: DataSource,
    private readonly movements: MovementService,
  ) {}

  /**
   * @throws BadUserInputError for invalid input (no lines, more than 10,000, duplicates, bad quantities)
   * @throws ConflictError when the key was used for another snapshot
   */
  async reconcile(input: unknown, actor: string | null): Promise<RunView> {
    const v = parseInput(snapshotSchema, input);
    const hash = requestHash(v);
    const prior = await reconciliationStore.findByIdempotencyKey(this.ds.manager, v.idempotencyKey);
    if (prior) return this.replay(prior, hash);

    const tolerance = v.tolerance ?? 0;
    const ours = new Map<string, number>();
    const knownSkus = new Set<string>();
    const knownLocations = new Set<string>();
    for (const part of chunks(v.lines)) {
      const [levels, items, locations] = await Promise.all([
        reconciliationStore.onHand(this.ds.manager, part),
        itemStore.findBySkus(this.ds.manager, [...new Set(part.map((l) => l.sku))]),
        replicaStore.locations(this.ds.manager, [...new Set(part.map((l) => l.locationId))]),
      ]);
      for (const l of levels) ours.set(levelKeyOf({ sku: l.sku, locationId: l.location_id }), l.on_hand);
      for (const i of items) knownSkus.add(i.sku);
      for (const l of locations) knownLocations.add(l.location_id);
    }

    const runId = randomUUID();
    const drifts: DriftLineEntity[] = [];
    for (const line of v.lines) {
      const have = ours.get(levelKeyOf(line)) ?? 0;
      if (Math.abs(line.onHand - have) <= tolerance) continue;
      const outcome: DriftOutcome = !knownSkus.has(line.sku) ? 'UNKNOWN_ITEM' : !knownLocations.has(line.locationId) ? 'UNKNOWN_LOCATION' : 'REPORTED';
      drifts.push(Object.assign(new DriftLineEntity(), { runId, sku: line.sku, locationId: line.locationId, theirs: line.onHand, ours: have, outcome, movementId: null }));
    }

    if (v.apply) {
      for (const d of drifts.filter((x) => x.outcome === 'REPORTED')) {
        try {
          const result = await this.movements.record(
            {
              // Derived from the run's key, so a retried run re-applies nothing it already applied.
              idempotencyKey: derivedKey('reconciliation', v.idempotencyKey, d.sku, d.locationId),
              type: 'CYCLE_COUNT',
              sku: d.sku,
              locationId: d.locationId,
              quantity: d.theirs,
              expectedOnHand: d.ours,
              reference: `reconciliation://${v.source}/${v.idempotencyKey}`,
            },
            actor,
          );
          d.outcome = 'CORRECTED';
          d.movementId = result.movement.id;
        } catch (err) {
          // A level that moved since the compare is left for the next run, never overwritten.
          if (!(err instanceof DomainError)) throw err;
          d.outcome = 'CONFLICT';
        }
      }
    }

    const run = Object.assign(new ReconciliationRunEntity(), {
      id: runId,
      idempotencyKey: v.idempotencyKey,
      requestHash: hash,
      source: v.source,
      tolerance,
      applied: v.apply ?? false,
      linesChecked: v.lines.length,
      driftCount: drifts.length,
      actor,
      createdAt: new Date(),
    });
    try {
      await writeTransaction(this.ds, async (tx) => {
        await reconciliationStore.insert(tx, run, drifts);
        // A run nobody applied leaves its drift for a person: a problem per line that applyReconciliation can fix.
        if (!run.applied) await appendEvents(tx, drifts.filter((d) => d.outcome === 'REPORTED').map((d) => driftRaised(run, d, run.createdAt)), run.createdAt);
      });
    } catch (err) {
      if (isDuplicateKey(err)) {
        const winner = await reconciliationStore.findByIdempotencyKey(this.ds.manager, v.idempotencyKey);
        if (winner) return this.replay(winner, hash);
      }
      throw err;
    }
    return Object.assign(run, { replayed: false });
  }

  /**
   * Applies a run recorded without apply: each line's drift as recorded (theirs − ours at the
   * comparison) moves on-hand as a CYCLE_COUNT, so what moved since the count is kept. One
   * transaction: the run locked first (concurrent applies wait and then find it applied), then
   * every level in key order through the ledger; the run marked applied, and each line's problem
   * CLEARED (or RAISED again without an action where on-hand would leave its bounds: CONFLICT).
   * An applied run comes back unchanged with replayed: true.
   * @throws BadUserInputError for a malformed id
   * @throws NotFoundError for an unknown run
   */
  async applyRun(runId: string, actor: string | null): Promise<RunView> {
    const id = assertId(runId, 'runId');
    return onLevels(this.ds, async (tx, create) => {
      const run = await reconciliationStore.lockRun(tx, id);
      if (!run) throw new NotFoundError('ReconciliationRun', id);
      if (run.applied) return Object.assign(run, { replayed: true });
      const lines = (await reconciliationStore.driftsOf(tx, [id])).filter((d) => d.outcome === 'REPORTED');
      const outcomes = await this.movements.recordCounts(
        tx,
        lines.map((d) => ({
          sku: d.sku,
          locationId: d.locationId,
          countOf: (level) => correctedOnHand(d, level.onHand),
          // One ledger line per run and level, whoever applies it.
          idempotencyKey: derivedKey('reconciliation-apply', run.id, d.sku, d.locationId),
          reference: `reconciliation://${run.source}/${run.idempotencyKey}`,
        })),
        actor,
        create,
      );
      const now = new Date();
      const events = lines.map((d, i) => {
        const { movement, before } = outcomes[i]!;
        d.outcome = movement ? 'CORRECTED' : 'CONFLICT';
        d.movementId = movement?.id ?? null;
        return movement ? driftCleared(run, d, movement.id, actor, now) : driftUncorrectable(run, d, before.onHand, now);
      });
      await reconciliationStore.markApplied(tx, id, lines);
      await appendEvents(tx, events, now);
      return Object.assign(run, { applied: true, replayed: false });
    });
  }

  /** Runs for the given ids, in key order (the loader's batch function). */
  async byIds(ids: readonly string[]): Promise<(ReconciliationRunEntity | null)[]> {
    return oneByKey(ids, await reconciliationStore.findByIds(this.ds.manager, ids), (r) => r.id);
  }

  /** Drift lines per run, in key order (the loader's batch function). */
  async driftsOf(runIds: readonly string[]): Promise<DriftLineEntity[][]> {
    return manyByKey(runIds, await reconciliationStore.driftsOf(this.ds.manager, runIds), (d) => d.runId);
  }

  /**
   * @throws BadUserInputError for a bad page size or cursor
   */
  async list(source: string | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Connection<ReconciliationRunEntity>> {
    const size = assertPageSize(first);
    const cursor = after ? decodeCursor(after, 2) : null;
    const rows = await reconciliationStore.page(this.ds.manager, source ?? null, cursor ? { createdAt: new Date(Number(cursor[0])), id: String(cursor[1]) } : null, size + 1);
    return toConnection(rows, size, (r) => [r.createdAt.getTime(), r.id]);
  }

  private replay(prior: ReconciliationRunEntity, hash: string): RunView {
    if (prior.requestHash !== hash) {
      throw new ConflictError('idempotency key reused with a different snapshot', { idempotencyKey: prior.idempotencyKey });
    }
    return Object.assign(prior, { replayed: true });
  }
}
