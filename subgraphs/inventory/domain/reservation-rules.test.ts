import { describe, expect, it } from 'vitest';
import { BadUserInputError, ConflictError, ForbiddenError } from '../../../lib/errors.js';
import { allocationRuleFor, assertChangeable, assertMayChange, keyOwnerOf, isExpired, openQuantity, planCommit, planReservation, reserveSchema, statusAfterCommit, statusOnClose, visibleStatus } from './reservation-rules.js';
import type { ChannelRule, ReplicaSource, ReservationLine, ReservationState } from './stock.js';

const STORE = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a61';
const DC = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a62';
const CLOSED = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a63';
const ELSEWHERE = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a64';
const CHANNEL = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a65';

const source = (locationId: string, over: Partial<ReplicaSource> = {}): ReplicaSource => ({ locationId, priority: 1, status: 'ACTIVE', pickup: false, ...over });
const rule: Pick<ChannelRule, 'channelId' | 'sources'> = {
  channelId: CHANNEL,
  sources: [source(STORE, { pickup: true }), source(DC, { priority: 2 }), source(CLOSED, { status: 'CLOSED', priority: 3 })],
};
const request = (over: Record<string, unknown>) => reserveSchema.parse({ idempotencyKey: 'k', channelId: CHANNEL, ttlSeconds: 60, lines: [{ sku: 'A', quantity: 1 }], ...over });
const line = (over: Partial<ReservationLine> = {}): ReservationLine => ({ sku: 'A', locationId: STORE, quantity: 5, committedQuantity: 0, releasedQuantity: 0, open: true, ...over });
const reservation = (over: Partial<ReservationState> = {}): ReservationState => ({ id: 'r1', status: 'ACTIVE', expiresAt: new Date(Date.now() + 60_000), actor: 'web', ...over });

describe('reservation requests', () => {
  it('refuses a line repeating the SKU and location of an earlier one', () => {
    const lines = [{ sku: 'A', quantity: 1, locationId: STORE }, { sku: 'A', quantity: 2, locationId: STORE }];
    expect(reserveSchema.safeParse({ idempotencyKey: 'k', channelId: CHANNEL, ttlSeconds: 60, lines }).success).toBe(false);
    expect(reserveSchema.safeParse({ idempotencyKey: 'k', channelId: CHANNEL, ttlSeconds: 60, lines: [lines[0], { ...lines[1], locationId: DC }] }).success).toBe(true);
  });

  it('refuses a time to live above seven days', () => {
    expect(reserveSchema.safeParse({ idempotencyKey: 'k', channelId: CHANNEL, ttlSeconds: 7 * 24 * 3600 + 1, lines: [{ sku: 'A', quantity: 1 }] }).success).toBe(false);
  });
});

describe('planReservation', () => {
  it("leaves unplaced lines to the channel's active sources, closed ones left out", () => {
    const plan = planReservation(request({ lines: [{ sku: 'A', quantity: 2 }] }), rule);
    expect(plan.sellable).toEqual([STORE, DC]);
    expect(plan.lines).toEqual([{ sku: 'A', quantity: 2, locationId: null }]);
    expect(plan.keys).toEqual([{ sku: 'A', locationId: STORE }, { sku: 'A', locationId: DC }]);
  });

  it('refuses a location that does not feed the channel', () => {
    expect(() => planReservation(request({ lines: [{ sku: 'A', quantity: 1, locationId: ELSEWHERE }] }), rule)).toThrow(BadUserInputError);
  });

  it('takes every line of a pickup reservation from the pickup location, which must offer pickup', () => {
    const plan = planReservation(request({ pickupLocationId: STORE, lines: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 1 }] }), rule);
    expect(plan.lines.map((l) => l.locationId)).toEqual([STORE, STORE]);
    expect(plan.keys).toEqual([{ sku: 'A', locationId: STORE }, { sku: 'B', locationId: STORE }]);
    expect(() => planReservation(request({ pickupLocationId: DC }), rule)).toThrow(/offers no pickup/);
    expect(() => planReservation(request({ pickupLocationId: STORE, lines: [{ sku: 'A', quantity: 1, locationId: DC }] }), rule)).toThrow(/every line from the pickup location/);
  });

  it("serves other shipping locations after the channel's own sources, each once (SOLD_ANY_LOCATION)", () => {
    const plan = planReservation(request({ lines: [{ sku: 'A', quantity: 2 }] }), rule, [DC, ELSEWHERE]);
    expect(plan.sellable).toEqual([STORE, DC, ELSEWHERE]);
    expect(plan.keys).toEqual([STORE, DC, ELSEWHERE].map((locationId) => ({ sku: 'A', locationId })));
    // A line naming a location still needs one that feeds the channel.
    expect(() => planReservation(request({ lines: [{ sku: 'A', quantity: 1, locationId: ELSEWHERE }] }), rule, [ELSEWHERE])).toThrow(BadUserInputError);
  });
});

describe('allocationRuleFor', () => {
  const channelRule = { buffer: { kind: 'UNITS' as const, value: 3 }, cap: 10, allowSplitShipments: false };
  it('holds a live buyer to the whole rule', () => {
    expect(allocationRuleFor(channelRule, 'LIVE')).toBe(channelRule);
  });
  it('lets a sale already made past the buffer and cap, split as the channel allows; from any location, split as needed', () => {
    expect(allocationRuleFor(channelRule, 'SOLD')).toEqual({ buffer: null, cap: null, allowSplitShipments: false });
    expect(allocationRuleFor(channelRule, 'SOLD_ANY_LOCATION')).toEqual({ buffer: null, cap: null, allowSplitShipments: true });
  });
});

