import { describe, expect, it } from 'vitest';
import { BadUserInputError, ConflictError, InsufficientStockError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { OrderStateError } from './errors.js';
import { domainErrorOf } from '../../../contracts/inventory-client.js';
import type { OrderStatus } from './order-vocabulary.js';
import {
  applyChanges,
  inventoryKeyOf,
  parseRejection,
  placeOrderSchema,
  planCancel,
  planFulfil,
  planReturn,
  statusOf,
  type LineCounts,
} from './order-rules.js';
import { requestHash } from '../../../contracts/idempotency.js';

const channelId = '2b7d0c4e-8f7a-4d3b-9c1e-5a6f7b8c9d0e';
const storeId = '7c1f0c4e-8f7a-4d3b-9c1e-5a6f7b8c9d0f';
const ship = { method: 'SHIP', destinationRegion: 'England' };

const order = (overrides: Record<string, unknown> = {}) => ({
  idempotencyKey: 'checkout-1',
  channelId,
  lines: [{ sku: 'SKU-1', quantity: 2 }],
  fulfilment: ship,
  ...overrides,
});

const line = (sku: string, quantity: number, fulfilled = 0, cancelled = 0, returned = 0): LineCounts => ({
  id: `line-${sku}`,
  sku,
  quantity,
  fulfilledQuantity: fulfilled,
  cancelledQuantity: cancelled,
  returnedQuantity: returned,
});

describe('placeOrder input', () => {
  it('normalises a ship order and a pickup order', () => {
    expect(parseInput(placeOrderSchema, order())).toEqual({
      idempotencyKey: 'checkout-1',
      channelId,
      customerReference: null,
      lines: [{ sku: 'SKU-1', quantity: 2 }],
      fulfilment: { method: 'SHIP', destinationRegion: 'England', pickupLocationId: null },
    });
    const pickup = parseInput(placeOrderSchema, order({ fulfilment: { method: 'PICKUP', pickupLocationId: storeId.toUpperCase() } }));
    expect(pickup.fulfilment).toEqual({ method: 'PICKUP', destinationRegion: null, pickupLocationId: storeId });
  });

  it.each([
    ['no lines', { lines: [] }, 'lines'],
    ['101 lines', { lines: Array.from({ length: 101 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 })) }, 'lines'],
    ['a quantity of 0', { lines: [{ sku: 'SKU-1', quantity: 0 }] }, 'lines.0.quantity'],
    ['a negative quantity', { lines: [{ sku: 'SKU-1', quantity: -3 }] }, 'lines.0.quantity'],
    ['a fractional quantity', { lines: [{ sku: 'SKU-1', quantity: 1.5 }] }, 'lines.0.quantity'],
    ['a SKU twice', { lines: [{ sku: 'SKU-1', quantity: 1 }, { sku: 'SKU-1', quantity: 2 }] }, 'lines.1.sku'],
    ['a malformed SKU', { lines: [{ sku: 'no spaces', quantity: 1 }] }, 'lines.0.sku'],
    ['a malformed channel id', { channelId: 'WEB-UK' }, 'channelId'],
    ['pickup without a location', { fulfilment: { method: 'PICKUP' } }, 'fulfilment.pickupLocationId'],
    ['pickup with a region', { fulfilment: { method: 'PICKUP', pickupLocationId: storeId, destinationRegion: 'Wales' } }, 'fulfilment.destinationRegion'],
    ['ship with a pickup location', { fulfilment: { method: 'SHIP', pickupLocationId: storeId } }, 'fulfilment.pickupLocationId'],
    ['an empty idempotency key', { idempotencyKey: '' }, 'idempotencyKey'],
  ])('refuses %s', (_name, overrides, path) => {
    try {
      parseInput(placeOrderSchema, order(overrides));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadUserInputError);
      expect((err as BadUserInputError).details.issues).toContainEqual(expect.objectContaining({ path }));
    }
  });

  it('fingerprints requests: a retry matches, another request does not', () => {
    const a = parseInput(placeOrderSchema, order());
    expect(requestHash(parseInput(placeOrderSchema, order()))).toBe(requestHash(a));
    expect(requestHash(parseInput(placeOrderSchema, order({ lines: [{ sku: 'SKU-1', quantity: 3 }] })))).not.toBe(requestHash(a));
  });
});

describe('order status from line quantities', () => {
  it.each<[string, LineCounts[], OrderStatus]>([
    ['nothing shipped', [line('A', 2), line('B', 1)], 'CONFIRMED'],
    ['part shipped', [line('A', 2, 1), line('B', 1)], 'PARTIALLY_FULFILLED'],
    ['part shipped, rest cancelled', [line('A', 2, 1, 1), line('B', 1, 0, 1)], 'FULFILLED'],
    ['all shipped, some returned', [line('A', 2, 2, 0, 2)], 'FULFILLED'],
    ['all cancelled', [line('A', 2, 0, 2), line('B', 1, 0, 1)], 'CANCELLED'],
  ])('%s', (_name, lines, status) => {
    expect(statusOf(lines)).toBe(status);
  });

  it('applies and undoes a step', () => {
    const lines = [line('A', 3), line('B', 1)];
    const changes = [{ lineId: 'line-A', sku: 'A', quantity: 2 }];
    const after = applyChanges(lines, 'FULFIL', changes);
    expect(after.map((l) => l.fulfilledQuantity)).toEqual([2, 0]);
    expect(applyChanges(after, 'FULFIL', changes, -1)).toEqual(lines);
  });
});

