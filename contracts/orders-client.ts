import { z } from 'zod';
import { DependencyUnavailableError } from '../lib/errors.js';
import { SubgraphClient, type CallMeta, type SubgraphClientOptions } from './subgraph-client.js';

/**
 * A typed client of the orders subgraph's GraphQL API, called service to service: marketplace order
 * intake places and cancels orders with it, each idempotent under a key derived from the
 * marketplace's order id.
 */

/** Orders did not answer, or not with a refusal: intake keeps the marketplace order and tries again. */
export class OrdersUnavailableError extends DependencyUnavailableError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('orders', reason, options);
  }
}

const orderSchema = z.object({
  id: z.string(),
  status: z.enum(['PENDING', 'CONFIRMED', 'REJECTED', 'PARTIALLY_FULFILLED', 'FULFILLED', 'CANCELLED']),
  rejection: z
    .object({
      reason: z.string(),
      message: z.string().nullish(),
      lines: z.array(z.object({ sku: z.string(), requested: z.number().int(), available: z.number().int() })),
    })
    .nullish(),
});
export type OrderSummary = z.output<typeof orderSchema>;

const FIELDS = 'id status rejection { reason message lines { sku requested available } }';
const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { ${FIELDS} } }`;
const PLACE_SOLD = `mutation PlaceSold($input: PlaceOrderInput!, $anyLocation: Boolean!) { placeSoldOrder(input: $input, anyLocation: $anyLocation) { ${FIELDS} } }`;
const CANCEL = `mutation Cancel($input: CancelOrderInput!) { cancelOrder(input: $input) { ${FIELDS} } }`;

export interface PlaceOrderInput {
  idempotencyKey: string;
  channelId: string;
  customerReference: string;
  lines: { sku: string; quantity: number }[];
  fulfilment: { method: 'SHIP' };
}

export class OrdersClient {
  private readonly client: SubgraphClient;

  constructor(opts: Omit<SubgraphClientOptions, 'subgraph' | 'unavailable'>) {
    this.client = new SubgraphClient({ ...opts, subgraph: 'orders', unavailable: (reason, options) => new OrdersUnavailableError(reason, options) });
  }

  /**
   * Places the order (every line reserved, or REJECTED with the short lines); a retry under the same key answers the same order.
   * @throws DomainError when orders refuses (NOT_FOUND for a SKU or channel, BAD_USER_INPUT, CONFLICT)
   * @throws OrdersUnavailableError when it does not answer
   */
  async placeOrder(input: PlaceOrderInput, meta: CallMeta): Promise<OrderSummary> {
    return (await this.client.call(PLACE, { input }, z.object({ placeOrder: orderSchema }), meta)).placeOrder;
  }

  /**
   * Places an order the channel already sold (a marketplace order): reserved past the channel's
   * buffer, cap and protection; with `anyLocation`, from any active shipping location as well.
   * Needs the scope orders:intake. Otherwise as placeOrder.
   * @throws DomainError when orders refuses (FORBIDDEN without the scope, and as placeOrder)
   * @throws OrdersUnavailableError when it does not answer
   */
  async placeSoldOrder(input: PlaceOrderInput, anyLocation: boolean, meta: CallMeta): Promise<OrderSummary> {
    return (await this.client.call(PLACE_SOLD, { input, anyLocation }, z.object({ placeSoldOrder: orderSchema }), meta)).placeSoldOrder;
  }

  /**
   * Cancels what is left of the order (inventory releases it); cancelling again changes nothing.
   * @throws DomainError when orders refuses (BAD_USER_INPUT once something shipped)
   * @throws OrdersUnavailableError when it does not answer
   */
  async cancelOrder(input: { orderId: string; idempotencyKey: string; reason: string }, meta: CallMeta): Promise<OrderSummary> {
    return (await this.client.call(CANCEL, { input }, z.object({ cancelOrder: orderSchema }), meta)).cancelOrder;
  }
}
