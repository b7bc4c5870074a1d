import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stockLevelStore } from '../subgraphs/inventory/data/stock-level.store.js';
import { ReservationService } from '../subgraphs/inventory/services/reservation.service.js';
import { errorCode, gql, serviceToken } from './client.js';
import { waitFor } from './events.js';
import { AVAILABILITY, COMMIT, InventoryFixture, MOVE, RELEASE, RESERVE } from './inventory-fixture.js';

let f: InventoryFixture;

beforeAll(async () => {
  f = await InventoryFixture.start();
});
afterAll(async () => {
  await f?.close();
});

const reserve = (input: Record<string, unknown>) => gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), ttlSeconds: 600, ...input } });
const move = (input: Record<string, unknown>) => gql(f.url, MOVE, { input: { idempotencyKey: randomUUID(), ...input } });

describe('movements', () => {
  it('applies each movement type to the right quantity and records it in the ledger', async () => {
    const [a, b] = [await f.location(), await f.location()];
    const sku = await f.item();
    await f.receive(sku, a, 50);
    expect((await f.move({ type: 'SALE', sku, locationId: a, quantity: 5 })).stockLevel.onHand).toBe(45);
    expect((await f.move({ type: 'RETURN', condition: 'RESALABLE', sku, locationId: a, quantity: 2 })).stockLevel.onHand).toBe(47);
    const damagedReturn = await f.move({ type: 'RETURN', condition: 'DAMAGED', sku, locationId: a, quantity: 1 });
    expect(damagedReturn.stockLevel).toMatchObject({ onHand: 47, damaged: 1 });
    const damage = await f.move({ type: 'ADJUSTMENT', reason: 'DAMAGE', sku, locationId: a, quantity: -3 });
    expect(damage.stockLevel).toMatchObject({ onHand: 44, damaged: 4, available: 44 });
    expect(damage.movement).toMatchObject({ reason: 'DAMAGE', quantity: -3, damagedChange: 3 });
    expect((await f.move({ type: 'ADJUSTMENT', reason: 'FOUND', sku, locationId: a, quantity: 6 })).stockLevel.onHand).toBe(50);
    const count = await f.move({ type: 'CYCLE_COUNT', sku, locationId: a, quantity: 48 });
    expect(count.movement).toMatchObject({ type: 'CYCLE_COUNT', reason: 'CYCLE_COUNT', quantity: -2, onHandBefore: 50, onHandAfter: 48 });

    const out = await f.move({ type: 'TRANSFER_OUT', sku, locationId: a, destinationLocationId: b, quantity: 8 });
    expect(out.stockLevel.onHand).toBe(40);
    expect(out.movement.transfer).toMatchObject({ status: 'IN_TRANSIT', quantity: 8, receivedQuantity: 0 });
    expect(await f.level(sku, b)).toMatchObject({ on_hand: 0, incoming: 8 });
    const partIn = await f.move({ type: 'TRANSFER_IN', sku, locationId: b, transferId: out.movement.transfer.id, quantity: 5 });
    expect(partIn.stockLevel).toMatchObject({ onHand: 5, incoming: 3 });
    const restIn = await f.move({ type: 'TRANSFER_IN', sku, locationId: b, transferId: out.movement.transfer.id, quantity: 3 });
    expect(restIn.movement.transfer).toMatchObject({ status: 'RECEIVED', receivedQuantity: 8 });

    const ledger = await gql(
      f.url,
      `query($s: String!, $l: ID!, $after: String) { stockMovements(sku: $s, locationId: $l, first: 4, after: $after) {
         edges { node { type quantity onHandAfter sequence } } pageInfo { hasNextPage endCursor } } }`,
      { s: sku, l: a },
    );
    const page1 = ledger.data!.stockMovements;
    expect(page1.edges.map((e: any) => e.node.type)).toEqual(['RECEIPT', 'SALE', 'RETURN', 'RETURN']);
    const page2 = await gql(
      f.url,
      `query($s: String!, $l: ID!, $after: String) { stockMovements(sku: $s, locationId: $l, first: 10, after: $after) { edges { node { type } } pageInfo { hasNextPage } } }`,
      { s: sku, l: a, after: page1.pageInfo.endCursor },
    );
    expect(page2.data!.stockMovements.edges.map((e: any) => e.node.type)).toEqual(['ADJUSTMENT', 'ADJUSTMENT', 'CYCLE_COUNT', 'TRANSFER_OUT']);
  });

  it('refuses a compare-and-set against a stale version or on-hand with CONFLICT and the current values', async () => {
    const loc = await f.location();
    const sku = await f.item();
    const first = await f.receive(sku, loc, 10);
    const stale = await move({ type: 'CYCLE_COUNT', sku, locationId: loc, quantity: 7, expectedVersion: first.stockLevel.version - 1 });
    expect(errorCode(stale)).toBe('CONFLICT');
    expect(stale.errors![0]!.extensions).toMatchObject({ currentVersion: first.stockLevel.version, currentOnHand: 10 });
    expect(errorCode(await move({ type: 'ADJUSTMENT', reason: 'CORRECTION', sku, locationId: loc, quantity: -1, expectedOnHand: 9 }))).toBe('CONFLICT');
    const ok = await move({ type: 'CYCLE_COUNT', sku, locationId: loc, quantity: 7, expectedVersion: first.stockLevel.version, expectedOnHand: 10 });
    expect(ok.data!.recordMovement.stockLevel.onHand).toBe(7);
  });

  it('records a batch with one outcome per movement, refusals included', async () => {
    const loc = await f.location();
    const sku = await f.item();
    const res = await gql(
      f.url,
      `mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { index result { stockLevel { onHand } } error { code } } }`,
      {
        inputs: [
          { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 5 },
          { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 9 },
          { idempotencyKey: randomUUID(), type: 'SALE', sku: 'NO-SUCH-SKU', locationId: loc, quantity: 1 },
          { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: loc, quantity: 2 },
        ],
      },
    );
    expect(res.data!.recordMovements).toEqual([
      { index: 0, result: { stockLevel: { onHand: 5 } }, error: null },
      { index: 1, result: null, error: { code: 'INSUFFICIENT_STOCK' } },
      { index: 2, result: null, error: { code: 'NOT_FOUND' } },
      { index: 3, result: { stockLevel: { onHand: 3 } }, error: null },
    ]);
    const tooMany = Array.from({ length: 1001 }, () => ({ idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: loc, quantity: 1 }));
    const refused = await gql(f.url, `mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { index } }`, { inputs: tooMany });
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(await f.level(sku, loc)).toMatchObject({ on_hand: 3 });
  });

  describe('bad input writes nothing', () => {
    it.each([
      ['a zero quantity', { type: 'RECEIPT', quantity: 0 }, 'BAD_USER_INPUT'],
      ['a negative receipt', { type: 'RECEIPT', quantity: -2 }, 'BAD_USER_INPUT'],
      ['a quantity over 1,000,000,000', { type: 'RECEIPT', quantity: 1_000_000_001 }, 'BAD_USER_INPUT'],
      ['an adjustment without a reason', { type: 'ADJUSTMENT', quantity: 1 }, 'BAD_USER_INPUT'],
      ['shrinkage with a positive quantity', { type: 'ADJUSTMENT', reason: 'SHRINKAGE', quantity: 1 }, 'BAD_USER_INPUT'],
      ['a return without condition', { type: 'RETURN', quantity: 1 }, 'BAD_USER_INPUT'],
      ['a transfer without destination', { type: 'TRANSFER_OUT', quantity: 1 }, 'BAD_USER_INPUT'],
      ['a transfer receipt without transfer', { type: 'TRANSFER_IN', quantity: 1 }, 'BAD_USER_INPUT'],
      ['a FULFILMENT', { type: 'FULFILMENT', quantity: 1 }, 'BAD_USER_INPUT'],
      ['an unknown location', { type: 'RECEIPT', quantity: 1, locationId: randomUUID() }, 'NOT_FOUND'],
      ['an unknown transfer', { type: 'TRANSFER_IN', quantity: 1, transferId: randomUUID() }, 'NOT_FOUND'],
      ['a sale beyond on-hand', { type: 'SALE', quantity: 11 }, 'INSUFFICIENT_STOCK'],
    ])('refuses %s', async (_name, overrides, code) => {
      const loc = await f.location();
      const sku = await f.item();
      await f.receive(sku, loc, 10);
      const res = await move({ sku, locationId: loc, ...overrides });
      expect(errorCode(res)).toBe(code);
      expect(await f.count('SELECT COUNT(*) AS n FROM stock_movements WHERE sku = ?', [sku])).toBe(1);
      expect(await f.count('SELECT COUNT(*) AS n FROM outbox_events WHERE event_key LIKE ?', [`${sku}:%`])).toBe(1);
      expect(await f.level(sku, loc)).toMatchObject({ on_hand: 10, version: 1 });
    });
  });
});

