import { DomainError } from '../../../lib/errors.js';

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
