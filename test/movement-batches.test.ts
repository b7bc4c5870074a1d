import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configWith } from '../lib/config.js';
import { stockMovementStore } from '../subgraphs/inventory/data/stock-movement.store.js';
import { MovementService, type MovementOutcome } from '../subgraphs/inventory/services/movement.service.js';
import { gql } from './client.js';
import { InventoryFixture, RESERVE } from './inventory-fixture.js';

/**
 * #19 recordMovements commits a group of movements per transaction: every outcome, ledger line,
 * level and `stock` event must be what recording the movements one by one would have made.
 */
let f: InventoryFixture;

beforeAll(async () => {
  // Enough connections that concurrent batches and single writers really meet in the database.
  f = await InventoryFixture.start(configWith({ DB_POOL_SIZE: '40' }));
});
afterAll(async () => {
  await f?.close();
});

const BATCH = `mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) {
  index
  result { replayed movement { id type quantity onHandBefore onHandAfter damagedChange incomingChange versionAfter } stockLevel { onHand damaged incoming version } }
  error { code message }
} }`;

interface Outcome {
  index: number;
  result: {
    replayed: boolean;
    movement: { id: string; type: string; quantity: number; onHandBefore: number; onHandAfter: number; damagedChange: number; incomingChange: number; versionAfter: number };
    stockLevel: { onHand: number; damaged: number; incoming: number; version: number };
  } | null;
  error: { code: string; message: string } | null;
}

async function batch(inputs: Record<string, unknown>[]): Promise<Outcome[]> {
  const res = await gql(f.url, BATCH, { inputs });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.recordMovements;
}

/** An outcome as the comparison sees it: the movement's id stands for which line it is, so replays are compared by the line they name. */
function shapeOf(o: { result: MovementOutcome['result'] | Outcome['result']; error: { code: string } | null }, ids: Map<string, number>) {
  if (o.error) return { error: o.error.code };
  const r = o.result!;
  const m = r.movement;
  return {
    replayed: r.replayed,
    line: ids.get(m.id) ?? ids.set(m.id, ids.size).get(m.id),
    movement: [m.type, m.quantity, m.onHandBefore, m.onHandAfter, m.damagedChange, m.incomingChange, m.versionAfter],
    level: [r.stockLevel.onHand, r.stockLevel.damaged, r.stockLevel.incoming, r.stockLevel.version],
  };
}

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * `n` movements over the levels (sku index × location), as templates: `sku` is an index into a set of
 * SKUs, `key` an index into the run's keys (a repeated key is a retry or a reuse).
 */
function mixedMovements(n: number, locations: string[], spare: string, seed: number) {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const out: { key: number; sku: number; m: Record<string, unknown> }[] = [];
  for (let i = 0; i < n; i++) {
    const sku = int(0, 2);
    const locationId = rnd() < 0.03 ? spare : pick(locations);
    const r = rnd();
    let m: Record<string, unknown>;
    if (r < 0.3) m = { type: 'RECEIPT', quantity: int(1, 20) };
    else if (r < 0.62) m = { type: 'SALE', quantity: int(1, 15), occurredAt: new Date(Date.now() - int(0, 3_600_000)).toISOString() };
    else if (r < 0.66) m = { type: 'ADJUSTMENT', reason: 'SHRINKAGE', quantity: -int(1, 3) };
    else if (r < 0.69) m = { type: 'ADJUSTMENT', reason: 'FOUND', quantity: int(1, 3) };
    else if (r < 0.72) m = { type: 'ADJUSTMENT', reason: 'DAMAGE', quantity: -int(1, 2) };
    else if (r < 0.76) m = { type: 'RETURN', condition: pick(['RESALABLE', 'DAMAGED']), quantity: int(1, 2), reference: `ret-${i}` };
    else if (r < 0.79) m = { type: 'CYCLE_COUNT', quantity: int(0, 60) };
    else if (r < 0.81) m = { type: 'TRANSFER_OUT', quantity: int(1, 3), destinationLocationId: locations.find((l) => l !== locationId) ?? locations[0] };
    else if (r < 0.84) m = { type: 'SALE', quantity: 1, expectedVersion: int(0, 400) };
    else if (r < 0.85) m = { type: 'RECEIPT', quantity: 0 }; // BAD_USER_INPUT
    else m = { type: pick(['RECEIPT', 'SALE']), quantity: int(1, 6) };
    if (m.type === 'TRANSFER_OUT' && m.destinationLocationId === locationId) m = { type: 'RECEIPT', quantity: 1 };
    const entry = { key: i, sku, m: { ...m, locationId } };
    // A retry of an earlier movement (same request) or its key reused for another request.
    if (i > 0 && rnd() < 0.03) {
      const earlier = out[int(Math.max(0, i - 600), i - 1)]!;
      out.push(rnd() < 0.6 ? { ...earlier } : { ...earlier, m: { ...earlier.m, quantity: (earlier.m.quantity as number) + 1, type: 'RECEIPT' } });
      continue;
    }
    out.push(entry);
  }
  return out;
}

