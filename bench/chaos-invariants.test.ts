import { describe, expect, it } from 'vitest';
import { checkLedger, checkMarketplaces, checkOrders, checkReserved, checkSubscribers, type CommittedChange, type LevelState, type SubscriberLog } from './chaos-invariants.js';

/** The chaos bench's checker, against a state that holds and the same state broken one way at a time: each check can fail. */

const level = (over: Partial<LevelState> = {}): LevelState => ({
  sku: 'SKU-1',
  locationId: 'loc-aaaaaaaa',
  onHand: 12,
  reserved: 3,
  movements: 2,
  firstOnHandBefore: 10,
  ledgerSum: 2,
  chainBreaks: 0,
  openReserved: 3,
  ...over,
});

describe('ledger', () => {
  it('passes levels whose on-hand is their ledger, and seeded levels without lines', () => {
    expect(checkLedger([level(), level({ sku: 'SKU-2', movements: 0, firstOnHandBefore: null, ledgerSum: 0, onHand: 40 })])).toMatchObject({ checked: 2, violations: 0 });
  });

  it('fails a level whose on-hand differs from its ledger', () => {
    const r = checkLedger([level(), level({ sku: 'SKU-2', onHand: 13 })]);
    expect(r.violations).toBe(1);
    expect(r.examples[0]).toContain('SKU-2');
    expect(r.examples[0]).toContain('on-hand 13, ledger says 12');
  });

  it('fails a ledger whose lines do not follow on from each other even when the sum agrees (a lost update written twice)', () => {
    expect(checkLedger([level({ chainBreaks: 1 })]).violations).toBe(1);
  });
});

describe('reserved', () => {
  it('passes levels whose reserved is what their open reservations hold', () => {
    expect(checkReserved([level(), level({ reserved: 0, openReserved: 0 })]).violations).toBe(0);
  });

  it('fails a level that holds more, or less, than its open reservations', () => {
    expect(checkReserved([level({ reserved: 4 }), level({ reserved: 2 }), level()]).violations).toBe(2);
  });
});

describe('orders confirmed against stock', () => {
  const held = (entries: [string, number][]) => ({ status: 'ACTIVE', held: new Map(entries) });
  const good = [
    { id: 'o1', lines: [{ sku: 'S-1', quantity: 2 }, { sku: 'S-2', quantity: 1 }], reservation: held([['S-1', 2], ['S-2', 1]]) },
    { id: 'o2', lines: [{ sku: 'S-1', quantity: 3 }], reservation: held([['S-1', 3]]) },
  ];

  it('passes confirmed orders held by their reservations within what each scarce SKU could sell', () => {
    expect(checkOrders(good, [{ sku: 'S-1', sellable: 5 }])).toMatchObject({ violations: 0, checked: 3 });
  });

  it('fails more units confirmed than a scarce SKU could sell', () => {
    const r = checkOrders(good, [{ sku: 'S-1', sellable: 4 }]);
    expect(r.violations).toBe(1);
    expect(r.examples[0]).toContain('5 units confirmed of 4 sellable');
  });

  it('fails a confirmed order inventory holds nothing for, or less than it confirmed', () => {
    const r = checkOrders([{ ...good[0]!, reservation: null }, { ...good[1]!, reservation: held([['S-1', 2]]) }], []);
    expect(r.violations).toBe(2);
  });
});

describe('subscribers', () => {
  const committed: CommittedChange[] = [
    { seq: 1, sku: 'A', locationId: 'L1', version: 1 },
    { seq: 2, sku: 'A', locationId: 'L1', version: 2 },
    { seq: 3, sku: 'B', locationId: 'L1', version: 1 },
    { seq: 4, sku: 'A', locationId: 'L2', version: 1 },
    { seq: 5, sku: 'A', locationId: 'L1', version: 3 },
  ];
  const log = (received: [string, string, number][], over: Partial<SubscriberLog> = {}): SubscriberLog => ({
    id: 7,
    skus: new Set(['A']),
    locationIds: null,
    received: received.map(([sku, locationId, version]) => ({ sku, locationId, version })),
    ...over,
  });

  it('passes a subscriber that got every matching change after it was listening, once, in any order of resumes', () => {
    // Listening from seq 1 on: the change at seq 1 may or may not have reached it.
    const r = checkSubscribers([log([['A', 'L1', 2], ['A', 'L2', 1], ['A', 'L1', 3]]), log([['A', 'L1', 1], ['A', 'L1', 2], ['A', 'L2', 1], ['A', 'L1', 3]])], committed, 1);
    expect(r.violations).toBe(0);
  });

  it('counts a location filter', () => {
    expect(checkSubscribers([log([['A', 'L2', 1]], { skus: null, locationIds: new Set(['L2']) })], committed, 1).violations).toBe(0);
    expect(checkSubscribers([log([], { skus: null, locationIds: new Set(['L2']) })], committed, 1).violations).toBe(1);
  });

  it('fails a duplicate and a gap, each counted', () => {
    const r = checkSubscribers([log([['A', 'L1', 2], ['A', 'L1', 2], ['A', 'L1', 3]])], committed, 1);
    expect(r.violations).toBe(2);
    expect(r.examples[0]).toContain('1 missed (first seq 4: A|L2|1)');
    expect(r.examples[0]).toContain('1 received more than once (e.g. A|L1|2 × 2)');
  });

  it('fails a change that was never committed', () => {
    const r = checkSubscribers([log([['A', 'L1', 2], ['A', 'L2', 1], ['A', 'L1', 3], ['A', 'L1', 4]])], committed, 1);
    expect(r.violations).toBe(1);
    expect(r.examples[0]).toContain('never committed (e.g. A|L1|4)');
  });
});

describe('marketplaces', () => {
  it('passes marketplaces holding our available-to-sell and fails one behind or missing a SKU', () => {
    const ours = new Map([['A', 3], ['B', 0]]);
    expect(checkMarketplaces([{ channel: 'AMAZON-UK', ours, theirs: new Map([['A', 3], ['B', 0]]) }]).violations).toBe(0);
    // Not listed there, and nothing to sell here: consistent.
    expect(checkMarketplaces([{ channel: 'AMAZON-UK', ours, theirs: new Map([['A', 3]]) }]).violations).toBe(0);
    const r = checkMarketplaces([{ channel: 'AMAZON-UK', ours: new Map([['A', 3], ['B', 0], ['C', 2]]), theirs: new Map([['A', 4]]) }]);
    expect(r).toMatchObject({ checked: 3, violations: 2 });
    expect(r.examples).toEqual(['AMAZON-UK A: marketplace shows 4, our available-to-sell is 3', 'AMAZON-UK C: marketplace shows nothing, our available-to-sell is 2']);
  });
});
