import { z } from 'zod';
import { DependencyUnavailableError } from '../lib/errors.js';
import { SubgraphClient, type CallMeta, type SubgraphClientOptions } from './subgraph-client.js';

export { domainErrorOf, type CallMeta } from './subgraph-client.js';

/**
 * A typed client of inventory's GraphQL API, called service to service (not through the gateway).
 * Orders owns no stock rows and changes stock only through these calls, each idempotent under a key
 * orders derives from its own ids; the marketplace push reads channels' available-to-sell with it.
 */

/**
 * Inventory did not answer, timed out, or answered with something other than a domain error. What
 * was recorded stays recorded and is finished by a retry with the same idempotency key or by the
 * sweeper; a client that meets it sees SUBGRAPH_UNAVAILABLE with serviceName "inventory".
 */
export class InventoryUnavailableError extends DependencyUnavailableError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('inventory', reason, options);
  }
}


export interface ReserveInput {
  idempotencyKey: string;
  channelId: string;
  lines: { sku: string; quantity: number }[];
  ttlSeconds: number;
  pickupLocationId: string | null;
  reference: string;
}

export interface ReturnMovementInput {
  idempotencyKey: string;
  sku: string;
  locationId: string;
  quantity: number;
  condition: 'RESALABLE' | 'DAMAGED';
  reference: string;
}

/**
 * What a reservation is for. LIVE: a buyer at the channel now, within its rule (sources, buffer,
 * cap, protection; reserveStock). SOLD: a sale the channel already made (a marketplace order taken
 * in after the fact; reserveSoldStock): the buffer, cap and protection exist to absorb exactly such
 * late sales, so they hold nothing back from it. SOLD_ANY_LOCATION: as SOLD, then from every other
 * active location that ships (reserveSoldStock anyLocation: the REALLOCATE oversell policy). Orders
 * keep it per order (placeOrder, placeSoldOrder); only a caller with orders:intake may ask other than LIVE.
 */
export const SOURCINGS = ['LIVE', 'SOLD', 'SOLD_ANY_LOCATION'] as const;
export type Sourcing = (typeof SOURCINGS)[number];

const reservationSchema = z.object({
  __typename: z.literal('Reservation'),
  id: z.string(),
  status: z.enum(['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED']),
  expiresAt: z.string().nullable(),
});
export type ReservationSummary = z.output<typeof reservationSchema>;

const shortSchema = z.object({
  __typename: z.literal('InsufficientStock'),
  lines: z.array(z.object({ sku: z.string(), locationId: z.string().nullable(), requested: z.number(), available: z.number() })),
});
export type InsufficientStock = z.output<typeof shortSchema>;

const RESERVATION_FIELDS = '__typename id status expiresAt';

const RESERVE = `mutation OrdersReserve($input: ReserveStockInput!) { reserveStock(input: $input) {
  __typename
  ... on Reservation { id status expiresAt }
  ... on InsufficientStock { lines { sku locationId requested available } }
} }`;
const RESERVE_SOLD = `mutation OrdersReserveSold($input: ReserveStockInput!, $anyLocation: Boolean!) { reserveSoldStock(input: $input, anyLocation: $anyLocation) {
  __typename
  ... on Reservation { id status expiresAt }
  ... on InsufficientStock { lines { sku locationId requested available } }
} }`;
const EXTEND = `mutation OrdersHold($id: ID!) { extendReservation(id: $id, ttlSeconds: null) { ${RESERVATION_FIELDS} } }`;
const COMMIT = `mutation OrdersShip($input: CommitReservationInput!) { commitReservation(input: $input) { ${RESERVATION_FIELDS} } }`;
const RELEASE = `mutation OrdersRelease($id: ID!) { releaseReservation(id: $id) { ${RESERVATION_FIELDS} } }`;
const RETURN = `mutation OrdersReturn($input: StockMovementInput!) { recordMovement(input: $input) { replayed } }`;
const RESERVATION = `query OrdersReservation($id: ID!) { reservation(id: $id) { ${RESERVATION_FIELDS} } }`;

// Read your writes: what a push or a drift repair tells a marketplace includes every change committed before it asked.
const AVAILABILITY = `query ChannelAvailableToSell($channelId: ID!, $skus: [String!]!) {
  availability(channelId: $channelId, skus: $skus, consistency: READ_YOUR_WRITES) { sku availableToSell }
}`;
const ITEMS_PAGE = `query InventorySkus($first: Int!, $after: String) {
  inventoryItemsPage(first: $first, after: $after) { edges { node { sku } } pageInfo { hasNextPage endCursor } }
}`;

/** Most SKUs inventory answers availability for in one call. */
export const AVAILABILITY_BATCH = 100;

export type InventoryClientOptions = Omit<SubgraphClientOptions, 'subgraph' | 'unavailable'>;

export class InventoryClient {
  private readonly client: SubgraphClient;

  constructor(opts: InventoryClientOptions) {
    this.client = new SubgraphClient({ ...opts, subgraph: 'inventory', unavailable: (reason, options) => new InventoryUnavailableError(reason, options) });
  }

