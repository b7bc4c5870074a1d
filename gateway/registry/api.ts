import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import { formatError } from '../../lib/errors.js';
import { OPERATOR, type Principal } from './principal.js';
import type { RegistryService } from './registry.service.js';
import { registryResolvers, type RegistryContext } from './resolvers/registry.js';

export const REGISTRY_PATH = '/registry/graphql';

const typeDefs = readFileSync(new URL('schema.graphql', import.meta.url), 'utf8');

/** The registry API's Apollo server (the gateway serves it over HTTP; the CLI's --local mode runs it in-process). */
export function createRegistryApollo(plugins: ApolloServerPlugin<RegistryContext>[] = []): ApolloServer<RegistryContext> {
  return new ApolloServer<RegistryContext>({
    typeDefs,
    resolvers: registryResolvers,
    plugins,
    formatError,
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    introspection: true,
  });
}

function bearer(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return match ? match[1]! : null;
}

/** A request's caller, authenticated once and only when a resolver asks. */
function lazyPrincipal(load: () => Promise<Principal>): () => Promise<Principal> {
  let cached: Promise<Principal> | undefined;
  return () => (cached ??= load());
}

/** Mounts the registry API on the gateway's HTTP server; returns how to stop it. */
export async function mountRegistryApi(app: FastifyInstance, service: RegistryService): Promise<() => Promise<void>> {
  const apollo = createRegistryApollo();
  await apollo.start();
  app.route({
    url: REGISTRY_PATH,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: fastifyApolloHandler(apollo, {
      context: async (request) => ({
        service,
        principal: lazyPrincipal(() => service.authenticate(bearer(request.headers.authorization))),
      }),
    }),
  });
  return () => apollo.stop();
}

/** Context of an operator on the database (CLI --local): every action allowed. */
export function operatorContext(service: RegistryService): RegistryContext {
  return { service, principal: async () => OPERATOR };
}