describe('refusals name locations by code', () => {
  it('an INSUFFICIENT_STOCK refusal names the location by its code beside its id, in the message and on the line', async () => {
    const code = `STR-${randomUUID().slice(0, 6).toUpperCase()}`;
    const loc = await f.location({ code });
    const sku = await f.item();
    await f.receive(sku, loc, 3);
    const res = await move({ type: 'SALE', sku, locationId: loc, quantity: 5 });
    expect(errorCode(res)).toBe('INSUFFICIENT_STOCK');
    expect(res.errors![0]!.message).toBe(`Not enough stock of ${sku} at ${code} (${loc}): 3 available, 5 requested`);
    expect(res.errors![0]!.extensions!.lines).toEqual([{ sku, locationId: loc, locationCode: code, requested: 5, available: 3 }]);
  });
});

describe('availability and reservations', () => {
  async function estate(rule: Record<string, unknown> = {}) {
    const [dc, store, offline] = [await f.location({ pickup: false }), await f.location(), await f.location({ status: 'OFFLINE' })];
    const channel = await f.channel([dc, store, offline], rule);
    const sku = await f.item();
    await f.receive(sku, dc, 30);
    await f.receive(sku, store, 10);
    await f.receive(sku, offline, 100);
    return { dc, store, offline, channel, sku };
  }

  it('answers a channel’s available-to-sell: active sources only, less the buffer, within the cap', async () => {
    const e = await estate({ buffer: { kind: 'PERCENT', value: 10 }, cap: 35 });
    await f.safetyStock(e.sku, e.store, 2);
    const res = await gql(f.url, AVAILABILITY, { c: e.channel, skus: [e.sku, 'NO-SUCH-SKU'] });
    expect(res.errors).toBeUndefined();
    const [a, unknown] = res.data!.availability;
    // (30 + 8) - ceil(3.8) = 34, under the cap of 35; the offline location's 100 count for nothing.
    expect(a).toMatchObject({ availableToSell: 34, status: 'IN_STOCK' });
    expect(a.locations.map((l: any) => [l.location.id, l.available, l.pickup])).toEqual([
      [e.dc, 30, false],
      [e.store, 8, true],
    ]);
    expect(unknown).toBeNull();
    const capped = await estate({ cap: 3 });
    expect((await gql(f.url, AVAILABILITY, { c: capped.channel, skus: [capped.sku] })).data!.availability[0]).toMatchObject({
      availableToSell: 3,
      status: 'LOW_STOCK',
    });
    expect(errorCode(await gql(f.url, AVAILABILITY, { c: randomUUID(), skus: [e.sku] }))).toBe('NOT_FOUND');
  });

  it('places an unpinned line by source priority, splitting when the rule allows', async () => {
    const e = await estate();
    const res = await reserve({ channelId: e.channel, lines: [{ sku: e.sku, quantity: 35 }] });
    const r = res.data!.reserveStock;
    expect(r.__typename).toBe('Reservation');
    expect(r.lines.map((l: any) => [l.location.id, l.quantity])).toEqual(
      [[e.dc, 30], [e.store, 5]].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    const noSplit = await estate({ allowSplitShipments: false });
    const short = await reserve({ channelId: noSplit.channel, lines: [{ sku: noSplit.sku, quantity: 35 }] });
    expect(short.data!.reserveStock).toEqual({
      __typename: 'InsufficientStock',
      lines: [{ sku: noSplit.sku, locationId: null, requested: 35, available: 30 }],
    });
  });

  it('holds every line or none, naming each short line', async () => {
    const e = await estate({ buffer: { kind: 'UNITS', value: 5 } });
    const other = await f.item();
    await f.receive(other, e.store, 10);
    const res = await reserve({ channelId: e.channel, lines: [{ sku: e.sku, quantity: 10 }, { sku: other, quantity: 1 }, { sku: e.sku, locationId: e.store, quantity: 11 }] });
    expect(res.data!.reserveStock).toEqual({
      __typename: 'InsufficientStock',
      lines: [{ sku: e.sku, locationId: e.store, requested: 11, available: 10 }],
    });
    expect(await f.count('SELECT COUNT(*) AS n FROM reservation_lines WHERE sku IN (?, ?)', [e.sku, other])).toBe(0);
    expect(await f.level(e.sku, e.dc)).toMatchObject({ reserved: 0 });
    expect(await f.level(other, e.store)).toMatchObject({ reserved: 0 });
  });

  it('reserves a pickup order at the pickup location only, and refuses one that offers no pickup', async () => {
    const e = await estate();
    const ok = await reserve({ channelId: e.channel, pickupLocationId: e.store, lines: [{ sku: e.sku, quantity: 10 }] });
    expect(ok.data!.reserveStock.lines.map((l: any) => l.location.id)).toEqual([e.store]);
    const short = await reserve({ channelId: e.channel, pickupLocationId: e.store, lines: [{ sku: e.sku, quantity: 1 }] });
    expect(short.data!.reserveStock.__typename).toBe('InsufficientStock');
    expect(errorCode(await reserve({ channelId: e.channel, pickupLocationId: e.dc, lines: [{ sku: e.sku, quantity: 1 }] }))).toBe('BAD_USER_INPUT');
  });

  it('commits part, then the rest, then replays; on-hand and reserved drop by what ships', async () => {
    const e = await estate();
    const r = (await reserve({ channelId: e.channel, lines: [{ sku: e.sku, quantity: 4, locationId: e.store }] })).data!.reserveStock;
    const key = randomUUID();
    const part = await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: key, lines: [{ sku: e.sku, quantity: 3 }] } });
    expect(part.data!.commitReservation).toMatchObject({ status: 'ACTIVE', lines: [{ committedQuantity: 3, openQuantity: 1 }] });
    expect(await f.level(e.sku, e.store)).toMatchObject({ on_hand: 7, reserved: 1 });
    const replay = await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: key, lines: [{ sku: e.sku, quantity: 3 }] } });
    expect(replay.data!.commitReservation.replayed).toBe(true);
    expect(await f.level(e.sku, e.store)).toMatchObject({ on_hand: 7, reserved: 1 });
    const over = await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: randomUUID(), lines: [{ sku: e.sku, quantity: 2 }] } });
    expect(errorCode(over)).toBe('BAD_USER_INPUT');
    const rest = await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: randomUUID() } });
    expect(rest.data!.commitReservation).toMatchObject({ status: 'COMMITTED', lines: [{ committedQuantity: 4, openQuantity: 0 }] });
    expect(await f.level(e.sku, e.store)).toMatchObject({ on_hand: 6, reserved: 0 });
    expect(await f.count("SELECT COUNT(*) AS n FROM stock_movements WHERE reservation_id = ? AND type = 'FULFILMENT'", [r.id])).toBe(2);
  });


  it('records a till sale that takes units held for an order: the channel shows 0, and the short order cannot ship what is gone', async () => {
    const e = await estate();
    const r = (await reserve({ channelId: e.channel, lines: [{ sku: e.sku, quantity: 8, locationId: e.store }] })).data!.reserveStock;
    // The store sold 5 of its 10 at the till while 8 were held for the order; the POS reports it later.
    const sale = await f.move({ type: 'SALE', sku: e.sku, locationId: e.store, quantity: 5 });
    expect(sale.stockLevel).toMatchObject({ onHand: 5, reserved: 8, available: 0 });
    const store = (await gql(f.url, AVAILABILITY, { c: e.channel, skus: [e.sku] })).data!.availability[0].locations.find((l: { location: { id: string } }) => l.location.id === e.store);
    expect(store.available).toBe(0);
    const ship = await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: randomUUID() } });
    expect(errorCode(ship)).toBe('INSUFFICIENT_STOCK');
    expect(await f.level(e.sku, e.store)).toMatchObject({ on_hand: 5, reserved: 8 });
    expect(errorCode(await move({ type: 'SALE', sku: e.sku, locationId: e.store, quantity: 6 }))).toBe('INSUFFICIENT_STOCK');
  });
  it('releases once; a second release changes nothing', async () => {
    const e = await estate();
    const r = (await reserve({ channelId: e.channel, lines: [{ sku: e.sku, quantity: 6 }] })).data!.reserveStock;
    const first = await gql(f.url, RELEASE, { id: r.id });
    expect(first.data!.releaseReservation).toMatchObject({ status: 'RELEASED', lines: [{ releasedQuantity: 6, openQuantity: 0 }] });
    const second = await gql(f.url, RELEASE, { id: r.id });
    expect(second.data!.releaseReservation.status).toBe('RELEASED');
    expect(await f.level(e.sku, e.dc)).toMatchObject({ reserved: 0 });
    expect(errorCode(await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: randomUUID() } }))).toBe('CONFLICT');
  });

  it('stops counting a reservation at its expiry, before the expiry job runs, and the job then releases it', async () => {
    const e = await estate();
    const r = (await reserve({ channelId: e.channel, ttlSeconds: 1, lines: [{ sku: e.sku, quantity: 30, locationId: e.dc }] })).data!.reserveStock;
    const held = await gql(f.url, AVAILABILITY, { c: e.channel, skus: [e.sku] });
    expect(held.data!.availability[0].availableToSell).toBe(10);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await gql(f.url, AVAILABILITY, { c: e.channel, skus: [e.sku] });
    expect(after.data!.availability[0].availableToSell).toBe(40);
    // The counter still holds the units until the job runs, yet a new reservation can take them.
    expect(await f.level(e.sku, e.dc)).toMatchObject({ reserved: 30 });
    const again = await reserve({ channelId: e.channel, lines: [{ sku: e.sku, quantity: 30, locationId: e.dc }] });
    expect(again.data!.reserveStock.__typename).toBe('Reservation');
    const status = await gql(f.url, `query($id: ID!) { reservation(id: $id) { status lines { openQuantity } } }`, { id: r.id });
    expect(status.data!.reservation).toEqual({ status: 'EXPIRED', lines: [{ openQuantity: 0 }] });
    expect(errorCode(await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: randomUUID() } }))).toBe('CONFLICT');

    expect(await new ReservationService(f.ds).releaseExpired(1000)).toBeGreaterThanOrEqual(1);
    expect(await f.level(e.sku, e.dc)).toMatchObject({ reserved: 30 });
    const [row] = await f.ds.query('SELECT status FROM reservations WHERE id = ?', [r.id]);
    expect(row.status).toBe('EXPIRED');
  });

  describe('bad input reserves nothing', () => {
    it.each([
      ['no lines', { lines: [] }, 'BAD_USER_INPUT'],
      ['a zero quantity', { lines: [{ quantity: 0 }] }, 'BAD_USER_INPUT'],
      ['a non-integer quantity', { lines: [{ quantity: 1.5 }] }, 'BAD_USER_INPUT'],
      ['a quantity over 1,000,000,000', { lines: [{ quantity: 1_000_000_001 }] }, 'BAD_USER_INPUT'],
      ['a time to live of 0', { ttlSeconds: 0 }, 'BAD_USER_INPUT'],
      ['a time to live over 7 days', { ttlSeconds: 7 * 86400 + 1 }, 'BAD_USER_INPUT'],
      ['duplicate lines', { lines: [{ quantity: 1 }, { quantity: 2 }] }, 'BAD_USER_INPUT'],
      ['an unknown channel', { channelId: randomUUID() }, 'NOT_FOUND'],
      ['an unknown SKU', { lines: [{ sku: 'NO-SUCH-SKU', quantity: 1 }] }, 'NOT_FOUND'],
      ['an unknown location', { lines: [{ quantity: 1, locationId: randomUUID() }] }, 'NOT_FOUND'],
    ])('refuses %s', async (_name, overrides, code) => {
      const e = await estate();
      const { lines, ...rest } = overrides as { lines?: Record<string, unknown>[] };
      const res = await reserve({
        channelId: e.channel,
        lines: (lines ?? [{ quantity: 1 }]).map((l) => ({ sku: e.sku, ...l })),
        ...rest,
      });
      expect(errorCode(res)).toBe(code);
      expect(await f.count('SELECT COUNT(*) AS n FROM reservation_lines WHERE sku = ?', [e.sku])).toBe(0);
      expect(await f.level(e.sku, e.dc)).toMatchObject({ reserved: 0 });
    });

    it('refuses a key reused for another request with CONFLICT', async () => {
      const e = await estate();
      const key = randomUUID();
      await reserve({ idempotencyKey: key, channelId: e.channel, lines: [{ sku: e.sku, quantity: 1 }] });
      const res = await reserve({ idempotencyKey: key, channelId: e.channel, lines: [{ sku: e.sku, quantity: 2 }] });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(await f.level(e.sku, e.dc)).toMatchObject({ reserved: 1 });
    });
  });
});

