import { DomainError } from '../../lib/errors.js';

/**
 * A lifecycle step the order's status does not allow (cancelling a FULFILLED order, fulfilling a
 * REJECTED one). A BAD_USER_INPUT, with the current status in `extensions.status`: the request is
 * wrong for this order, and sending it again will not help.
 */
export class OrderStateError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(message: string, status: string) {
    super(message, { status, issues: [{ path: 'orderId', message: `the order is ${status}` }] });
  }
}

/**
 * Inventory did not answer, timed out, or answered with something other than a domain error. Not a
 * DomainError: clients see INTERNAL_SERVER_ERROR. What was recorded stays recorded and is finished
 * by a retry with the same idempotency key or by the sweeper.
 */
export class InventoryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`Inventory unavailable: ${message}`, options);
    this.name = 'InventoryUnavailableError';
  }
}
