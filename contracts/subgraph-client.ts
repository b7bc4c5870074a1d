import { z } from 'zod';
import { BadUserInputError, ConflictError, InsufficientStockError, NotFoundError, type DomainError, type InputIssue } from '../lib/errors.js';
import { SERVICE_TOKEN_HEADER, type ServiceTokenSigner } from '../lib/service-token.js';

/**
 * One service calling another subgraph's GraphQL API directly (not through the gateway), with a
 * service token of its own: the typed clients (inventory-client.ts, orders-client.ts) are built on it.
 */

/** Who a call is made for: x-request-id (one id across every hop's logs), and the client the service token names (the callee's actor). */
export interface CallMeta {
  requestId: string;
  clientId: string | null;
}

export interface SubgraphClientOptions {
  /** The subgraph's GraphQL endpoint. */
  url: string;
  /** The subgraph (the service token's audience). */
  subgraph: string;
  /** Per call. */
  timeoutMs: number;
  /**
   * The calling service's signer and the scopes it signs for itself; null under SERVICE_AUTH=off
   * (the client then goes as x-client-id).
   */
  identity: { signer: ServiceTokenSigner; scopes: readonly string[] } | null;
  /** The error for "did not answer, or not with a refusal". */
  unavailable: (reason: string, options?: { cause?: unknown }) => Error;
}

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
 * The subgraph's refusal as our own domain error with the same code, message and details; null when
 * the error is no refusal (a server error, a schema mismatch): then the subgraph counts as unavailable.
 */
export function domainErrorOf(error: z.output<typeof graphQLErrorSchema>): DomainError | null {
  const { code, ...details } = error.extensions ?? {};
  switch (code) {
    case 'NOT_FOUND': {
      const d = notFoundDetails.safeParse(details);
      return d.success ? new NotFoundError(d.data.entity, d.data.id) : new NotFoundError('Resource', error.message);
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

export class SubgraphClient {
  constructor(private readonly opts: SubgraphClientOptions) {}

  /**
   * One POST. Answers `data` parsed with `schema`; throws inventory's refusal as a DomainError, and
   * anything else (no answer, a timeout, a server error, a shape we do not expect) as unavailability.
   */
  async call<S extends z.ZodType>(query: string, variables: Record<string, unknown>, schema: S, meta: CallMeta): Promise<z.output<S>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': meta.requestId };
    const { identity } = this.opts;
    if (identity) headers[SERVICE_TOKEN_HEADER] = await identity.signer.token(this.opts.subgraph, { clientId: meta.clientId, scopes: identity.scopes });
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
      throw this.opts.unavailable(why, { cause: err });
    }
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) throw this.opts.unavailable(`HTTP ${status} with an unexpected body`);
    const [first] = envelope.data.errors ?? [];
    if (first) {
      const refusal = domainErrorOf(first);
      if (refusal) throw refusal;
      throw this.opts.unavailable(`HTTP ${status}: ${String(first.extensions?.code ?? 'no code')}: ${first.message}`);
    }
    const data = schema.safeParse(envelope.data.data);
    if (!data.success) throw this.opts.unavailable(`HTTP ${status} with unexpected data: ${data.error.message}`);
    return data.data;
  }
}
