import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import { DomainError, formatError, refusalError } from '../../lib/errors.js';
import { credentialsFromHeaders, type Authenticator } from '../auth/authenticator.js';
import { OPERATOR, principalOf, type Principal } from './principal.js';
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

/**
 * The caller of a registry request, authenticated before anything runs: a refusal is the request's
 * answer with its HTTP status (401 UNAUTHENTICATED, 429 RATE_LIMITED), as on /graphql.
 */
async function principalOfRequest(authenticator: Authenticator, headers: Record<string, string | string[] | undefined>): Promise<Principal> {
  try {
    return principalOf(await authenticator.identify(credentialsFromHeaders(headers)));
  } catch (err) {
    throw err instanceof DomainError ? refusalError(err) : err;
  }
}

/**
 * Mounts the registry API on the gateway's HTTP server; returns how to stop it. Callers authenticate
 * as on /graphql (`x-api-key`, or `Authorization: Bearer` with an API key or JWT) and always must,
 * whatever AUTH_MODE is; registry scopes decide what they may do.
 */
export async function mountRegistryApi(app: FastifyInstance, service: RegistryService, authenticator: Authenticator): Promise<() => Promise<void>> {
  const apollo = createRegistryApollo();
  await apollo.start();
  app.route({
    url: REGISTRY_PATH,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: fastifyApolloHandler(apollo, {
      context: async (request) => {
        const principal = await principalOfRequest(authenticator, request.headers);
        return { service, principal: async () => principal };
      },
    }),
  });
  return () => apollo.stop();
}

/** Context of an operator on the database (CLI --local): every action allowed. */
export function operatorContext(service: RegistryService): RegistryContext {
  return { service, principal: async () => OPERATOR };
}