async function ledgerOf(sku: string, locationId: string) {
  return f.ds.query(
    `SELECT type, reason, quantity, reference, on_hand_before, on_hand_after, damaged_change, incoming_change, version_after, occurred_at
       FROM stock_movements WHERE sku = ? AND location_id = ? ORDER BY seq`,
    [sku, locationId],
  );
}

async function eventsOf(sku: string, locationId: string) {
  const rows: { payload: string }[] = await f.ds.query("SELECT payload FROM outbox_events WHERE topic = 'stock' AND event_key = ? ORDER BY seq", [`${sku}:${locationId}`]);
  return rows.map((r) => {
    const { at: _at, sku: _sku, ...rest } = JSON.parse(r.payload) as Record<string, unknown>;
    return rest;
  });
}

describe('recordMovements in groups', () => {
  it('a batch of 1,000 mixed movements over a few levels ends exactly as the same movements recorded one by one', async () => {
    const locations = [await f.location(), await f.location()];
    const spare = await f.location(); // no level yet: sales there are refused and leave none, receipts create it
    const sets = { batch: [await f.item(), await f.item(), await f.item()], grouped: [await f.item(), await f.item(), await f.item()], single: [await f.item(), await f.item(), await f.item()] };
    const run = randomUUID();
    const service = new MovementService(f.ds);
    for (const skus of Object.values(sets)) for (const sku of skus) for (const loc of locations) await service.record({ idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 40 }, null);
    const templates = mixedMovements(1000, locations, spare, 19);
    const inputsOf = (set: keyof typeof sets): Record<string, unknown>[] => templates.map((t) => ({ idempotencyKey: `${run}-${set}-${t.key}`, sku: sets[set][t.sku], ...t.m }));
    // The service takes what the API's scalars make of the input: times as Dates.
    const parsedInputsOf = (set: keyof typeof sets) => inputsOf(set).map((i: Record<string, unknown>) => ({ ...i, occurredAt: i.occurredAt ? new Date(i.occurredAt as string) : undefined }));

    // Through the API, one call; through the service with groups of 7 (group edges among duplicates and transfers); one by one with record().
    const batched = await batch(inputsOf('batch'));
    const grouped = await new MovementService(f.ds, { groupSize: 7 }).recordMany(parsedInputsOf('grouped'), null);
    const single: { result: MovementOutcome['result']; error: { code: string } | null }[] = [];
    for (const input of parsedInputsOf('single')) {
      try {
        single.push({ result: await service.record(input, null), error: null });
      } catch (err) {
        single.push({ result: null, error: { code: (err as { code: string }).code } });
      }
    }

    const shapes = (os: { result: MovementOutcome['result'] | Outcome['result']; error: { code: string } | null }[]) => {
      const ids = new Map<string, number>();
      return os.map((o) => shapeOf(o, ids));
    };
    const expected = shapes(single);
    expect(batched.map((o) => o.index)).toEqual(templates.map((_, i) => i));
    expect(shapes(batched)).toEqual(expected);
    expect(shapes(grouped)).toEqual(expected);
    // The mix really has every kind of outcome.
    const codes = new Set(expected.map((e) => ('error' in e ? e.error : e.replayed ? 'replayed' : 'applied')));
    expect([...codes].sort()).toEqual(['BAD_USER_INPUT', 'CONFLICT', 'INSUFFICIENT_STOCK', 'applied', 'replayed']);

    for (let i = 0; i < 3; i++) {
      for (const loc of [...locations, spare]) {
        const [b, g, s] = [sets.batch[i]!, sets.grouped[i]!, sets.single[i]!];
        const ledger = await ledgerOf(s, loc);
        expect(await ledgerOf(b, loc)).toEqual(ledger);
        expect(await ledgerOf(g, loc)).toEqual(ledger);
        const events = await eventsOf(s, loc);
        expect(await eventsOf(b, loc)).toEqual(events);
        expect(await eventsOf(g, loc)).toEqual(events);
        const level = await f.level(s, loc);
        expect(await f.level(b, loc)).toEqual(level);
        expect(await f.level(g, loc)).toEqual(level);
      }
    }
  }, 120_000);

  it('a refused movement in the middle leaves its neighbours applied', async () => {
    const code = `BT-${randomUUID().slice(0, 6).toUpperCase()}`;
    const [loc, empty] = [await f.location({ code }), await f.location()];
    const [sku, other] = [await f.item(), await f.item()];
    await f.receive(sku, loc, 10);
    const version = (await f.level(sku, loc)).version;
    const k = () => randomUUID();
    const out = await batch([
      { idempotencyKey: k(), type: 'RECEIPT', sku, locationId: loc, quantity: 5 },
      { idempotencyKey: k(), type: 'SALE', sku, locationId: loc, quantity: 16 }, // 15 there
      { idempotencyKey: k(), type: 'SALE', sku: 'NO-SUCH-SKU', locationId: loc, quantity: 1 },
      { idempotencyKey: k(), type: 'SALE', sku, locationId: randomUUID(), quantity: 1 },
      { idempotencyKey: k(), type: 'RECEIPT', sku, locationId: loc, quantity: 0 },
      { idempotencyKey: k(), type: 'CYCLE_COUNT', sku, locationId: loc, quantity: 3, expectedVersion: version },
      { idempotencyKey: k(), type: 'SALE', sku: other, locationId: empty, quantity: 1 }, // no level: refused, none created
      { idempotencyKey: k(), type: 'RECEIPT', sku: other, locationId: loc, quantity: 1_000_000_000 },
      { idempotencyKey: k(), type: 'RECEIPT', sku: other, locationId: loc, quantity: 1_000_000_000 },
      { idempotencyKey: k(), type: 'RECEIPT', sku: other, locationId: loc, quantity: 1_000_000_000 }, // past the INT column
      { idempotencyKey: k(), type: 'SALE', sku, locationId: loc, quantity: 15 },
    ]);
    expect(out.map((o) => o.error?.code ?? o.result!.stockLevel.onHand)).toEqual([
      15,
      'INSUFFICIENT_STOCK',
      'NOT_FOUND',
      'NOT_FOUND',
      'BAD_USER_INPUT',
      'CONFLICT',
      'INSUFFICIENT_STOCK',
      1_000_000_000,
      2_000_000_000,
      'CONFLICT',
      0,
    ]);
    // Refusals read as record() words them, the location named by its code.
    expect(out[1]!.error!.message).toBe(`Not enough stock of ${sku} at ${code} (${loc}): 15 available, 16 requested`);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 0, version: version + 2 });
    expect(await f.level(other, loc)).toMatchObject({ on_hand: 2_000_000_000, version: 2 });
    expect(await f.count('SELECT COUNT(*) AS n FROM stock_levels WHERE sku = ? AND location_id = ?', [other, empty])).toBe(0);
    expect(await f.count('SELECT COUNT(*) AS n FROM stock_movements WHERE sku IN (?, ?)', [sku, other])).toBe(1 + 2 + 2);
  });

  it('a refused movement on a level it would create leaves no level, while a receipt in the same group creates its own', async () => {
    const [loc, fresh] = [await f.location(), await f.location()];
    const sku = await f.item();
    const out = await batch([
      { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 1 },
      { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: fresh, quantity: 4 },
    ]);
    expect(out.map((o) => o.error?.code ?? o.result!.stockLevel.version)).toEqual(['INSUFFICIENT_STOCK', 1]);
    expect(await f.count('SELECT COUNT(*) AS n FROM stock_levels WHERE sku = ?', [sku])).toBe(1);
    expect(await f.level(sku, fresh)).toMatchObject({ on_hand: 4, version: 1 });
  });

  it('a key twice in one batch replays its first answer (CONFLICT for another request), and so does it in a later batch', async () => {
    const loc = await f.location();
    const sku = await f.item();
    const [k1, k2, k3] = [randomUUID(), randomUUID(), randomUUID()];
    const receipt = { idempotencyKey: k1, type: 'RECEIPT', sku, locationId: loc, quantity: 5 };
    const first = await batch([
      receipt,
      { idempotencyKey: k2, type: 'RECEIPT', sku, locationId: loc, quantity: 1 },
      receipt,
      { ...receipt, quantity: 6 },
    ]);
    expect(first.map((o) => o.error?.code ?? [o.result!.replayed, o.result!.stockLevel.onHand])).toEqual([[false, 5], [false, 6], [true, 6], 'CONFLICT']);
    expect(first[2]!.result!.movement).toEqual(first[0]!.result!.movement);
    const second = await batch([
      { idempotencyKey: k3, type: 'SALE', sku, locationId: loc, quantity: 2 },
      receipt,
      { idempotencyKey: k2, type: 'SALE', sku, locationId: loc, quantity: 1 },
    ]);
    expect(second.map((o) => o.error?.code ?? [o.result!.replayed, o.result!.stockLevel.onHand])).toEqual([[false, 4], [true, 4], 'CONFLICT']);
    expect(second[1]!.result!.movement).toEqual(first[0]!.result!.movement);
    expect(await f.count('SELECT COUNT(*) AS n FROM stock_movements WHERE sku = ?', [sku])).toBe(3);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 4, version: 3 });
  });

  it('a group whose transaction fails (a key recorded meanwhile by another request) is recorded again one movement at a time', async () => {
    const loc = await f.location();
    const sku = await f.item();
    const service = new MovementService(f.ds);
    const receipt = { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 5 };
    await service.record(receipt, null);
    // The group does not see the key (as if it was recorded after the group looked): its ledger insert hits the unique key.
    const lookup = vi.spyOn(stockMovementStore, 'findByIdempotencyKeys').mockResolvedValueOnce([]);
    try {
      const out = await service.recordMany(
        [
          { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 2 },
          receipt,
          { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 9 },
          { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 1 },
        ],
        null,
      );
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(out.map((o) => o.error?.code ?? [o.result!.replayed, o.result!.stockLevel.onHand, o.result!.stockLevel.version])).toEqual([
        [false, 3, 2],
        [true, 3, 2],
        'INSUFFICIENT_STOCK',
        [false, 4, 3],
      ]);
    } finally {
      lookup.mockRestore();
    }
    // Nothing of the failed group's transaction was kept: one line and one event per applied movement.
    expect(await f.count('SELECT COUNT(*) AS n FROM stock_movements WHERE sku = ?', [sku])).toBe(3);
    expect(await f.count('SELECT COUNT(*) AS n FROM outbox_events WHERE event_key = ?', [`${sku}:${loc}`])).toBe(3);
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 4, version: 3 });
  });

  it('concurrent batches over the same levels, with reservations and single movements racing them, never oversell or fail, and on-hand is the ledger sum', async () => {
    const locations = [await f.location(), await f.location()];
    const channel = await f.channel(locations);
    const skus = [await f.item(), await f.item(), await f.item(), await f.item()];
    for (const sku of skus) for (const loc of locations) await f.receive(sku, loc, 150);
    const rnd = random(7);
    const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    const movement = () => {
      const r = rnd();
      const base = { idempotencyKey: randomUUID(), sku: skus[int(0, 3)]!, locationId: locations[int(0, 1)]! };
      if (r < 0.4) return { ...base, type: 'RECEIPT', quantity: int(1, 8) };
      if (r < 0.9) return { ...base, type: 'SALE', quantity: int(1, 10) };
      return { ...base, type: 'ADJUSTMENT', reason: 'SHRINKAGE', quantity: -int(1, 3) };
    };
    const batches = Array.from({ length: 3 }, () => Array.from({ length: 1000 }, movement));
    // The third batch also retries 100 movements of the first while the first may still be running.
    batches[2]!.splice(300, 100, ...batches[0]!.slice(0, 100));
    const singles = Array.from({ length: 120 }, movement);
    const [outs, moved, reserved] = await Promise.all([
      Promise.all(batches.map((b) => gql(f.url, BATCH, { inputs: b }))),
      Promise.all(singles.map((input) => gql(f.url, `mutation($input: StockMovementInput!) { recordMovement(input: $input) { replayed } }`, { input }))),
      Promise.all(
        Array.from({ length: 120 }, () =>
          gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), channelId: channel, ttlSeconds: 600, lines: [{ sku: skus[int(0, 3)], quantity: int(1, 4) }] } }),
        ),
      ),
    ]);
    // Every outcome is the movement's own: applied, replayed, or refused for want of stock; no deadlock, nothing unexpected.
    expect(outs.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    const outcomes = outs.flatMap((r) => r.data!.recordMovements as Outcome[]);
    expect(outcomes).toHaveLength(3000);
    expect(outcomes.filter((o) => o.error && o.error.code !== 'INSUFFICIENT_STOCK').map((o) => o.error)).toEqual([]);
    expect(moved.filter((r) => r.errors && r.errors[0]!.extensions!.code !== 'INSUFFICIENT_STOCK').map((r) => r.errors)).toEqual([]);
    expect(reserved.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(reserved.filter((r) => r.data!.reserveStock.__typename === 'Reservation').length).toBeGreaterThan(0);
    // The retried movements were recorded once: of the two answers, at most one applied it, the other replayed it.
    for (let i = 0; i < 100; i++) {
      const answers = [outcomes[i]!, outcomes[2000 + 300 + i]!].filter((o) => o.result);
      const applied = answers.filter((o) => !o.result!.replayed);
      expect(applied.length).toBe(answers.length ? 1 : 0);
      expect(await f.count('SELECT COUNT(*) AS n FROM stock_movements WHERE idempotency_key = ?', [batches[0]![i]!.idempotencyKey])).toBe(applied.length);
    }

    for (const sku of skus) {
      for (const loc of locations) {
        const level = await f.level(sku, loc);
        const [sum] = await f.ds.query('SELECT COALESCE(SUM(quantity), 0) AS n FROM stock_movements WHERE sku = ? AND location_id = ?', [sku, loc]);
        expect(level.on_hand).toBe(Number(sum.n));
        const [held] = await f.ds.query(
          'SELECT COALESCE(SUM(quantity - committed_quantity - released_quantity), 0) AS n FROM reservation_lines WHERE sku = ? AND location_id = ? AND open = 1',
          [sku, loc],
        );
        expect(level.reserved).toBe(Number(held.n));
        // Every change is one event with the next version, and none took stock that was not there.
        const events = (await eventsOf(sku, loc)) as { change: string; version: number; before: { onHand: number; reserved: number }; after: { onHand: number; reserved: number; available: number } }[];
        expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
        expect(level.version).toBe(events.length);
        for (const [i, e] of events.entries()) {
          if (i > 0) expect(e.before.onHand).toBe(events[i - 1]!.after.onHand);
          expect(e.after.onHand).toBeGreaterThanOrEqual(0);
          if (e.change === 'RESERVE') expect(e.after.onHand - e.after.reserved).toBeGreaterThanOrEqual(0);
        }
        // The ledger chains in version order.
        const rows: { quantity: number; on_hand_before: number; on_hand_after: number }[] = await f.ds.query(
          'SELECT quantity, on_hand_before, on_hand_after FROM stock_movements WHERE sku = ? AND location_id = ? ORDER BY version_after',
          [sku, loc],
        );
        rows.forEach((r, i) => {
          expect(r.on_hand_after - r.on_hand_before).toBe(r.quantity);
          if (i > 0) expect(r.on_hand_before).toBe(rows[i - 1]!.on_hand_after);
        });
      }
    }
  }, 120_000);
});