describe('reservation status', () => {
  const now = new Date();
  it('is expired past its expiry even before the expiry job runs, and never without one', () => {
    expect(isExpired(reservation({ expiresAt: new Date(now.getTime() - 1) }), now)).toBe(true);
    expect(visibleStatus(reservation({ expiresAt: new Date(now.getTime() - 1) }), now)).toBe('EXPIRED');
    expect(isExpired(reservation({ expiresAt: null }), now)).toBe(false);
    expect(isExpired(reservation({ status: 'COMMITTED', expiresAt: new Date(now.getTime() - 1) }), now)).toBe(false);
    expect(visibleStatus(reservation({ status: 'RELEASED' }), now)).toBe('RELEASED');
  });

  it('can be changed only while ACTIVE and within its expiry', () => {
    expect(() => assertChangeable(reservation(), now)).not.toThrow();
    expect(() => assertChangeable(reservation({ expiresAt: new Date(now.getTime() - 1) }), now)).toThrow(/expired at/);
    expect(() => assertChangeable(reservation({ status: 'RELEASED' }), now)).toThrow(ConflictError);
  });

  it('is COMMITTED once nothing is held after a commit, and on close when any part shipped', () => {
    expect(statusAfterCommit([line({ open: false, committedQuantity: 5 })])).toBe('COMMITTED');
    expect(statusAfterCommit([line({ open: false, committedQuantity: 5 }), line()])).toBe('ACTIVE');
    expect(statusOnClose([line({ committedQuantity: 2 })], true)).toBe('COMMITTED');
    expect(statusOnClose([line()], true)).toBe('EXPIRED');
    expect(statusOnClose([line()], false)).toBe('RELEASED');
  });

  it('counts what a line still holds, nothing once closed', () => {
    expect(openQuantity(line({ committedQuantity: 2, releasedQuantity: 1 }))).toBe(2);
    expect(openQuantity(line({ open: false }))).toBe(0);
  });
});

describe('planCommit', () => {
  it('ships everything open when no lines are given', () => {
    const held = [line(), line({ locationId: DC, quantity: 3, committedQuantity: 3, open: false })];
    expect(planCommit(held, null)).toEqual([{ line: held[0], quantity: 5 }]);
  });

  it("takes a requested SKU from the reservation's lines in order, across locations", () => {
    const held = [line({ quantity: 2 }), line({ locationId: DC, quantity: 4 })];
    expect(planCommit(held, [{ sku: 'A', quantity: 5 }])).toEqual([
      { line: held[0], quantity: 2 },
      { line: held[1], quantity: 3 },
    ]);
    expect(planCommit(held, [{ sku: 'A', locationId: DC, quantity: 4 }])).toEqual([{ line: held[1], quantity: 4 }]);
  });

  it('refuses more than the reservation holds, naming the line and what it holds', () => {
    expect(() => planCommit([line({ quantity: 2 })], [{ sku: 'A', quantity: 3 }])).toThrow(/Line 0 asks for 3 of A but the reservation holds 2/);
    expect(() => planCommit([line()], [{ sku: 'B', quantity: 1 }])).toThrow(BadUserInputError);
  });
});

describe('who may change a reservation', () => {
  const web = { clientId: 'web', service: null, admin: false };
  const pos = { clientId: 'pos', service: null, admin: false };
  it('lets its client release, extend and commit it, and no other client', () => {
    for (const change of ['release', 'extend', 'commit'] as const) {
      expect(() => assertMayChange(reservation(), web, change)).not.toThrow();
      expect(() => assertMayChange(reservation(), pos, change)).toThrow(ForbiddenError);
      expect(() => assertMayChange(reservation({ actor: null }), pos, change)).toThrow(ForbiddenError);
    }
  });

  it('lets the orders service and admins act on any, and reserves a hold without end to the orders service', () => {
    expect(() => assertMayChange(reservation(), { clientId: 'web', service: 'orders', admin: false }, 'hold')).not.toThrow();
    expect(() => assertMayChange(reservation(), { ...pos, admin: true }, 'release')).not.toThrow();
    expect(() => assertMayChange(reservation(), web, 'hold')).toThrow(ForbiddenError);
    expect(() => assertMayChange(reservation(), { ...web, admin: true }, 'hold')).toThrow(ForbiddenError);
    expect(() => assertMayChange(reservation(), null, 'hold')).not.toThrow();
    expect(() => assertMayChange(reservation(), { clientId: 'web', service: 'marketplaces', admin: false }, 'hold')).toThrow(ForbiddenError);
  });

  it("scopes idempotency keys per client, a service's to the service whichever client it acts for", () => {
    expect(keyOwnerOf({ ...web })).toBe('web');
    expect(keyOwnerOf({ clientId: null, service: null, admin: false })).toBe('');
    expect(keyOwnerOf({ clientId: 'web', service: 'orders', admin: false })).toBe(keyOwnerOf({ clientId: 'order-sweeper', service: 'orders', admin: false }));
    expect(keyOwnerOf({ clientId: 'web', service: 'orders', admin: false })).not.toBe('web');
    expect(keyOwnerOf(null)).toBe('');
  });
});