  /**
   * Reserves every line or none; a retry under the same key answers the reservation it made.
   * @throws DomainError when inventory refuses (NOT_FOUND, BAD_USER_INPUT, CONFLICT)
   * @throws InventoryUnavailableError when it does not answer
   */
  async reserveStock(input: ReserveInput, meta: CallMeta): Promise<ReservationSummary | InsufficientStock> {
    const schema = z.object({ reserveStock: z.discriminatedUnion('__typename', [reservationSchema, shortSchema]) });
    return (await this.call(RESERVE, { input }, schema, meta)).reserveStock;
  }

  /**
   * Reserves for a sale the channel already made (past its buffer, cap and protection; with
   * `anyLocation`, from any active shipping location too); needs the scope orders:intake.
   * @throws DomainError when inventory refuses (FORBIDDEN without the scope, and as reserveStock)
   * @throws InventoryUnavailableError when it does not answer
   */
  async reserveSoldStock(input: ReserveInput, anyLocation: boolean, meta: CallMeta): Promise<ReservationSummary | InsufficientStock> {
    const schema = z.object({ reserveSoldStock: z.discriminatedUnion('__typename', [reservationSchema, shortSchema]) });
    return (await this.call(RESERVE_SOLD, { input, anyLocation }, schema, meta)).reserveSoldStock;
  }

  /**
   * Makes an active reservation permanent (no time to live): its order is confirmed.
   * @throws DomainError CONFLICT when it expired or holds nothing any more
   * @throws InventoryUnavailableError when inventory does not answer
   */
  async holdReservation(id: string, meta: CallMeta): Promise<ReservationSummary> {
    return (await this.call(EXTEND, { id }, z.object({ extendReservation: reservationSchema }), meta)).extendReservation;
  }

  /**
   * Ships reserved units; a retry under the same key changes nothing.
   * @throws DomainError when inventory refuses (CONFLICT, INSUFFICIENT_STOCK, BAD_USER_INPUT)
   * @throws InventoryUnavailableError when it does not answer
   */
  async commitReservation(
    input: { reservationId: string; idempotencyKey: string; lines: { sku: string; quantity: number }[] },
    meta: CallMeta,
  ): Promise<ReservationSummary> {
    return (await this.call(COMMIT, { input }, z.object({ commitReservation: reservationSchema }), meta)).commitReservation;
  }

  /**
   * Releases what the reservation still holds; releasing again changes nothing.
   * @throws DomainError NOT_FOUND for an unknown reservation
   * @throws InventoryUnavailableError when inventory does not answer
   */
  async releaseReservation(id: string, meta: CallMeta): Promise<ReservationSummary> {
    return (await this.call(RELEASE, { id }, z.object({ releaseReservation: reservationSchema }), meta)).releaseReservation;
  }

  /**
   * Records a RETURN movement; a retry under the same key changes nothing.
   * @throws DomainError when inventory refuses (NOT_FOUND for an unknown location or SKU)
   * @throws InventoryUnavailableError when it does not answer
   */
  async recordReturn(input: ReturnMovementInput, meta: CallMeta): Promise<{ replayed: boolean }> {
    const schema = z.object({ recordMovement: z.object({ replayed: z.boolean() }) });
    return (await this.call(RETURN, { input: { type: 'RETURN', ...input } }, schema, meta)).recordMovement;
  }

  /** @throws InventoryUnavailableError when inventory does not answer */
  async reservation(id: string, meta: CallMeta): Promise<ReservationSummary | null> {
    return (await this.call(RESERVATION, { id }, z.object({ reservation: reservationSchema.nullable() }), meta)).reservation;
  }

  /**
   * The channel's available-to-sell of each SKU, AVAILABILITY_BATCH SKUs per call, the calls made together.
   * @returns quantity per SKU; a SKU inventory does not know is absent
   * @throws DomainError NOT_FOUND for an unknown channel
   * @throws InventoryUnavailableError when inventory does not answer
   */
  async availableToSell(channelId: string, skus: readonly string[], meta: CallMeta): Promise<Map<string, number>> {
    const schema = z.object({ availability: z.array(z.object({ sku: z.string(), availableToSell: z.number().int() }).nullable()) });
    const chunks: string[][] = [];
    for (let i = 0; i < skus.length; i += AVAILABILITY_BATCH) chunks.push(skus.slice(i, i + AVAILABILITY_BATCH));
    const replies = await Promise.all(chunks.map((chunk) => this.call(AVAILABILITY, { channelId, skus: chunk }, schema, meta)));
    return new Map(replies.flatMap((r) => r.availability.flatMap((a) => (a ? [[a.sku, a.availableToSell] as const] : []))));
  }

  /**
   * A page of every SKU inventory knows, in SKU order.
   * @throws InventoryUnavailableError when inventory does not answer
   */
  async skuPage(first: number, after: string | null, meta: CallMeta): Promise<{ skus: string[]; next: string | null }> {
    const schema = z.object({
      inventoryItemsPage: z.object({
        edges: z.array(z.object({ node: z.object({ sku: z.string() }) })),
        pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
      }),
    });
    const { edges, pageInfo } = (await this.call(ITEMS_PAGE, { first, after }, schema, meta)).inventoryItemsPage;
    return { skus: edges.map((e) => e.node.sku), next: pageInfo.hasNextPage ? pageInfo.endCursor : null };
  }

  private call<S extends z.ZodType>(query: string, variables: Record<string, unknown>, schema: S, meta: CallMeta): Promise<z.output<S>> {
    return this.client.call(query, variables, schema, meta);
  }
}
