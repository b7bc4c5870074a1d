import { problemEvent } from '../../../contracts/events.js';
import { InventoryUnavailableError } from '../../../contracts/inventory-client.js';
import type { OutboxEvent } from '../../../lib/outbox.js';
import type { OperationKind, OrderStatus } from './order-vocabulary.js';

/**
 * When an order the sweeper cannot finish becomes a person's problem (STUCK_ORDER), free of I/O:
 * what is left unfinished, how long it may wait, the cause it is grouped by, and its signals.
 */

/** What of an order the sweeper could not finish: its reservation, making it permanent, or a step. */
export type StuckStage = 'RESERVE' | 'HOLD' | OperationKind;

export interface OrderProgress {
  status: OrderStatus;
  reservationId: string | null;
  reservationHeldAt: Date | null;
}

const OPEN: readonly OrderStatus[] = ['CONFIRMED', 'PARTIALLY_FULFILLED'];

/**
 * Whether anything of the order is left for the sweeper: it is PENDING, it is open with a
 * reservation inventory has not made permanent, or a step waits for inventory. A withdrawn order
 * (null) has nothing left.
 */
export function hasUnfinishedWork(order: OrderProgress | null, pendingStep: boolean): boolean {
  if (!order) return false;
  if (order.status === 'PENDING') return true;
  if (OPEN.includes(order.status) && order.reservationId !== null && order.reservationHeldAt === null) return true;
  return pendingStep;
}

/** Whether work that began at `since` and is still unfinished at `now` has waited long enough to need a person. */
export function isStuck(since: Date, now: Date, stuckAfterMs: number): boolean {
  return now.getTime() - since.getTime() >= stuckAfterMs;
}

/**
 * The stable code a stuck order is grouped by: what inventory did, not which step met it, so one
 * outage is one problem however many orders and steps it holds up.
 * - INVENTORY_UNREACHABLE: inventory did not answer (refused connection, timeout).
 * - inventory's own error code (DATABASE_UNAVAILABLE, FORBIDDEN, INTERNAL_SERVER_ERROR…): it answered
 *   with an error that is no refusal (contracts/subgraph-client.ts reports those as `HTTP <status>: <code>: …`).
 * - INVENTORY_FAILING: it answered with something unreadable.
 * - RECOVERY_FAILING: the recovery itself failed (anything but inventory's unavailability).
 */
export function stuckCauseOf(err: unknown): string {
  if (!(err instanceof InventoryUnavailableError)) return 'RECOVERY_FAILING';
  const code = /HTTP \d+: ([A-Z][A-Z0-9_]*):/.exec(err.message)?.[1];
  if (code) return code;
  return /HTTP \d+/.test(err.message) ? 'INVENTORY_FAILING' : 'INVENTORY_UNREACHABLE';
}

const STAGE_TEXT: Record<StuckStage, string> = {
  RESERVE: 'its reservation in inventory',
  HOLD: 'making its reservation permanent in inventory',
  FULFIL: 'applying its shipment in inventory',
  CANCEL: 'releasing its cancelled stock in inventory',
  RETURN: 'recording its return in inventory',
};

export interface StuckOrder {
  id: string;
  channelId: string;
  status: OrderStatus;
  /** Units ordered, over all lines. */
  units: number;
}

/** RAISED: the order has waited since `since` for `stage`; `why` is the error met last. */
export function stuckRaised(order: StuckOrder, stage: StuckStage, why: unknown, since: Date, now: Date): OutboxEvent {
  const seconds = Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));
  const reason = why instanceof Error ? why.message.slice(0, 500) : 'no answer';
  return problemEvent({
    kind: 'STUCK_ORDER',
    state: 'RAISED',
    subject: order.id,
    cause: stuckCauseOf(why),
    explanation: `Order ${order.id} (${order.units} units, ${order.status}) has waited ${Math.round(seconds / 60)} min for ${STAGE_TEXT[stage]}, which the sweeper keeps retrying: ${reason}`,
    channelId: order.channelId,
    units: order.units,
    measure: seconds,
    evidence: [{ type: 'ORDER', id: order.id }],
    action: { kind: 'RETRY_ORDER', orderId: order.id },
    at: now.toISOString(),
  });
}

/** CLEARED: nothing of the order is left unfinished (`how` says what finished it). */
export function stuckCleared(order: Pick<StuckOrder, 'id' | 'channelId'>, how: string, now: Date): OutboxEvent {
  return problemEvent({
    kind: 'STUCK_ORDER',
    state: 'CLEARED',
    subject: order.id,
    cause: '',
    explanation: `Order ${order.id} is settled: ${how}.`,
    channelId: order.channelId,
    evidence: [{ type: 'ORDER', id: order.id }],
    at: now.toISOString(),
  });
}
