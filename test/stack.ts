import { randomUUID } from 'node:crypto';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { createAuthenticator, gatewayAuth } from '../gateway/auth/index.js';
import { startGateway } from '../gateway/gateway.js';
import { limitSettings } from '../gateway/limits/limits.js';
import { opsSettings } from '../gateway/ops/index.js';
import { openKeyStore, openRegistryDatabase } from '../registry/index.js';
import { authMode, config, configWith, introspectionMode, databaseName, registryDatabaseName, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { startJobs } from '../jobs/jobs.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { dropKeys } from './events.js';

export interface Stack {
  gatewayUrl: string;
  subgraphs: Record<SubgraphName, RunningSubgraph>;
  gateway: Awaited<ReturnType<typeof startGateway>>;
  /** The in-process jobs service (with `jobs: true`): its /readyz is at `jobs.url` with /readyz for /healthz. */
  jobs: Awaited<ReturnType<typeof startJobs>> | null;
  cfg: Config;
  close(): Promise<void>;
}

/**
 * The five subgraphs and the gateway in this process on free ports, against the real MariaDB,
 * composed from supergraph.yaml with the routing URLs pointed at those ports.
 *
 * With `jobs`, the jobs process runs in-process too (relays, replication, expiry) on databases and
 * Redis keys of the stack's own, dropped on close: its relays and consumer group then meet no other
 * test file's events. With `jobs: 'external'` the stack gets those databases and keys but leaves
 * running jobs processes to the test (which starts and kills them as child processes).
 */
export async function startStack(opts: { jobs?: boolean | 'external'; env?: Record<string, string> } = {}): Promise<Stack> {
  const id = randomUUID().slice(0, 8);
  const isolated: Record<string, string> = opts.jobs ? { DB_PREFIX: `omnistock_t${id}`, REDIS_KEY_PREFIX: `omnistock_test:${id}`, JOBS_PORT: '0' } : {};
  // Test files share 127.0.0.1 and run in parallel: no rate limit unless a test asks for one.
  const env = { RATE_LIMIT_PER_MINUTE: '0', ...isolated, ...opts.env };
  const base = Object.keys(env).length ? configWith(env) : config();
  const first = ['inventory', 'locations', 'channels', 'exceptions'] as const;
  const started = await Promise.all(first.map((n) => startSubgraph(SUBGRAPHS[n], { port: 0, cfg: base })));
  // Orders (and the marketplace pushes) call inventory directly, so they start once inventory's port is known.
  const cfg = configWith({ ...env, ORDERS_INVENTORY_URL: started[0]!.url, MARKETPLACE_INVENTORY_URL: started[0]!.url });
  const later = ['orders', 'marketplaces'] as const;
  const running = [...started, ...(await Promise.all(later.map((n) => startSubgraph(SUBGRAPHS[n], { port: 0, cfg }))))];
  const subgraphs = Object.fromEntries([...first, ...later].map((n, i) => [n, running[i]!])) as Record<SubgraphName, RunningSubgraph>;
  // Marketplace order intake places orders through the orders subgraph started above.
  const jobs = opts.jobs === true ? await startJobs(configWith({ ...env, ORDERS_INVENTORY_URL: started[0]!.url, MARKETPLACE_INVENTORY_URL: started[0]!.url, MARKETPLACE_ORDERS_URL: subgraphs.orders.url })) : null;
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  // With AUTH_MODE=enforce (in `env`), the gateway checks API keys in its own database, as in production.
  const gatewayDb = authMode(cfg) === 'enforce' ? await openRegistryDatabase(cfg) : null;
  const apiKeys = gatewayDb ? await openKeyStore(cfg, gatewayDb) : null;
  const authenticator = apiKeys ? createAuthenticator(cfg, apiKeys) : null;
  const gateway = await startGateway({
    auth: authenticator ? gatewayAuth(cfg, authenticator) : { mode: 'off' },
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, subgraphs[n].url])),
    subscriptionUrls: { inventory: subgraphs.inventory.url.replace(/^http/, 'ws'), exceptions: subgraphs.exceptions.url.replace(/^http/, 'ws') },
    subscriptions: { clientKeepAliveMs: cfg.SUBSCRIPTION_CLIENT_KEEPALIVE_MS, connectionsPerAddress: cfg.WS_CONNECTIONS_PER_ADDRESS, authRecheckMs: cfg.WS_AUTH_RECHECK_MS },
    maxBodyBytes: cfg.MAX_BODY_BYTES,
    limits: limitSettings(cfg),
    maxBatchSize: cfg.MAX_BATCH_SIZE,
    introspection: introspectionMode(cfg),
    ops: opsSettings(cfg),
    host: '127.0.0.1',
    port: 0,
  });
  return {
    gatewayUrl: gateway.url,
    subgraphs,
    gateway,
    jobs,
    cfg,
    async close() {
      await gateway.close();
      await apiKeys?.close();
      await jobs?.close();
      if (opts.jobs) {
        for (const name of SUBGRAPH_NAMES) await subgraphs[name].dataSource.query(`DROP DATABASE \`${databaseName(cfg, name)}\``);
        await gatewayDb?.query(`DROP DATABASE \`${registryDatabaseName(cfg)}\``);
        const redis = createRedis(redisTarget(cfg));
        await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
        await redis.quit();
      }
      await gatewayDb?.destroy();
      await Promise.all(running.map((s) => s.close()));
    },
  };
}