describe('units set aside for one channel', () => {
  it("hold the SKU's last units back from the other channels sharing its sources, in what they are shown and may reserve, until lifted", async () => {
    const [store, other] = [await f.location(), await f.location()];
    const [exclusive, web, apart] = [await f.channel([store]), await f.channel([store]), await f.channel([other])];
    const sku = await f.item();
    await f.receive(sku, store, 10);
    await f.receive(sku, other, 3);
    await f.setAside(exclusive, sku, 4);
    const ats = async (c: string) => (await gql(f.url, AVAILABILITY, { c, skus: [sku] })).data!.availability[0].availableToSell;
    // The subgraph looks for set-asides at all at most once a second (RULE_CACHE_MS), as for rules.
    await waitFor('the set-aside read', async () => (await ats(web)) === 6);
    // The channel it is set aside for sells all of it; one sharing the store may not take its last 4; one elsewhere is untouched.
    expect([await ats(exclusive), await ats(web), await ats(apart)]).toEqual([10, 6, 3]);
    const refused = await reserve({ channelId: web, lines: [{ sku, quantity: 7 }] });
    expect(refused.data!.reserveStock).toMatchObject({ __typename: 'InsufficientStock', lines: [{ requested: 7, available: 6 }] });
    expect((await reserve({ channelId: web, lines: [{ sku, quantity: 6 }] })).data!.reserveStock.__typename).toBe('Reservation');
    // The exclusive channel takes the 4 held for it.
    expect((await reserve({ channelId: exclusive, lines: [{ sku, quantity: 4 }] })).data!.reserveStock.__typename).toBe('Reservation');
    expect(await f.level(sku, store)).toMatchObject({ on_hand: 10, reserved: 10 });

    const fresh = await f.item();
    await f.receive(fresh, store, 5);
    await f.setAside(exclusive, fresh, 2);
    expect((await gql(f.url, AVAILABILITY, { c: web, skus: [fresh] })).data!.availability[0].availableToSell).toBe(3);
    // An older snapshot arriving late changes nothing; lifting it (0) gives the units back.
    await f.setAside(exclusive, fresh, 5, 1);
    expect((await gql(f.url, AVAILABILITY, { c: web, skus: [fresh] })).data!.availability[0].availableToSell).toBe(3);
    await f.setAside(exclusive, fresh, 0);
    expect((await gql(f.url, AVAILABILITY, { c: web, skus: [fresh] })).data!.availability[0].availableToSell).toBe(5);
  });
});