describe('lifecycle steps', () => {
  const lines = [line('A', 5, 2, 0, 1), line('B', 1)];

  it('ships what is asked within what is left, or everything left', () => {
    expect(planFulfil('PARTIALLY_FULFILLED', lines, [{ sku: 'A', quantity: 3 }])).toEqual([{ lineId: 'line-A', sku: 'A', quantity: 3 }]);
    expect(planFulfil('PARTIALLY_FULFILLED', lines, null)).toEqual([
      { lineId: 'line-A', sku: 'A', quantity: 3 },
      { lineId: 'line-B', sku: 'B', quantity: 1 },
    ]);
  });

  it('refuses to ship more than is left, or a SKU not on the order, naming each line', () => {
    try {
      planFulfil('CONFIRMED', lines, [{ sku: 'A', quantity: 4 }, { sku: 'C', quantity: 1 }]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadUserInputError);
      expect((err as BadUserInputError).details.issues).toEqual([
        { path: 'lines.0.quantity', message: expect.stringContaining('at most 3') },
        { path: 'lines.1.sku', message: 'C is not on the order' },
      ]);
    }
  });

  it.each<OrderStatus>(['PENDING', 'REJECTED', 'FULFILLED', 'CANCELLED'])('refuses to ship or cancel a %s order', (status) => {
    expect(() => planFulfil(status, lines, null)).toThrow(OrderStateError);
    const err = (() => {
      try {
        planCancel(status, lines);
      } catch (e) {
        return e as OrderStateError;
      }
    })();
    expect(err).toBeInstanceOf(OrderStateError);
    expect(err!.code).toBe('BAD_USER_INPUT');
    expect(err!.details.status).toBe(status);
  });

  it('cancels everything left', () => {
    expect(planCancel('PARTIALLY_FULFILLED', lines)).toEqual([
      { lineId: 'line-A', sku: 'A', quantity: 3 },
      { lineId: 'line-B', sku: 'B', quantity: 1 },
    ]);
  });

  it('takes back at most what shipped and has not come back', () => {
    expect(planReturn(lines, [{ sku: 'A', quantity: 1 }])).toEqual([{ lineId: 'line-A', sku: 'A', quantity: 1 }]);
    expect(() => planReturn(lines, [{ sku: 'A', quantity: 2 }])).toThrow(BadUserInputError);
    expect(() => planReturn(lines, [{ sku: 'B', quantity: 1 }])).toThrow(BadUserInputError);
  });
});

describe('inventory keys and answers', () => {
  it('derives a 22-character key per step, stable and distinct', () => {
    const a = inventoryKeyOf('2b7d0c4e-8f7a-4d3b-9c1e-5a6f7b8c9d0e');
    expect(a).toHaveLength(22);
    expect(inventoryKeyOf('2b7d0c4e-8f7a-4d3b-9c1e-5a6f7b8c9d0e')).toBe(a);
    expect(inventoryKeyOf('2b7d0c4e-8f7a-4d3b-9c1e-5a6f7b8c9d0f')).not.toBe(a);
  });

  it('turns inventory refusals into our domain errors with the same code, message and details', () => {
    const notFound = domainErrorOf({ message: 'Channel "x" not found', extensions: { code: 'NOT_FOUND', entity: 'Channel', id: 'x' } });
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound!.message).toBe('Channel "x" not found');
    const bad = domainErrorOf({ message: 'offers no pickup', extensions: { code: 'BAD_USER_INPUT', issues: [{ path: 'pickupLocationId', message: 'offers no pickup' }] } });
    expect(bad).toBeInstanceOf(BadUserInputError);
    expect(bad!.details).toEqual({ issues: [{ path: 'pickupLocationId', message: 'offers no pickup' }] });
    expect(domainErrorOf({ message: 'expired', extensions: { code: 'CONFLICT', expiresAt: 'then' } })).toBeInstanceOf(ConflictError);
    expect(domainErrorOf({ message: 'short', extensions: { code: 'INSUFFICIENT_STOCK', lines: [] } })).toBeInstanceOf(InsufficientStockError);
    expect(domainErrorOf({ message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } })).toBeNull();
    expect(domainErrorOf({ message: 'bad query', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })).toBeNull();
  });

  it('parses a stored rejection', () => {
    const json = JSON.stringify({ reason: 'INSUFFICIENT_STOCK', message: null, lines: [{ sku: 'A', locationId: null, requested: 2, available: 1 }] });
    expect(parseRejection(json)).toEqual({ reason: 'INSUFFICIENT_STOCK', message: null, lines: [{ sku: 'A', locationId: null, requested: 2, available: 1 }] });
    expect(parseRejection(null)).toBeNull();
  });
});
