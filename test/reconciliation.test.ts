import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MovementService } from '../subgraphs/inventory/services/movement.service.js';
import { ReconciliationService } from '../subgraphs/inventory/services/reconciliation.service.js';
import { errorCode, gql, uniq } from './client.js';
import { InventoryFixture } from './inventory-fixture.js';

let f: InventoryFixture;

beforeAll(async () => {
  f = await InventoryFixture.start();
});
afterAll(async () => {
  await f?.close();
});

const RECONCILE = `mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) {
  id source tolerance applied linesChecked driftCount replayed
  drifts { sku location { id } theirs ours drift outcome correction { type quantity onHandAfter } }
} }`;

describe('reconciliation', () => {
  it('records lines drifting beyond the tolerance and corrects them when asked', async () => {
    const loc = await f.location();
    const [a, b, c] = [await f.item(), await f.item(), await f.item()];
    await f.receive(a, loc, 10);
    await f.receive(b, loc, 20);
    await f.receive(c, loc, 30);
    const source = uniq('erp:');
    const lines = [
      { sku: a, locationId: loc, onHand: 10 },
      { sku: b, locationId: loc, onHand: 21 },
      { sku: c, locationId: loc, onHand: 25 },
      { sku: 'NO-SUCH-SKU', locationId: loc, onHand: 4 },
    ];
    const report = await gql(f.url, RECONCILE, { input: { idempotencyKey: randomUUID(), source, tolerance: 1, lines } });
    expect(report.errors).toBeUndefined();
    expect(report.data!.reconcileSnapshot).toMatchObject({ applied: false, linesChecked: 4, driftCount: 2 });
    expect(report.data!.reconcileSnapshot.drifts.map((d: any) => [d.sku, d.drift, d.outcome])).toEqual(
      [
        [c, -5, 'REPORTED'],
        ['NO-SUCH-SKU', 4, 'UNKNOWN_ITEM'],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    expect(await f.level(c, loc)).toMatchObject({ on_hand: 30 });

    const key = randomUUID();
    const applied = await gql(f.url, RECONCILE, { input: { idempotencyKey: key, source, tolerance: 0, apply: true, lines: lines.slice(0, 3) } });
    const drifts = applied.data!.reconcileSnapshot.drifts;
    expect(drifts.map((d: any) => [d.sku, d.outcome, d.correction?.onHandAfter])).toEqual(
      [
        [b, 'CORRECTED', 21],
        [c, 'CORRECTED', 25],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    expect(await f.level(b, loc)).toMatchObject({ on_hand: 21 });
    expect(await f.level(c, loc)).toMatchObject({ on_hand: 25 });

    const replay = await gql(f.url, RECONCILE, { input: { idempotencyKey: key, source, tolerance: 0, apply: true, lines: lines.slice(0, 3) } });
    expect(replay.data!.reconcileSnapshot).toMatchObject({ id: applied.data!.reconcileSnapshot.id, replayed: true });
    expect(await f.count("SELECT COUNT(*) AS n FROM stock_movements WHERE sku = ? AND type = 'CYCLE_COUNT'", [c])).toBe(1);

    const runs = await gql(f.url, `query($s: String) { reconciliationRuns(source: $s, first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`, { s: source });
    expect(runs.data!.reconciliationRuns.edges[0].node.id).toBe(applied.data!.reconcileSnapshot.id);
    expect(runs.data!.reconciliationRuns.pageInfo.hasNextPage).toBe(true);
  });

  it('leaves a level that moved between comparison and correction as CONFLICT, untouched', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 10);
    // A till sale lands after the snapshot was compared but before its correction is applied.
    class RacingMovements extends MovementService {
      override async record(input: unknown, actor: string | null) {
        await new MovementService(f.ds).record({ idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 1 }, null);
        return super.record(input, actor);
      }
    }
    const service = new ReconciliationService(f.ds, new RacingMovements(f.ds));
    const run = await service.reconcile({ idempotencyKey: randomUUID(), source: uniq('wms:'), apply: true, lines: [{ sku, locationId: loc, onHand: 4 }] }, null);
    const [drift] = await service.driftsOf([run.id]);
    expect(drift).toEqual([expect.objectContaining({ sku, theirs: 4, ours: 10, outcome: 'CONFLICT', movementId: null })]);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 9 });
  });

  it.each([
    ['no lines', { lines: [] }],
    ['a negative on-hand', { lines: [{ onHand: -1 }] }],
    ['duplicate lines', { lines: [{ onHand: 1 }, { onHand: 2 }] }],
    ['over 10,000 lines', { lines: Array.from({ length: 10_001 }, () => ({ onHand: 1 })) }],
  ])('refuses %s with BAD_USER_INPUT and records nothing', async (_name, { lines }) => {
    const loc = await f.location();
    const sku = await f.item();
    const source = uniq('bad:');
    const res = await gql(f.url, RECONCILE, {
      input: { idempotencyKey: randomUUID(), source, lines: lines.map((l) => ({ sku, locationId: loc, ...l })) },
    });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(await f.count('SELECT COUNT(*) AS n FROM reconciliation_runs WHERE source = ?', [source])).toBe(0);
  });
});