describe('extending a reservation', () => {
  it('keeps stock held past the first expiry once extended, and cannot revive an expired one', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 5);
    const EXTEND = `mutation($id: ID!, $ttl: Int) { extendReservation(id: $id, ttlSeconds: $ttl) { status expiresAt } }`;
    const held = (await reserve({ channelId: channel, ttlSeconds: 1, lines: [{ sku, quantity: 2 }] })).data!.reserveStock;
    // A hold without end marks a confirmed order: the orders service's call.
    const extended = await gql(f.url, EXTEND, { id: held.id, ttl: null }, { 'x-service-token': await serviceToken({ issuer: 'orders' }) });
    expect(extended.data!.extendReservation).toEqual({ status: 'ACTIVE', expiresAt: null });
    const lapsed = (await reserve({ channelId: channel, ttlSeconds: 1, lines: [{ sku, quantity: 1 }] })).data!.reserveStock;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await new ReservationService(f.ds).releaseExpired(1000)).toBeGreaterThanOrEqual(1);
    expect(await f.level(sku, loc)).toMatchObject({ reserved: 2 });
    expect(errorCode(await gql(f.url, EXTEND, { id: lapsed.id, ttl: 60 }))).toBe('CONFLICT');
    expect(errorCode(await gql(f.url, EXTEND, { id: held.id, ttl: 0 }))).toBe('BAD_USER_INPUT');
  });
});

