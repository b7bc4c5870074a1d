import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemSignalSchema, type ProblemSignal } from '../contracts/events.js';
import { errorCode, gql, uniq } from './client.js';
import { InventoryFixture } from './inventory-fixture.js';

/**
 * Inventory's RECONCILIATION_DRIFT problems: a run recorded without apply raises one per drifting
 * line in its own transaction; applyReconciliation applies the recorded drift through the ledger
 * and clears them in its transaction.
 */

let f: InventoryFixture;

beforeAll(async () => {
  f = await InventoryFixture.start();
});
afterAll(async () => {
  await f?.close();
});

const RECONCILE = `mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) { id applied driftCount replayed drifts { sku outcome drift } } }`;
const APPLY = `mutation($id: ID!) { applyReconciliation(runId: $id) {
  id applied replayed
  drifts { sku drift outcome correction { type reason quantity onHandBefore onHandAfter } }
} }`;

/** The run's problem signals in the order they were written. */
async function signalsOf(runId: string): Promise<ProblemSignal[]> {
  const rows: { payload: string }[] = await f.ds.query(`SELECT payload FROM outbox_events WHERE topic = 'problem' AND event_key LIKE ? ORDER BY seq`, [
    `RECONCILIATION_DRIFT:${runId}:%`,
  ]);
  return rows.map((r) => problemSignalSchema.parse(JSON.parse(r.payload)));
}

/** Everything applying a run writes, to show a refused or repeated call writes nothing. */
async function written(runId: string, skus: string[]) {
  return {
    movements: await f.count(`SELECT COUNT(*) AS n FROM stock_movements WHERE sku IN (?)`, [skus]),
    stockEvents: await f.count(`SELECT COUNT(*) AS n FROM outbox_events WHERE topic = 'stock' AND (${skus.map(() => 'event_key LIKE ?').join(' OR ')})`, skus.map((s) => `${s}:%`)),
    signals: (await signalsOf(runId)).length,
  };
}

