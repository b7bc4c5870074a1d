import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type DocumentNode } from 'graphql';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { config, databaseName, subgraphPort, type Config, type SubgraphName } from './config.js';
import { openDatabase, type DataSourceSpec } from './db.js';
import { formatError } from './errors.js';
import { logger, setServiceName } from './logger.js';
import { clientIdFrom, closeOnSignals, startHttpService, type RunningService } from './server.js';

/** What every subgraph request context carries before the subgraph adds its services and loaders. */
export interface BaseContext {
  requestId: string;
  log: Logger;
  /** The calling client application, recorded as the actor of what it writes; null when unnamed. */
  clientId: string | null;
}

export interface SubgraphDefinition<C extends BaseContext> {
  name: SubgraphName;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<C>;
  entities: DataSourceSpec['entities'];
  migrations: DataSourceSpec['migrations'];
  /** Called once per process; returns the per-request context builder (services plus fresh DataLoaders). */
  createContext(ds: DataSource): (base: BaseContext) => C;
}

export interface RunningSubgraph extends RunningService {
  dataSource: DataSource;
}

/** Reads a subgraph's SDL file that sits next to the calling module. */
export function loadTypeDefs(moduleUrl: string, file = 'schema.graphql'): DocumentNode {
  return parse(readFileSync(new URL(file, moduleUrl), 'utf8'));
}

/** Opens a subgraph's own database, creating it and applying its migrations when needed. */
export function openSubgraphDatabase(
  cfg: Config,
  def: Pick<SubgraphDefinition<BaseContext>, 'name' | 'entities' | 'migrations'>,
): Promise<DataSource> {
  return openDatabase(cfg, { database: databaseName(cfg, def.name), entities: def.entities, migrations: def.migrations });
}

/** Opens the subgraph's database (migrating it) and serves its schema. */
export async function startSubgraph<C extends BaseContext>(
  def: SubgraphDefinition<C>,
  options: { cfg?: Config; port?: number; host?: string } = {},
): Promise<RunningSubgraph> {
  const cfg = options.cfg ?? config();
  const ds = await openSubgraphDatabase(cfg, def);
  const schema = buildSubgraphSchema({ typeDefs: def.typeDefs, resolvers: def.resolvers as GraphQLResolverMap<unknown> });
  const makeContext = def.createContext(ds);
  const service = await startHttpService<C>({
    name: def.name,
    host: options.host ?? cfg.HOST,
    port: options.port ?? subgraphPort(cfg, def.name),
    apollo: (plugins) =>
      new ApolloServer<C>({
        schema,
        plugins: [...plugins, ApolloServerPluginInlineTraceDisabled()],
        formatError,
        includeStacktraceInErrorResponses: false,
        // closeOnSignals owns SIGTERM/SIGINT: a second handler would stop Apollo before Fastify drains.
        stopOnTerminationSignals: false,
        introspection: true,
      }),
    context: async (request) =>
      makeContext({ requestId: request.id, log: request.log as unknown as Logger, clientId: clientIdFrom(request.headers['x-client-id']) }),
    readiness: { mysql: () => ds.query('SELECT 1') },
    onClose: () => ds.destroy(),
  });
  return { ...service, dataSource: ds };
}

/** Process entry of a subgraph: names the logs, starts, and closes gracefully on SIGTERM/SIGINT. */
export async function runSubgraph<C extends BaseContext>(def: SubgraphDefinition<C>): Promise<void> {
  setServiceName(def.name);
  try {
    const running = await startSubgraph(def);
    closeOnSignals(() => running.close());
  } catch (err) {
    logger().fatal({ err }, `${def.name} failed to start`);
    process.exit(1);
  }
}
