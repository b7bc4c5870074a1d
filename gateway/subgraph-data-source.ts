import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
// Not re-exported by @apollo/gateway's index; the federation packages are pinned to one exact version.
import { parseCacheControlHeader } from '@apollo/gateway/dist/datasources/parseCacheControlHeader.js';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { Caller } from '../contracts/identity.js';
import { logger } from '../lib/logger.js';
import { SERVICE_TOKEN_HEADER, type ServiceTokenSigner } from '../lib/service-token.js';
import { dedupeRepresentations, EntityFetchBatcher } from './entity-batching.js';
import { fetchFailureKind, type GatewayMetrics } from './metrics.js';
import { toGatewayResponse, type SubgraphTransport } from './subgraph-transport.js';
import { SubgraphTransportError, unavailableResponse } from './subgraph-unavailable.js';

/** The request context fields a subgraph fetch forwards. */
export interface SubgraphFetchContext {
  requestId?: string;
  clientId?: string | null;
  /** Who is calling (null under AUTH_MODE=off): the service token names its client and scopes. */
  caller?: Caller | null;
}

/** A fetch's options; `sentAsIs`: the caller sends the answer's data on as it came (single-fetch.ts), so it need not be read. */
export type SubgraphProcessOptions<C extends Record<string, any>> = GraphQLDataSourceProcessOptions<C> & { sentAsIs?: boolean };

/** What the gateway's service token says of its caller: its client and scopes (AUTH_MODE=off: the x-client-id it named, no scopes). */
export function tokenSubject(context: SubgraphFetchContext): { clientId: string | null; scopes: readonly string[]; anonymous?: boolean } {
  const caller = context.caller;
  if (!caller) return { clientId: context.clientId ?? null, scopes: [] };
  if (caller.kind === 'anonymous') return { clientId: null, scopes: caller.scopes, anonymous: true };
  return { clientId: caller.clientId, scopes: caller.scopes };
}

/**
 * One subgraph as @apollo/gateway's data source, in place of RemoteGraphQLDataSource (whose every
 * fetch built node-fetch Headers and a Request it never sent):
 * - forwards the request id (one id ties the logs of all hops together) and a service token it
 *   signs naming the caller's client and scopes (SERVICE_AUTH), which the subgraph checks;
 * - for queries, merges the `_entities` fetches of concurrent requests into one (EntityFetchBatcher)
 *   and shares an identical fetch already in flight (SubgraphTransport); a mutation's fetches never
 *   do either: its reads must see its writes;
 * - asks for each distinct entity of an `_entities` fetch once (dedupeRepresentations);
 * - a fetch that gets no usable answer (refused, reset, SUBGRAPH_TIMEOUT_MS, a 5xx, a 401/403, no GraphQL) answers
 *   SUBGRAPH_UNAVAILABLE errors at the paths it was to fill instead of failing the plan, so the rest
 *   of the response is served; the next request simply tries the subgraph again;
 * - times every fetch and counts its failures by kind when given metrics.
 */
export class SubgraphDataSource<C extends SubgraphFetchContext = SubgraphFetchContext> implements GraphQLDataSource<C> {
  constructor(
    readonly serviceName: string,
    readonly url: string,
    private readonly transport: SubgraphTransport,
    private readonly metrics: GatewayMetrics | null = null,
    /** Whether fetches of concurrent queries may merge and share (GATEWAY_SHARE_INFLIGHT). */
    private readonly share = true,
    /** How long entity fetches wait to merge (GATEWAY_BATCH_WINDOW_MS). */
    batchWindowMs = 0,
    /** Signs the service token of each fetch; null under SERVICE_AUTH=off (the client id then goes as x-client-id). */
    private readonly tokens: ServiceTokenSigner | null = null,
    /** One of the system's own subgraphs (SUBGRAPH_NAMES): its word that an answer is data alone is taken (lib/subgraph-answers.ts). */
    private readonly own = false,
  ) {
    this.batcher = new EntityFetchBatcher(batchWindowMs);
  }

  private readonly batcher: EntityFetchBatcher;

