import { parse as parseYaml } from 'yaml';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse } from 'graphql';
import { readSupergraphConfig } from '../contracts/composition.js';
import { startRegistryGateway, type RegistryGateway } from '../gateway/boot.js';
import { ApiKeyService, SUPERGRAPH_VERSION_HEADER } from '../registry/index.js';
import { configWith, registryDatabaseName, SUBGRAPH_NAMES, type Config } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { gql, type GraphQLResponse } from './client.js';
import { dropKeys, waitFor } from './events.js';
import { startStack, type Stack } from './stack.js';

export interface RegistryStack {
  stack: Stack;
  gateway: RegistryGateway;
  cfg: Config;
  /** The gateway's /graphql. */
  url: string;
  /** The registry API. */
  registryUrl: string;
  /** An API key of this registry with the scope registry:admin. */
  adminToken: string;
  close(): Promise<void>;
}

/**
 * The four subgraphs (test/stack.ts) and a registry-backed gateway on a registry database and
 * Redis keys of its own (dropped on close), seeded from supergraph.yaml with the routing URLs
 * pointed at the stack's subgraphs.
 */
export async function startRegistryStack(env: Record<string, string> = {}): Promise<RegistryStack> {
  const stack = await startStack();
  const id = randomUUID().slice(0, 8);
  const cfg = configWith({
    DB_PREFIX: `omnistock_reg_${id}`,
    REDIS_KEY_PREFIX: `omnistock_test:reg${id}`,
    REGISTRY_POLL_MS: '100',
    ...env,
  });
  const gateway = await startRegistryGateway({
    cfg,
    seed: await readSupergraphConfig('supergraph.yaml'),
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])),
    subscriptionUrls: { inventory: stack.subgraphs.inventory.url.replace(/^http/, 'ws') },
    host: '127.0.0.1',
    port: 0,
  });
  const { key: token } = await new ApiKeyService(gateway.registry.dataSource).create({
    clientId: 'operators',
    team: 'operators',
    scopes: ['registry:admin'],
    expiresInMs: 3_600_000,
    createdBy: 'registry-helpers',
    description: 'test admin',
  });
  return {
    stack,
    gateway,
    cfg,
    url: gateway.url,
    registryUrl: gateway.registryUrl,
    adminToken: token,
    async close() {
      await gateway.close();
      const redis = createRedis(redisTarget(cfg));
      await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
      await redis.quit();
      // Any open connection to the server can drop the registry's database (its own pool is closed).
      await stack.subgraphs.inventory.dataSource.query(`DROP DATABASE IF EXISTS \`${registryDatabaseName(cfg)}\``);
      await stack.close();
    },
  };
}

/** Calls the registry API with a bearer token (an API key or JWT). */
export function registryClient(url: string, token: string | null) {
  return <T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> =>
    gql<T>(url, query, variables, token ? { authorization: `Bearer ${token}` } : {});
}

/** The supergraph version a gateway answer says it was served from. */
export function servedVersion(res: { headers: Headers }): number | null {
  const value = res.headers.get(SUPERGRAPH_VERSION_HEADER);
  return value === null ? null : Number(value);
}

/** Waits until the gateway answers from supergraph version `version` or later. */
export async function waitForVersion(gatewayUrl: string, version: number): Promise<void> {
  await waitFor(`the gateway serving supergraph v${version}`, async () => {
    const res = await gql(gatewayUrl, '{ __typename }');
    return (servedVersion(res) ?? 0) >= version;
  });
}

/** A subgraph's schema file, as supergraph.yaml names it. */
export function repoSchemaFile(subgraph: string): string {
  const config = parseYaml(readFileSync('supergraph.yaml', 'utf8')) as { subgraphs: Record<string, { schema: { file: string } }> };
  return config.subgraphs[subgraph]!.schema.file;
}

/** A subgraph's SDL as it is in the repository. */
export function repoSdl(subgraph: string): string {
  return readFileSync(repoSchemaFile(subgraph), 'utf8');
}

/** A small @apollo/subgraph server on a free port (a partner's subgraph). */
export async function startPartnerSubgraph(sdl: string, resolvers: GraphQLResolverMap<unknown>): Promise<{ url: string; close(): Promise<void> }> {
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs: parse(sdl), resolvers }), plugins: [ApolloServerPluginInlineTraceDisabled()] });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url: `${url.replace(/\/$/, '')}/graphql`, close: () => server.stop() };
}

/** The publish mutation with every field the tests read. */
export const PUBLISH = `mutation($input: PublishInput!) {
  publish(input: $input) {
    __typename
    ... on Published { created supergraphVersion schemaVersion { version hash } check { id ok } }
    ... on PublishRejected { reasons check { ...Check } }
  }
}
fragment Check on CheckResult {
  id ok blockers text
  composition { ok errors { code message subgraphs } }
  changes { fingerprint type coordinate criticality originalCriticality approved usage { clientId operations { name hash count } } }
  lint { rule coordinate message }
}`;

export const CHECK = `mutation($input: CheckInput!) {
  check(input: $input) { id ok blockers text endpointProblems { kind code message } composition { ok errors { code message subgraphs } } changes { fingerprint type coordinate criticality originalCriticality approved usage { clientId operations { name hash count } } } lint { rule coordinate message } }
}`;

/** Has the registry's admin allow the host of `url` for `subgraph` (a partner's publish may name only allowed hosts). */
export async function allowHost(reg: RegistryStack, subgraph: string, url: string): Promise<void> {
  const res = await registryClient(reg.registryUrl, reg.adminToken)(`mutation($s: String!, $h: [String!]!) { allowSubgraphHosts(subgraph: $s, hosts: $h) }`, { s: subgraph, h: [new URL(url).host] });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
}

/** A new API key of this registry for a client named `<prefix>-<random>`, with `scopes` (and `team` when given), valid for an hour. */
export async function issueKey(reg: RegistryStack, prefix: string, scopes: string[], team?: string): Promise<string> {
  const { key } = await new ApiKeyService(reg.gateway.registry.dataSource).create({
    clientId: `${prefix}-${randomUUID().slice(0, 6)}`,
    ...(team ? { team } : {}),
    scopes,
    expiresInMs: 3_600_000,
    createdBy: 'test',
  });
  return key;
}
