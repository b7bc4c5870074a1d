import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWith } from '../lib/config.js';
import { ReservationService } from '../subgraphs/inventory/services/reservation.service.js';
import { errorCode, gql, serviceToken } from './client.js';
import { COMMIT, InventoryFixture, MOVE, RELEASE, RESERVE } from './inventory-fixture.js';
import { untilLockWait } from './lock-waits.js';

// Enough connections that the concurrent writers really meet in the database, not in the pool.
let f: InventoryFixture;

beforeAll(async () => {
  f = await InventoryFixture.start(configWith({ DB_POOL_SIZE: '60' }));
});
afterAll(async () => {
  await f?.close();
});

const reserveOne = (channelId: string, sku: string, key = randomUUID()) =>
  gql(f.url, RESERVE, { input: { idempotencyKey: key, channelId, ttlSeconds: 600, lines: [{ sku, quantity: 1 }] } });

describe('stock races against the real database', () => {
  it('200 concurrent one-unit reservations against on-hand 50 with safety stock 5: exactly 45 succeed', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 50);
    await f.safetyStock(sku, loc, 5);

    const results = await Promise.all(Array.from({ length: 200 }, () => reserveOne(channel, sku)));
    expect(results.filter((r) => r.errors)).toEqual([]);
    const kinds = results.map((r) => r.data!.reserveStock.__typename);
    expect(kinds.filter((k) => k === 'Reservation')).toHaveLength(45);
    expect(kinds.filter((k) => k === 'InsufficientStock')).toHaveLength(155);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 50, reserved: 45, safety_stock: 5 });
    expect(await f.count('SELECT COUNT(*) AS n FROM reservation_lines WHERE sku = ?', [sku])).toBe(45);
  });

  it('sold reservations from any location racing live ones for the last units: every unit taken once, live ones never past the buffer', async () => {
    const [source, elsewhere] = [await f.location(), await f.location()];
    // Live buyers may take 6 of the source's 10 (a buffer of 4); a sale already made may take every unit, anywhere.
    const channel = await f.channel([source], { buffer: { kind: 'UNITS', value: 4 } });
    const sku = await f.item();
    await f.receive(sku, source, 10);
    await f.receive(sku, elsewhere, 5);
    const intake = { 'x-service-token': await serviceToken({ issuer: 'orders', scopes: ['orders:intake'] }) };
    const SOLD = `mutation($input: ReserveStockInput!) { reserveSoldStock(input: $input, anyLocation: true) { __typename } }`;
    const input = () => ({ idempotencyKey: randomUUID(), channelId: channel, ttlSeconds: 600, lines: [{ sku, quantity: 1 }] });
    const [live, sold] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => reserveOne(channel, sku))),
      Promise.all(Array.from({ length: 20 }, () => gql(f.url, SOLD, { input: input() }, intake))),
    ]);
    expect([...live, ...sold].filter((r) => r.errors)).toEqual([]);
    const won = (rs: typeof live, field: string) => rs.filter((r) => r.data![field].__typename === 'Reservation').length;
    // 40 buyers for 15 units: some sold ones lost, so every unit went, once.
    expect(won(live, 'reserveStock') + won(sold, 'reserveSoldStock')).toBe(15);
    expect(won(live, 'reserveStock')).toBeLessThanOrEqual(6);
    expect(await f.level(sku, source)).toMatchObject({ on_hand: 10, reserved: 10 });
    expect(await f.level(sku, elsewhere)).toMatchObject({ on_hand: 5, reserved: 5 });
  });

  it('50 concurrent reservations with one idempotency key create one reservation', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 10);
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 50 }, () => reserveOne(channel, sku, key)));
    expect(results.filter((r) => r.errors)).toEqual([]);
    const ids = new Set(results.map((r) => r.data!.reserveStock.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.data!.reserveStock.replayed)).toHaveLength(1);
    expect(await f.level(sku, loc)).toMatchObject({ reserved: 1 });
  });

  it('50 concurrent movements with one idempotency key create one movement', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 100);
    const input = { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 3 };
    const results = await Promise.all(Array.from({ length: 50 }, () => gql(f.url, MOVE, { input })));
    expect(results.filter((r) => r.errors)).toEqual([]);
    expect(await f.count('SELECT COUNT(*) AS n FROM stock_movements WHERE idempotency_key = ?', [input.idempotencyKey])).toBe(1);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 97 });
  });

  it('500 concurrent receipts and sales end at the arithmetic sum', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 1000);
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      idempotencyKey: randomUUID(),
      type: i % 2 ? 'SALE' : 'RECEIPT',
      sku,
      locationId: loc,
      quantity: (i % 7) + 1,
    }));
    const results = await Promise.all(inputs.map((input) => gql(f.url, MOVE, { input })));
    expect(results.filter((r) => r.errors)).toEqual([]);
    const expected = 1000 + inputs.reduce((acc, m) => acc + (m.type === 'RECEIPT' ? m.quantity : -m.quantity), 0);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: expected, version: 501 });
    // The ledger chains: each movement starts where the previous one (by version) ended.
    const rows: { quantity: number; on_hand_before: number; on_hand_after: number; version_after: number }[] = await f.ds.query(
      'SELECT quantity, on_hand_before, on_hand_after, version_after FROM stock_movements WHERE sku = ? ORDER BY version_after',
      [sku],
    );
    rows.forEach((r, i) => {
      expect(r.on_hand_after - r.on_hand_before).toBe(r.quantity);
      if (i > 0) expect(r.on_hand_before).toBe(rows[i - 1]!.on_hand_after);
    });
  });

  it('sales racing for the last units take what is there, the reserved unit included (the till sold it), never more', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 30);
    const reserved = await reserveOne(channel, sku);
    expect(reserved.data!.reserveStock.__typename).toBe('Reservation');
    const results = await Promise.all(
      Array.from({ length: 60 }, () => gql(f.url, MOVE, { input: { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 1 } })),
    );
    expect(results.filter((r) => r.errors && errorCode(r) !== 'INSUFFICIENT_STOCK').map((r) => r.errors)).toEqual([]);
    expect(results.filter((r) => !r.errors)).toHaveLength(30);
    expect(results.filter((r) => r.errors).every((r) => errorCode(r) === 'INSUFFICIENT_STOCK')).toBe(true);
    // The reservation is short now: the channel shows nothing, and on-hand never went below zero.
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 0, reserved: 1 });
  });

  it('reservations racing with an absolute cycle count never reserve stock the count did not leave', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 100);
    await f.safetyStock(sku, loc, 2);
    const count = { idempotencyKey: randomUUID(), type: 'CYCLE_COUNT', sku, locationId: loc, quantity: 40 };
    const reservations = Array.from({ length: 80 }, () => reserveOne(channel, sku));
    const [countResult, ...results] = await Promise.all([
      new Promise((r) => setTimeout(r, 5)).then(() => gql(f.url, MOVE, { input: count })),
      ...reservations,
    ]);
    expect(countResult.errors).toBeUndefined();
    const granted = results.filter((r) => r.data!.reserveStock.__typename === 'Reservation').length;
    const level = await f.level(sku, loc);
    expect(level.on_hand).toBe(40);
    expect(level.reserved).toBe(granted);
    // Replay the level's history in version order: every reservation was granted on stock that
    // existed then, so available (on-hand - reserved - safety) was never driven below zero by a reservation.
    const countVersion = (await f.ds.query('SELECT version_after FROM stock_movements WHERE idempotency_key = ?', [count.idempotencyKey]))[0]
      .version_after as number;
    const reservedBeforeCount = granted - (await reservedAfter(sku, loc, countVersion));
    const grantedAfterCount = granted - reservedBeforeCount;
    expect(grantedAfterCount).toBeLessThanOrEqual(Math.max(0, 40 - 2 - reservedBeforeCount));
    const available = await gql(f.url, `query($s: String!, $l: ID!) { stockLevel(sku: $s, locationId: $l) { available } }`, { s: sku, l: loc });
    expect(available.data!.stockLevel.available).toBeGreaterThanOrEqual(0);
  });

  it('a commit racing with a release and the expiry job: exactly one of them closes the reservation', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 5);
    const res = await gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), channelId: channel, ttlSeconds: 1, lines: [{ sku, quantity: 3 }] } });
    const id = res.data!.reserveStock.id;
    const commits = Array.from({ length: 10 }, () => gql(f.url, COMMIT, { input: { reservationId: id, idempotencyKey: randomUUID() } }));
    const releases = Array.from({ length: 10 }, () => gql(f.url, RELEASE, { id }));
    await Promise.all([...commits, ...releases, new ReservationService(f.ds).releaseExpired(10)]);
    const level = await f.level(sku, loc);
    const [row] = await f.ds.query('SELECT status FROM reservations WHERE id = ?', [id]);
    expect(level.reserved).toBe(0);
    if (row.status === 'COMMITTED') expect(level.on_hand).toBe(2);
    else expect(level.on_hand).toBe(5);
    expect(await f.count("SELECT COUNT(*) AS n FROM stock_movements WHERE reservation_id = ? AND type = 'FULFILMENT'", [id])).toBe(
      row.status === 'COMMITTED' ? 1 : 0,
    );
  });

  it('a commit and an extension begun before their reservation expired, let through after a reservation took its freed units: refused', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const EXTEND = `mutation($id: ID!, $t: Int) { extendReservation(id: $id, ttlSeconds: $t) { id } }`;
    for (const late of ['commit', 'extend'] as const) {
      const sku = await f.item();
      await f.receive(sku, loc, 10);
      const reserve = (quantity: number, ttlSeconds: number) => gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), channelId: channel, ttlSeconds, lines: [{ sku, quantity }] } });
      const { id, expiresAt } = (await reserve(3, 2)).data!.reserveStock as { id: string; expiresAt: string };
      // Held on the reservation's row: the request begins well before the expiry and goes on after it.
      const blocker = f.ds.createQueryRunner();
      await blocker.connect();
      await blocker.startTransaction();
      await blocker.query('SELECT id FROM reservations WHERE id = ? FOR UPDATE', [id]);
      const waiting = late === 'commit' ? gql(f.url, COMMIT, { input: { reservationId: id, idempotencyKey: randomUUID() } }) : gql(f.url, EXTEND, { id, t: 600 });
      await untilLockWait(f.ds);
      expect(Date.now(), 'began before the expiry').toBeLessThan(Date.parse(expiresAt));
      await sleep(Math.max(0, Date.parse(expiresAt) + 100 - Date.now()));
      // Past the expiry its 3 units are free again: a buyer takes all 10.
      const buyer = (await reserve(10, 600)).data!.reserveStock;
      expect(buyer.__typename).toBe('Reservation');
      await blocker.rollbackTransaction();
      await blocker.release();
      expect(errorCode(await waiting), late).toBe('CONFLICT');
      // The buyer ships all ten, and the expired reservation, released, held nothing more.
      expect((await gql(f.url, COMMIT, { input: { reservationId: buyer.id, idempotencyKey: randomUUID() } })).errors).toBeUndefined();
      // What the expiry job does with it (the same close, as an expired reservation).
      expect((await new ReservationService(f.ds).release(id, null)).status, late).toBe('EXPIRED');
      expect(await f.level(sku, loc), late).toMatchObject({ on_hand: 0, reserved: 0 });
    }
  });

  it('concurrent transfers out never send more than is available', async () => {
    const [from, to] = [await f.location(), await f.location()];
    const sku = await f.item();
    await f.receive(sku, from, 20);
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        gql(f.url, MOVE, { input: { idempotencyKey: randomUUID(), type: 'TRANSFER_OUT', sku, locationId: from, destinationLocationId: to, quantity: 1 } }),
      ),
    );
    expect(results.filter((r) => r.errors && errorCode(r) !== 'INSUFFICIENT_STOCK').map((r) => r.errors)).toEqual([]);
    expect(results.filter((r) => !r.errors)).toHaveLength(20);
    expect(await f.level(sku, from)).toMatchObject({ on_hand: 0 });
    expect(await f.level(sku, to)).toMatchObject({ on_hand: 0, incoming: 20 });
  });

  it('concurrent receipts of one transfer never receive more than was sent', async () => {
    const [from, to] = [await f.location(), await f.location()];
    const sku = await f.item();
    await f.receive(sku, from, 10);
    const out = await f.move({ type: 'TRANSFER_OUT', sku, locationId: from, destinationLocationId: to, quantity: 10 });
    const transferId = out.movement.transfer.id;
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        gql(f.url, MOVE, { input: { idempotencyKey: randomUUID(), type: 'TRANSFER_IN', sku, locationId: to, transferId, quantity: 1 } }),
      ),
    );
    expect(results.filter((r) => r.errors && errorCode(r) !== 'BAD_USER_INPUT').map((r) => r.errors)).toEqual([]);
    expect(results.filter((r) => !r.errors)).toHaveLength(10);
    expect(await f.level(sku, to)).toMatchObject({ on_hand: 10, incoming: 0 });
    const [t] = await f.ds.query('SELECT status, received_quantity FROM transfers WHERE id = ?', [transferId]);
    expect(t).toEqual({ status: 'RECEIVED', received_quantity: 10 });
  });

  it('concurrent applyReconciliation calls of one run racing movements on its SKUs: applied exactly once, no movement lost', async () => {
    const loc = await f.location();
    const [a, b, fresh] = [await f.item(), await f.item(), await f.item()];
    await f.receive(a, loc, 100);
    await f.receive(b, loc, 100);
    // `fresh` has no level yet: the count found 5 there, so applying the run creates it.
    const drift = new Map([[a, -10], [b, 15], [fresh, 5]]);
    const report = await gql(f.url, `mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) { id driftCount } }`, {
      input: { idempotencyKey: randomUUID(), source: 'erp:race', lines: [...drift].map(([sku, d]) => ({ sku, locationId: loc, onHand: (sku === fresh ? 0 : 100) + d })) },
    });
    const runId = report.data!.reconcileSnapshot.id as string;
    expect(report.data!.reconcileSnapshot.driftCount).toBe(3);

    const moves = Array.from({ length: 60 }, (_, i) => ({
      idempotencyKey: randomUUID(),
      type: i % 3 === 0 ? 'SALE' : 'RECEIPT',
      sku: [a, b, fresh][i % 3]!,
      locationId: loc,
      quantity: (i % 4) + 1,
    }));
    // fresh's sales would find no stock before its receipts: only receipts there.
    for (const m of moves) if (m.sku === fresh) m.type = 'RECEIPT';
    const APPLY = `mutation($id: ID!) { applyReconciliation(runId: $id) { applied replayed } }`;
    const [applies, moved] = await Promise.all([
      Promise.all(Array.from({ length: 12 }, () => gql(f.url, APPLY, { id: runId }))),
      Promise.all(moves.map((input) => gql(f.url, MOVE, { input }))),
    ]);
    expect([...applies, ...moved].filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(applies.filter((r) => !r.data!.applyReconciliation.replayed)).toHaveLength(1);
    expect(applies.every((r) => r.data!.applyReconciliation.applied)).toBe(true);

    for (const [sku, d] of drift) {
      const start = sku === fresh ? 0 : 100;
      const net = moves.filter((m) => m.sku === sku).reduce((acc, m) => acc + (m.type === 'RECEIPT' ? m.quantity : -m.quantity), 0);
      expect(await f.level(sku, loc)).toMatchObject({ on_hand: start + net + d });
      // One correction of the recorded drift, wherever it landed among the movements.
      const counts: { quantity: number }[] = await f.ds.query(`SELECT quantity FROM stock_movements WHERE sku = ? AND type = 'CYCLE_COUNT'`, [sku]);
      expect(counts).toEqual([{ quantity: d }]);
      // The ledger chains, the correction included.
      const rows: { on_hand_before: number; on_hand_after: number; quantity: number }[] = await f.ds.query(
        'SELECT quantity, on_hand_before, on_hand_after FROM stock_movements WHERE sku = ? ORDER BY version_after',
        [sku],
      );
      rows.forEach((r, i) => {
        expect(r.on_hand_after - r.on_hand_before).toBe(r.quantity);
        if (i > 0) expect(r.on_hand_before).toBe(rows[i - 1]!.on_hand_after);
      });
    }
    const cleared = await f.count(`SELECT COUNT(*) AS n FROM outbox_events WHERE topic = 'problem' AND event_key LIKE ? AND payload LIKE '%"state":"CLEARED"%'`, [`RECONCILIATION_DRIFT:${runId}:%`]);
    expect(cleared).toBe(3);
  });

  it('concurrent negative adjustments never take on-hand below zero', async () => {
    const loc = await f.location();
    const sku = await f.item();
    await f.receive(sku, loc, 12);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        gql(f.url, MOVE, { input: { idempotencyKey: randomUUID(), type: 'ADJUSTMENT', reason: 'SHRINKAGE', sku, locationId: loc, quantity: -1 } }),
      ),
    );
    expect(results.filter((r) => r.errors && errorCode(r) !== 'INSUFFICIENT_STOCK').map((r) => r.errors)).toEqual([]);
    expect(results.filter((r) => !r.errors)).toHaveLength(12);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 0 });
  });

  it('the expiry job releasing a reservation while writers of several levels wait on its level: its units are counted once', async () => {
    // A writer locks its levels in one statement, in key order: `first`, then `held`, where the
    // expired reservation is.
    const [first, held] = [await f.location(), await f.location()].sort((a, b) => (a < b ? -1 : 1));
    const channel = await f.channel([first, held]);
    const sku = await f.item();
    await f.receive(sku, first, 20);
    await f.receive(sku, held, 20);
    const reserve = (lines: { quantity: number; locationId: string }[], ttlSeconds: number) =>
      gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), channelId: channel, ttlSeconds, lines: lines.map((l) => ({ sku, ...l })) } });
    const expiring = await reserve([{ quantity: 6, locationId: held }], 1);
    expect(expiring.data!.reserveStock.__typename).toBe('Reservation');
    expect((await reserve([{ quantity: 14, locationId: held }], 600)).data!.reserveStock.__typename).toBe('Reservation');
    await new Promise((r) => setTimeout(r, 1100));
    // The 6 are expired, not yet released: 6 units of `held` are free. Hold `held` so that the
    // release and then the writers queue on it; each writer has locked `first` (and read what
    // reservations hold there) before the release commits.
    const blocker = f.ds.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query('SELECT version FROM stock_levels WHERE sku = ? AND location_id = ? FOR UPDATE', [sku, held]);
    // What the expiry job does with it: the same close, as an expired reservation.
    const release = new ReservationService(f.ds).release(expiring.data!.reserveStock.id, null);
    await new Promise((r) => setTimeout(r, 150));
    const greedy = reserve([{ quantity: 1, locationId: first }, { quantity: 7, locationId: held }], 600);
    const batch = gql(f.url, `mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { index error { code } } }`, {
      inputs: [first, held].map((locationId) => ({ idempotencyKey: randomUUID(), type: 'SALE', sku, locationId, quantity: 1 })),
    });
    await new Promise((r) => setTimeout(r, 300));
    await blocker.commitTransaction();
    await blocker.release();
    expect((await release).status).toBe('EXPIRED');
    // 7 asked of `held`, where 6 are free: never the 12 a second count of the released ones would show.
    expect((await greedy).data!.reserveStock.__typename).toBe('InsufficientStock');
    expect((await batch).data!.recordMovements.map((o: { error: unknown }) => o.error)).toEqual([null, null]);
    const level = await f.level(sku, held);
    expect(level).toMatchObject({ on_hand: 19, reserved: 14 });
    // The sale's stock event told what the level then held.
    const [last] = await f.ds.query('SELECT payload FROM outbox_events WHERE event_key = ? ORDER BY seq DESC LIMIT 1', [`${sku}:${held}`]);
    expect(JSON.parse(last.payload).after).toMatchObject({ onHand: 19, reserved: 14, available: 5 });
  });
});

/** Units reserved by reservations whose level change came after the given level version. */
async function reservedAfter(sku: string, locationId: string, version: number): Promise<number> {
  const rows: { payload: string }[] = await f.ds.query(
    "SELECT payload FROM outbox_events WHERE topic = 'stock' AND event_key = ? ORDER BY seq",
    [`${sku}:${locationId}`],
  );
  return rows
    .map((r) => JSON.parse(r.payload) as { change: string; version: number; before: { reserved: number }; after: { reserved: number } })
    .filter((e) => e.change === 'RESERVE' && e.version > version)
    .reduce((acc, e) => acc + e.after.reserved - e.before.reserved, 0);
}