describe('a location\'s page of levels', () => {
  it('counts a reservation past its expiry, not yet released, as holding nothing, as a level read alone does', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const [first, second] = [await f.item(), await f.item()].sort();
    await f.receive(first!, loc, 5);
    await f.receive(second!, loc, 5);
    const lapsing = (sku: string, quantity: number) => reserve({ channelId: channel, ttlSeconds: 1, lines: [{ sku, quantity }] });
    expect((await lapsing(first!, 2)).errors).toBeUndefined();
    expect((await lapsing(second!, 3)).errors).toBeUndefined();
    expect((await reserve({ channelId: channel, lines: [{ sku: first, quantity: 1 }] })).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // No expiry job runs here: the counters still hold the lapsed units.
    expect(await f.level(first!, loc)).toMatchObject({ reserved: 3 });
    expect(await f.level(second!, loc)).toMatchObject({ reserved: 3 });
    const page = await gql(
      f.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Location { stockLevels(first: 10) { edges { node { sku reserved available } } } } } }`,
      { r: [{ __typename: 'Location', id: loc }] },
    );
    expect(page.errors).toBeUndefined();
    const levels = page.data!._entities[0].stockLevels.edges.map((e: { node: unknown }) => e.node);
    expect(levels).toEqual([
      { sku: first, reserved: 1, available: 4 },
      { sku: second, reserved: 0, available: 5 },
    ]);
    for (const level of levels) {
      const alone = await gql(f.url, `query($s: String!, $l: ID!) { stockLevel(sku: $s, locationId: $l) { sku reserved available } }`, { s: level.sku, l: loc });
      expect(alone.data!.stockLevel).toEqual(level);
    }
  });

  it('answers in location then SKU order whatever order the union returns its rows in', async () => {
    const [a, b] = [await f.location(), await f.location()];
    const skus = [await f.item(), await f.item(), await f.item()].sort();
    for (const sku of skus) for (const loc of [a, b]) await f.receive(sku, loc, 3);
    const read = (reverse: boolean) =>
      stockLevelStore.firstPerLocation(
        withQuery(f.ds.manager, async (sql, params, query) => {
          const rows = await query(sql, params);
          return reverse && sql.includes('UNION') ? [...rows].reverse() : rows;
        }),
        [b, a],
        { skus, afterSku: null },
        10,
        new Date(),
      );
    const expected = [a, b].sort().flatMap((loc) => skus.map((sku) => [loc, sku]));
    for (const reverse of [false, true]) expect((await read(reverse)).map((l) => [l.locationId, l.sku])).toEqual(expected);
  });

  it('never shows units as available that a release between its two reads gave back twice', async () => {
    const loc = await f.location();
    const channel = await f.channel([loc]);
    const sku = await f.item();
    await f.receive(sku, loc, 5);
    expect((await reserve({ channelId: channel, ttlSeconds: 1, lines: [{ sku, quantity: 2 }] })).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The expiry job releases the lapsed line between the page and the read of expired units.
    let statements = 0;
    const manager = withQuery(f.ds.manager, async (sql, params, query) => {
      if (statements++ === 1) expect(await new ReservationService(f.ds).releaseExpired(1000)).toBeGreaterThanOrEqual(1);
      return query(sql, params);
    });
    const [level] = await stockLevelStore.firstPerLocation(manager, [loc], { skus: [sku], afterSku: null }, 10, new Date());
    expect(statements).toBe(2);
    // Read before the release, the counter still held the 2 units; the expired read after it finds none to subtract.
    // The other order (expired units first) would subtract the 2 from a counter already without them: 7 available of 5.
    expect(level).toMatchObject({ sku, onHand: 5, reserved: 2 });
    expect(await f.level(sku, loc)).toMatchObject({ reserved: 0 });
  });
});

/** The manager with its `query` passed through `around` (given the manager's own), to act between a store's statements. */
function withQuery(
  manager: EntityManager,
  around: (sql: string, params: unknown[] | undefined, query: (sql: string, params?: unknown[]) => Promise<any[]>) => Promise<any[]>,
): EntityManager {
  return new Proxy(manager, {
    get: (target, key, receiver) => (key === 'query' ? (sql: string, params?: unknown[]) => around(sql, params, (q, p) => target.query(q, p)) : Reflect.get(target, key, receiver)),
  });
}

describe('long idempotency keys', () => {
  it('commits and transfers under a 128-character key with a 64-character SKU', async () => {
    const [a, b] = [await f.location(), await f.location()];
    const channel = await f.channel([a]);
    const sku = `L${'X'.repeat(55)}${Date.now().toString(36).toUpperCase()}`.slice(0, 64);
    await gql(f.url, `mutation($i: CreateInventoryItemInput!) { createInventoryItem(input: $i) { sku } }`, { i: { sku, name: 'Long SKU' } });
    await f.receive(sku, a, 5);
    const key = randomUUID().repeat(4).slice(0, 128);
    const r = (await reserve({ channelId: channel, lines: [{ sku, quantity: 2 }] })).data!.reserveStock;
    const committed = await gql(f.url, COMMIT, { input: { reservationId: r.id, idempotencyKey: key } });
    expect(committed.errors).toBeUndefined();
    const out = await move({ idempotencyKey: key, type: 'TRANSFER_OUT', sku, locationId: a, destinationLocationId: b, quantity: 1 });
    expect(out.errors).toBeUndefined();
    expect(await f.level(sku, a)).toMatchObject({ on_hand: 2, reserved: 0 });
  });
});
