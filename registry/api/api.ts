import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import { DomainError, formatError, refusalError } from '../../lib/errors.js';
import type { Caller } from '../../contracts/identity.js';
import { OPERATOR, principalOf, type Principal } from '../domain/principal.js';
import type { RegistryService } from '../services/registry.service.js';
import type { ApiKeyService } from '../services/api-keys.service.js';
import { ApiKeyAdmin } from '../services/key-admin.service.js';
import { registryResolvers, type RegistryContext } from './resolvers/registry.js';

export const REGISTRY_PATH = '/registry/graphql';

type RequestHeaders = Record<string, string | string[] | undefined>;
/** Who sent a request, from its headers (the gateway's authenticator: the same keys and JWTs as on /graphql). */
export type IdentifyRequest = (headers: RequestHeaders) => Promise<Caller>;

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
async function principalOfRequest(identify: IdentifyRequest, headers: RequestHeaders): Promise<Principal> {
  try {
    return principalOf(await identify(headers));
  } catch (err) {
    throw err instanceof DomainError ? refusalError(err) : err;
  }
}

/**
 * Mounts the registry API on the gateway's HTTP server; returns how to stop it. Callers authenticate
 * as on /graphql (`x-api-key`, or `Authorization: Bearer` with an API key or JWT) and always must,
 * whatever AUTH_MODE is; registry scopes decide what they may do.
 */
export async function mountRegistryApi(app: FastifyInstance, service: RegistryService, keys: ApiKeyAdmin, identify: IdentifyRequest): Promise<() => Promise<void>> {
  const apollo = createRegistryApollo();
  await apollo.start();
  app.route({
    url: REGISTRY_PATH,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: fastifyApolloHandler(apollo, {
      context: async (request) => {
        const principal = await principalOfRequest(identify, request.headers);
        return { service, keys, principal: async () => principal };
      },
    }),
  });
  return () => apollo.stop();
}

/** Context of an operator on the database (CLI --local): every action allowed; `keys`: the API keys on the same database. */
export function operatorContext(service: RegistryService, keys: ApiKeyService): RegistryContext {
  return { service, keys: new ApiKeyAdmin(keys), principal: async () => OPERATOR };
}
