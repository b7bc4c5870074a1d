import { ApolloServer } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { formatError } from '../lib/errors.js';
import { clientIdFrom, startHttpService, type RunningService } from '../lib/server.js';

export interface GatewayContext {
  requestId: string;
  clientId: string | null;
}

export interface GatewayOptions {
  supergraphSdl: string;
  /** Routing URLs that replace the supergraph's own, by subgraph name (tests, containers). */
  urlOverrides?: Partial<Record<string, string>>;
  host: string;
  port: number;
}

/** Forwards the request id (one id ties the logs of all hops together) and the client id to every subgraph fetch. */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]): void {
    if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
    if (context.clientId) request.http?.headers.set('x-client-id', context.clientId);
  }
}

export function createGateway(opts: Pick<GatewayOptions, 'supergraphSdl' | 'urlOverrides'>): ApolloGateway {
  return new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        url: opts.urlOverrides?.[name] ?? url,
        // Node's fetch (undici) keeps connections to subgraphs alive and pooled.
        fetcher: fetch as unknown as Fetcher,
      }),
  });
}

/** Serves the supergraph at /graphql with health endpoints and graceful shutdown. */
export async function startGateway(opts: GatewayOptions): Promise<RunningService & { gateway: ApolloGateway }> {
  const gateway = createGateway(opts);
  const service = await startHttpService<GatewayContext>({
    name: 'gateway',
    host: opts.host,
    port: opts.port,
    apollo: (plugins) =>
      new ApolloServer<GatewayContext>({
        gateway,
        plugins,
        formatError,
        includeStacktraceInErrorResponses: false,
        // closeOnSignals owns SIGTERM/SIGINT: a second handler would stop Apollo before Fastify drains.
        stopOnTerminationSignals: false,
        introspection: true,
      }),
    context: async (request) => ({ requestId: request.id, clientId: clientIdFrom(request.headers['x-client-id']) }),
    readiness: {
      supergraph: async () => {
        if (!gateway.schema) throw new Error('no supergraph loaded');
      },
    },
  });
  return { ...service, gateway };
}