  async process(options: SubgraphProcessOptions<C>): Promise<GatewayGraphQLResponse> {
    try {
      return await this.batcher.fetch(this.batchKey(options), options.request, (request) => this.deduped(request, options));
    } catch (err) {
      if (!(err instanceof SubgraphTransportError)) throw err;
      logger().warn({ subgraph: this.serviceName, reason: err.reason, detail: err.cause instanceof Error ? err.cause.message : undefined }, 'subgraph unavailable');
      return unavailableResponse(options.request, 'document' in options ? options.document : undefined, err);
    }
  }

  /** Each distinct entity is asked for once. */
  private async deduped(request: GatewayGraphQLRequest, options: SubgraphProcessOptions<C>): Promise<GatewayGraphQLResponse> {
    const deduped = dedupeRepresentations(request);
    if (!deduped) return this.measured(request, options);
    return deduped.expand(await this.measured(deduped.request, options));
  }

  /**
   * Entity fetches of queries merge with others of the same operation, other variables and client
   * made at the same time (EntityFetchBatcher); null: sent alone.
   */
  private batchKey(options: GraphQLDataSourceProcessOptions<C>): string | null {
    const shareKey = this.shareKey(options);
    const { query, variables } = options.request;
    if (shareKey === null || !query || !Array.isArray(variables?.['representations'])) return null;
    const { representations: _, ...others } = variables;
    return `${shareKey}\n${query}\n${JSON.stringify(others)}`;
  }

  /** The caller a fetch made for a query may share with (subgraphs answer by the body, the client and its scopes alone); null for anything else. */
  private shareKey(options: GraphQLDataSourceProcessOptions<C>): string | null {
    if (!this.share || !('incomingRequestContext' in options) || options.incomingRequestContext.operation?.operation !== 'query') return null;
    // The subgraph checks the scopes again: only fetches of one client with the same scopes are alike.
    const who = tokenSubject(options.context as SubgraphFetchContext);
    return `${who.clientId ?? ''}\n${who.anonymous ? 'anonymous' : who.scopes.join(' ')}`;
  }

  private async measured(request: GatewayGraphQLRequest, options: SubgraphProcessOptions<C>): Promise<GatewayGraphQLResponse> {
    if (!this.metrics) return this.fetch(request, options);
    const subgraph = this.serviceName;
    const end = this.metrics.fetchDuration.startTimer({ subgraph });
    try {
      const response = await this.fetch(request, options);
      if (response.errors?.length) this.metrics.fetchErrors.inc({ subgraph, kind: 'graphql' });
      return response;
    } catch (err) {
      this.metrics.fetchErrors.inc({ subgraph, kind: fetchFailureKind(err) });
      throw err;
    } finally {
      end();
    }
  }

  private async fetch(request: GatewayGraphQLRequest, options: SubgraphProcessOptions<C>): Promise<GatewayGraphQLResponse> {
    if (!request.query) throw new Error('Missing query');
    const context = options.context as SubgraphFetchContext;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // The gateway's own (an Apollo trace request, when usage reporting asks for it).
    if (request.http) for (const [name, value] of request.http.headers) headers[name] = value;
    if (context.requestId) headers['x-request-id'] = context.requestId;
    if (this.tokens) headers[SERVICE_TOKEN_HEADER] = await this.tokens.token(this.serviceName, tokenSubject(context));
    else if (context.clientId) headers['x-client-id'] = context.clientId;
    const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : null;
    const shareKey = this.shareKey(options);
    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName, extensions: request.extensions });
    const answer = await this.transport.post(this.serviceName, this.url, body, headers, shareKey);
    const policy = incoming?.overallCachePolicy as { restrict?: (hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }) => void } | undefined;
    // As RemoteGraphQLDataSource: the response is cacheable only as long as every subgraph said it is.
    if (policy?.restrict) policy.restrict(cacheHint(answer.cacheControl));
    return toGatewayResponse(this.serviceName, this.url, answer, { sentAsIs: options.sentAsIs === true, own: this.own });
  }
}

function cacheHint(header: string | null): { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } {
  const parsed = parseCacheControlHeader(header);
  const maxAge = parsed['max-age'];
  return {
    maxAge: typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge) ? Number(maxAge) : 0,
    ...(parsed['private'] === true ? { scope: 'PRIVATE' as const } : parsed['public'] === true ? { scope: 'PUBLIC' as const } : {}),
  };
}
