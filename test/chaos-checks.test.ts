import { randomUUID } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger, checkReserved, checkSubscribers } from '../bench/chaos-invariants.js';
import { committedChanges, levelStates } from '../bench/chaos-state.js';
import { config } from '../lib/config.js';
import { gql } from './client.js';
import { InventoryFixture, RESERVE } from './inventory-fixture.js';

/**
 * The chaos bench's checks on what its SQL reads (bench/chaos-state.ts) from a real inventory
 * database: a ledger, reservations and outbox written by the inventory subgraph pass; the same
 * level with its on-hand or reserved changed behind the ledger's back fails, and so does a
 * subscriber that missed a committed change or got one twice.
 */

let f: InventoryFixture;
let db: Connection;
let database: string;
let sku: string;
let location: string;

beforeAll(async () => {
  f = await InventoryFixture.start();
  database = String((await f.ds.query('SELECT DATABASE() AS db'))[0].db);
  db = await createConnection({ uri: config().MYSQL_URL });
  location = await f.location();
  const channel = await f.channel([location]);
  sku = await f.item();
  await f.receive(sku, location, 10);
  await f.move({ type: 'SALE', sku, locationId: location, quantity: 3 });
  await f.move({ type: 'ADJUSTMENT', reason: 'FOUND', sku, locationId: location, quantity: 2 });
  const reserved = await gql(f.url, RESERVE, { input: { idempotencyKey: randomUUID(), channelId: channel, ttlSeconds: 600, lines: [{ sku, quantity: 4 }] } });
  expect(reserved.data?.reserveStock.__typename, JSON.stringify(reserved)).toBe('Reservation');
});

afterAll(async () => {
  await db?.end();
  await f?.close();
});

const levels = () => levelStates(db, database, [sku]);

describe('the chaos checks on a real inventory database', () => {
  it('pass a level written by the inventory subgraph: its ledger, its reservation and its stock events', async () => {
    const read = await levels();
    expect(read).toEqual([expect.objectContaining({ sku, onHand: 9, reserved: 4, movements: 3, firstOnHandBefore: 0, ledgerSum: 9, chainBreaks: 0, openReserved: 4 })]);
    expect(checkLedger(read).violations).toBe(0);
    expect(checkReserved(read).violations).toBe(0);

    const changes = (await committedChanges(db, database)).filter((c) => c.sku === sku);
    expect(changes.map((c) => c.version)).toEqual([1, 2, 3, 4]);
    const log = { id: 1, skus: new Set([sku]), locationIds: null, received: changes.map((c) => ({ sku: c.sku, locationId: c.locationId, version: c.version })) };
    expect(checkSubscribers([log], changes, 0).violations).toBe(0);
    // The same log with the third change missed and the second received twice.
    const broken = { ...log, received: [log.received[0]!, log.received[1]!, log.received[1]!, log.received[3]!] };
    expect(checkSubscribers([broken], changes, 0).violations).toBe(2);
  });

  it('fail a level whose on-hand was changed behind its ledger, or whose reserved no longer matches its reservations', async () => {
    await db.query(`UPDATE \`${database}\`.stock_levels SET on_hand = on_hand + 1 WHERE sku = ?`, [sku]);
    expect(checkLedger(await levels()).violations).toBe(1);
    await db.query(`UPDATE \`${database}\`.stock_levels SET on_hand = on_hand - 1, reserved = reserved - 1 WHERE sku = ?`, [sku]);
    const read = await levels();
    expect(checkLedger(read).violations).toBe(0);
    expect(checkReserved(read).violations).toBe(1);
  });

  it('fail a ledger line that does not follow on from the one before, even when the sum agrees', async () => {
    // Two lines swapping an error between them: the totals still match on-hand, the chain does not.
    await db.query(`UPDATE \`${database}\`.stock_movements SET on_hand_before = on_hand_before + 1, on_hand_after = on_hand_after + 1 WHERE sku = ? AND type = 'SALE'`, [sku]);
    const read = await levels();
    expect(read[0]!.chainBreaks).toBe(2);
    expect(checkLedger(read).violations).toBe(1);
  });
});
