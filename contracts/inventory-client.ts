import { z } from 'zod';
import {
  BadUserInputError,
  ConflictError,
  DependencyUnavailableError,
  InsufficientStockError,
  NotFoundError,
  type DomainError,
  type InputIssue,
} from '../lib/errors.js';
import { SERVICE_TOKEN_HEADER, type ServiceTokenSigner } from '../lib/service-token.js';

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

/** Who a call is made for: x-request-id (one id across every hop's logs), and the client the service token names (inventory's actor). */
export interface CallMeta {
  requestId: string;
  clientId: string | null;
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
const EXTEND = `mutation OrdersHold($id: ID!) { extendReservation(id: $id, ttlSeconds: null) { ${RESERVATION_FIELDS} } }`;
const COMMIT = `mutation OrdersShip($input: CommitReservationInput!) { commitReservation(input: $input) { ${RESERVATION_FIELDS} } }`;
const RELEASE = `mutation OrdersRelease($id: ID!) { releaseReservation(id: $id) { ${RESERVATION_FIELDS} } }`;
const RETURN = `mutation OrdersReturn($input: StockMovementInput!) { recordMovement(input: $input) { replayed } }`;
const RESERVATION = `query OrdersReservation($id: ID!) { reservation(id: $id) { ${RESERVATION_FIELDS} } }`;

const AVAILABILITY = `query ChannelAvailableToSell($channelId: ID!, $skus: [String!]!) {
  availability(channelId: $channelId, skus: $skus) { sku availableToSell }
}`;
const ITEMS_PAGE = `query InventorySkus($first: Int!, $after: String) {
  inventoryItemsPage(first: $first, after: $after) { edges { node { sku } } pageInfo { hasNextPage endCursor } }
}`;

/** Most SKUs inventory answers availability for in one call. */
export const AVAILABILITY_BATCH = 100;

const graphQLErrorSchema = z.object({
  message: z.string(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});
const envelopeSchema = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: z.array(graphQLErrorSchema).optional(),
});

const notFoundDetails = z.object({ entity: z.string(), id: z.union([z.string(), z.number()]) });
const issuesSchema = z.array(z.object({ path: z.string(), message: z.string() }));

/**
 * Inventory's refusal as our own domain error with the same code, message and details; null when
 * the error is no refusal (a server error, a schema mismatch): then inventory counts as unavailable.
 */
export function domainErrorOf(error: z.output<typeof graphQLErrorSchema>): DomainError | null {
  const { code, ...details } = error.extensions ?? {};
  switch (code) {
    case 'NOT_FOUND': {
      const d = notFoundDetails.safeParse(details);
      return d.success ? new NotFoundError(d.data.entity, d.data.id) : new NotFoundError('Inventory resource', error.message);
    }
    case 'BAD_USER_INPUT': {
      const issues = issuesSchema.safeParse(details.issues);
      return new BadUserInputError(error.message, issues.success ? (issues.data as InputIssue[]) : []);
    }
    case 'CONFLICT':
      return new ConflictError(error.message, details);
    case 'INSUFFICIENT_STOCK':
      return new InsufficientStockError(error.message, details);
    default:
      return null;
  }
}

export interface InventoryClientOptions {
  /** Inventory's GraphQL endpoint. */
  url: string;
  /** Per call. */
  timeoutMs: number;
  /**
   * The calling service's signer and the scopes it signs for itself; null under SERVICE_AUTH=off
   * (the client then goes as x-client-id).
   */
  identity: { signer: ServiceTokenSigner; scopes: readonly string[] } | null;
}

export class InventoryClient {
  constructor(private readonly opts: InventoryClientOptions) {}

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

  /**
   * One POST. Answers `data` parsed with `schema`; throws inventory's refusal as a DomainError, and
   * anything else (no answer, a timeout, a server error, a shape we do not expect) as unavailability.
   */
  private async call<S extends z.ZodType>(query: string, variables: Record<string, unknown>, schema: S, meta: CallMeta): Promise<z.output<S>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': meta.requestId };
    const { identity } = this.opts;
    if (identity) headers[SERVICE_TOKEN_HEADER] = await identity.signer.token('inventory', { clientId: meta.clientId, scopes: identity.scopes });
    else if (meta.clientId) headers['x-client-id'] = meta.clientId;
    let status: number;
    let body: unknown;
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      status = res.status;
      body = await res.json();
    } catch (err) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
      const cause = (err as Error).cause as { code?: string; message?: string } | undefined;
      const why = cause ? `${(err as Error).message} (${cause.code ?? cause.message})` : (err as Error).message;
      throw new InventoryUnavailableError(why, { cause: err });
    }
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) throw new InventoryUnavailableError(`HTTP ${status} with an unexpected body`);
    const [first] = envelope.data.errors ?? [];
    if (first) {
      const refusal = domainErrorOf(first);
      if (refusal) throw refusal;
      throw new InventoryUnavailableError(`HTTP ${status}: ${String(first.extensions?.code ?? 'no code')}: ${first.message}`);
    }
    const data = schema.safeParse(envelope.data.data);
    if (!data.success) throw new InventoryUnavailableError(`HTTP ${status} with unexpected data: ${data.error.message}`);
    return data.data;
  }
}