describe('RECONCILIATION_DRIFT', () => {
  it('a run recorded without apply raises each drifting line; applyReconciliation applies the recorded drift, clears them, and only once', async () => {
    const loc = await f.location();
    const [a, b, c, same] = [await f.item(), await f.item(), await f.item(), await f.item()];
    await f.receive(a, loc, 10);
    await f.receive(b, loc, 20);
    await f.receive(c, loc, 10);
    await f.receive(same, loc, 5);
    const source = uniq('erp:sap-');
    const report = await gql(f.url, RECONCILE, {
      input: {
        idempotencyKey: randomUUID(),
        source,
        lines: [
          { sku: a, locationId: loc, onHand: 7 },
          { sku: b, locationId: loc, onHand: 24 },
          { sku: c, locationId: loc, onHand: 2 },
          { sku: same, locationId: loc, onHand: 5 },
          { sku: uniq('NO-SUCH-'), locationId: loc, onHand: 3 },
        ],
      },
    });
    expect(report.errors).toBeUndefined();
    const run = report.data!.reconcileSnapshot;
    expect(run).toMatchObject({ applied: false, driftCount: 4, replayed: false });

    // One RAISED per drifting line of a known SKU and location (the unknown SKU has nothing to apply).
    const raised = await signalsOf(run.id);
    expect(raised.map((s) => [s.state, s.sku, s.units, s.measure])).toEqual([
      ['RAISED', a, 3, 3],
      ['RAISED', b, 4, 4],
      ['RAISED', c, 8, 8],
    ]);
    for (const s of raised) {
      expect(s).toMatchObject({
        kind: 'RECONCILIATION_DRIFT',
        subject: `${run.id}:${s.sku}:${loc}`,
        cause: source,
        locationId: loc,
        evidence: [{ type: 'RECONCILIATION_RUN', id: run.id }],
        action: { kind: 'APPLY_RECONCILIATION', runId: run.id },
      });
    }

    // Sales after the count: the recorded drift is applied on top of them, not the old count.
    await f.move({ type: 'SALE', sku: a, locationId: loc, quantity: 1 });
    await f.move({ type: 'SALE', sku: c, locationId: loc, quantity: 5 });

    const applied = await gql(f.url, APPLY, { id: run.id });
    expect(applied.errors).toBeUndefined();
    expect(applied.data!.applyReconciliation).toMatchObject({ id: run.id, applied: true, replayed: false });
    const bySku = new Map(applied.data!.applyReconciliation.drifts.map((d: any) => [d.sku, d]));
    expect(bySku.get(a)).toMatchObject({ outcome: 'CORRECTED', correction: { type: 'CYCLE_COUNT', reason: 'CYCLE_COUNT', quantity: -3, onHandBefore: 9, onHandAfter: 6 } });
    expect(bySku.get(b)).toMatchObject({ outcome: 'CORRECTED', correction: { type: 'CYCLE_COUNT', quantity: 4, onHandBefore: 20, onHandAfter: 24 } });
    // 5 left, 8 to take off: the count and the sales since cannot both be right.
    expect(bySku.get(c)).toMatchObject({ outcome: 'CONFLICT', correction: null });
    expect(await f.level(a, loc)).toMatchObject({ on_hand: 6 });
    expect(await f.level(b, loc)).toMatchObject({ on_hand: 24 });
    expect(await f.level(c, loc)).toMatchObject({ on_hand: 5 });

    // The corrections went through the ledger and announced themselves on the stock stream.
    const stockEvents: { payload: string }[] = await f.ds.query(`SELECT payload FROM outbox_events WHERE topic = 'stock' AND event_key = ? ORDER BY seq DESC LIMIT 1`, [`${a}:${loc}`]);
    expect(JSON.parse(stockEvents[0]!.payload)).toMatchObject({ change: 'CYCLE_COUNT', before: { onHand: 9 }, after: { onHand: 6 } });

    const after = (await signalsOf(run.id)).slice(raised.length);
    const cleared = after.filter((s) => s.state === 'CLEARED');
    expect(cleared.map((s) => s.sku).sort()).toEqual([a, b].sort());
    for (const s of cleared) expect(s.evidence.map((e) => e.type)).toEqual(['RECONCILIATION_RUN', 'MOVEMENT']);
    // The line it could not apply stays a problem, now without the action that cannot fix it.
    expect(after.filter((s) => s.state === 'RAISED')).toEqual([expect.objectContaining({ sku: c, subject: `${run.id}:${c}:${loc}`, cause: source, action: null })]);

    // A second call finds the run applied: the same answer, nothing written.
    const before = await written(run.id, [a, b, c]);
    const again = await gql(f.url, APPLY, { id: run.id });
    expect(again.errors).toBeUndefined();
    expect(again.data!.applyReconciliation).toMatchObject({ id: run.id, applied: true, replayed: true });
    expect(await written(run.id, [a, b, c])).toEqual(before);
    expect(await f.level(a, loc)).toMatchObject({ on_hand: 6 });
  });

  it('a run recorded with apply raises nothing, and applying it again is a replay', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 10);
    const report = await gql(f.url, RECONCILE, { input: { idempotencyKey: randomUUID(), source: uniq('wms:'), apply: true, lines: [{ sku, locationId: loc, onHand: 8 }] } });
    const run = report.data!.reconcileSnapshot;
    expect(run).toMatchObject({ applied: true, drifts: [{ outcome: 'CORRECTED' }] });
    expect(await signalsOf(run.id)).toEqual([]);
    const again = await gql(f.url, APPLY, { id: run.id });
    expect(again.data!.applyReconciliation).toMatchObject({ applied: true, replayed: true });
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 8 });
  });

  it('refuses an unknown run with NOT_FOUND and a malformed id with BAD_USER_INPUT, writing nothing', async () => {
    const unknown = randomUUID();
    const missing = await gql(f.url, APPLY, { id: unknown });
    expect(errorCode(missing)).toBe('NOT_FOUND');
    expect(missing.data).toBeNull();
    expect(await signalsOf(unknown)).toEqual([]);
    expect(await f.count(`SELECT COUNT(*) AS n FROM reconciliation_runs WHERE id = ?`, [unknown])).toBe(0);
    expect(await f.count(`SELECT COUNT(*) AS n FROM stock_movements WHERE reference LIKE ?`, [`%${unknown}%`])).toBe(0);

    const malformed = await gql(f.url, APPLY, { id: 'not-a-run' });
    expect(errorCode(malformed)).toBe('BAD_USER_INPUT');
  });
});
