import { describe, expect, it } from 'vitest';
import { problemSignalSchema } from '../../../contracts/events.js';
import { InventoryUnavailableError } from '../../../contracts/inventory-client.js';
import { hasUnfinishedWork, isStuck, stuckCauseOf, stuckCleared, stuckRaised } from './stuck-order-rules.js';

const ORDER = { id: '5f1e2d3c-4b5a-4968-8776-655443322110', channelId: '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a6b', status: 'PENDING' as const, units: 3 };

describe('hasUnfinishedWork', () => {
  const held = new Date();
  it('is PENDING, an open order whose reservation is not permanent yet, or a step waiting for inventory', () => {
    expect(hasUnfinishedWork({ status: 'PENDING', reservationId: null, reservationHeldAt: null }, false)).toBe(true);
    expect(hasUnfinishedWork({ status: 'CONFIRMED', reservationId: 'r', reservationHeldAt: null }, false)).toBe(true);
    expect(hasUnfinishedWork({ status: 'PARTIALLY_FULFILLED', reservationId: 'r', reservationHeldAt: null }, false)).toBe(true);
    expect(hasUnfinishedWork({ status: 'CONFIRMED', reservationId: 'r', reservationHeldAt: held }, true)).toBe(true);
  });

  it('is nothing for a settled order, an order without a reservation to hold, or a withdrawn one', () => {
    expect(hasUnfinishedWork({ status: 'CONFIRMED', reservationId: 'r', reservationHeldAt: held }, false)).toBe(false);
    expect(hasUnfinishedWork({ status: 'REJECTED', reservationId: null, reservationHeldAt: null }, false)).toBe(false);
    expect(hasUnfinishedWork({ status: 'CANCELLED', reservationId: 'r', reservationHeldAt: null }, false)).toBe(false);
    expect(hasUnfinishedWork({ status: 'CONFIRMED', reservationId: null, reservationHeldAt: null }, false)).toBe(false);
    expect(hasUnfinishedWork(null, false)).toBe(false);
  });
});

describe('isStuck', () => {
  it('once the unfinished work has waited the threshold', () => {
    const since = new Date('2025-03-01T10:00:00Z');
    expect(isStuck(since, new Date('2025-03-01T10:09:59Z'), 600_000)).toBe(false);
    expect(isStuck(since, new Date('2025-03-01T10:10:00Z'), 600_000)).toBe(true);
  });
});

describe('stuckCauseOf', () => {
  it('names what inventory did, whichever step met it', () => {
    expect(stuckCauseOf(new InventoryUnavailableError('fetch failed (ECONNREFUSED)'))).toBe('INVENTORY_UNREACHABLE');
    expect(stuckCauseOf(new InventoryUnavailableError('This operation was aborted'))).toBe('INVENTORY_UNREACHABLE');
    expect(stuckCauseOf(new InventoryUnavailableError('HTTP 200: DATABASE_UNAVAILABLE: The database is unreachable.'))).toBe('DATABASE_UNAVAILABLE');
    expect(stuckCauseOf(new InventoryUnavailableError('HTTP 403: FORBIDDEN: missing scope'))).toBe('FORBIDDEN');
    expect(stuckCauseOf(new InventoryUnavailableError('HTTP 502 with an unexpected body'))).toBe('INVENTORY_FAILING');
    expect(stuckCauseOf(new Error('a bug'))).toBe('RECOVERY_FAILING');
  });
});

describe('stuck order signals', () => {
  it('raises the order as its own subject with the retry action, and clears it', () => {
    const since = new Date('2025-03-01T10:00:00Z');
    const now = new Date('2025-03-01T10:12:00Z');
    const raised = stuckRaised(ORDER, 'RESERVE', new InventoryUnavailableError('fetch failed (ECONNREFUSED)'), since, now);
    expect(raised).toMatchObject({ topic: 'problem', key: `STUCK_ORDER:${ORDER.id}` });
    expect(problemSignalSchema.parse(raised.payload)).toMatchObject({
      kind: 'STUCK_ORDER',
      state: 'RAISED',
      subject: ORDER.id,
      cause: 'INVENTORY_UNREACHABLE',
      channelId: ORDER.channelId,
      units: 3,
      measure: 720,
      evidence: [{ type: 'ORDER', id: ORDER.id }],
      action: { kind: 'RETRY_ORDER', orderId: ORDER.id },
    });
    expect(stuckCleared(ORDER, 'rejected (INSUFFICIENT_STOCK)', now)).toMatchObject({
      key: `STUCK_ORDER:${ORDER.id}`,
      payload: { state: 'CLEARED', subject: ORDER.id, action: null },
    });
  });
});
