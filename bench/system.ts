import { SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { configWith, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../lib/config.js';
import { demoId } from '../scripts/demo/estate.js';
import { closeAll, migrateAll, preflight, seedDemo, spawnService, stopAll, waitReady, type ServiceName, type ServiceProcess } from '../scripts/system.js';

/** The system on its own ports and databases, so a benchmark never touches a running `npm start`. */
const BENCH_ENV = {
  DB_PREFIX: 'omnistock_bench',
  REDIS_KEY_PREFIX: 'omnistock_bench',
  GATEWAY_PORT: '4100',
  INVENTORY_PORT: '4101',
  ORDERS_PORT: '4102',
  LOCATIONS_PORT: '4103',
  CHANNELS_PORT: '4104',
  MARKETPLACES_PORT: '4105',
  JOBS_PORT: '4110',
  INVENTORY_URL: 'http://127.0.0.1:4101/graphql',
  ORDERS_URL: 'http://127.0.0.1:4102/graphql',
  LOCATIONS_URL: 'http://127.0.0.1:4103/graphql',
  CHANNELS_URL: 'http://127.0.0.1:4104/graphql',
  INVENTORY_SUBSCRIPTION_URL: 'ws://127.0.0.1:4101/graphql',
  PUBLIC_HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  // As in production: authentication enforced and every request counted against its client's rate
  // limit (a limit this high only makes sure the benchmark is never the one refused).
  NODE_ENV: 'production',
  AUTH_MODE: 'enforce',
  AUTH_JWT_SECRET: 'omnistock-bench-only-secret-0123456789abcdef',
  RATE_LIMIT_PER_MINUTE: '1000000000',
};

/** Every scope our schemas ask for: the benchmark's client may run every operation. */
const BENCH_SCOPES = ['availability:read', 'inventory:read', 'inventory:write', 'orders:read', 'orders:write', 'locations:admin', 'channels:admin'];

/** A JWT (HS256, AUTH_JWT_SECRET) for the benchmark's client `bench`, valid for a day. */
async function benchToken(secret: string): Promise<string> {
  return new SignJWT({ client_id: 'bench', scope: BENCH_SCOPES.join(' ') })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1d')
    .sign(new TextEncoder().encode(secret));
}

/** A new API key of the benchmark's client, in the gateway's database (the gateway created it). */
async function benchApiKey(cfg: Config): Promise<string> {
  const ds = await openRegistryDatabase(cfg);
  try {
    const { key } = await new ApiKeyService(ds).create({ clientId: 'bench', scopes: BENCH_SCOPES, expiresInMs: 86_400_000, createdBy: 'bench' });
    return key;
  } finally {
    await ds.destroy();
  }
}

export interface BenchSystem {
  url(name: ServiceName): string;
  /** Credentials of the benchmark's client (every scope) for requests through the gateway: a JWT. */
  headers: Record<string, string>;
  /** The same client's credentials as an API key (x-api-key). */
  apiKeyHeaders: Record<string, string>;
  /** Starts another gateway process on `port` with `env` over the same subgraphs (stopped with the rest); resolves to its /graphql URL. */
  startGateway(port: number, env: Record<string, string>): Promise<string>;
  /** Inventory's database, for checks after a run. */
  inventoryDataSource: DataSource;
  stop(): Promise<void>;
}

/**
 * Migrates and seeds the bench databases, starts every service as in production (separate
 * processes), and waits until inventory's replicas hold the demo channels.
 */
export async function startBenchSystem(opts: { skus: number; env?: Record<string, string> }): Promise<BenchSystem> {
  const env = { ...BENCH_ENV, ...opts.env };
  const cfg = configWith(env);
  await preflight(cfg);
  const sources = await migrateAll(cfg);
  await seedDemo(sources, opts.skus);
  const keep: SubgraphName = 'inventory';
  await closeAll(Object.fromEntries(Object.entries(sources).filter(([n]) => n !== keep)) as typeof sources);

  const services: ServiceProcess[] = SUBGRAPH_NAMES.map((n) => spawnService(cfg, n, env));
  const stop = async () => {
    await stopAll(services);
    await sources.inventory.destroy();
  };
  try {
    await Promise.all(services.map((s) => waitReady(s)));
    for (const name of ['jobs', 'gateway'] as const) {
      const svc = spawnService(cfg, name, env);
      services.push(svc);
      await waitReady(svc);
    }
    const byName = (name: ServiceName) => services.find((s) => s.name === name)!.url;
    await waitForReplica(byName('inventory'));
    const startGateway = async (port: number, extra: Record<string, string>) => {
      const gatewayEnv = { ...env, ...extra, GATEWAY_PORT: String(port) };
      const svc = spawnService(configWith(gatewayEnv), 'gateway', gatewayEnv);
      services.push(svc);
      await waitReady(svc);
      return svc.url;
    };
    const headers = { authorization: `Bearer ${await benchToken(cfg.AUTH_JWT_SECRET!)}` };
    const apiKeyHeaders = { 'x-api-key': await benchApiKey(cfg) };
    return { url: byName, headers, apiKeyHeaders, startGateway, inventoryDataSource: sources.inventory, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForReplica(inventoryUrl: string, timeoutMs = 30_000): Promise<void> {
  const body = JSON.stringify({
    query: 'query($c: ID!) { availability(channelId: $c, skus: ["SKU-000000"]) { availableToSell } }',
    variables: { c: demoId('channel', 'WEB-UK') },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(inventoryUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (!((await res.json()) as { errors?: unknown }).errors) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('inventory never received the demo channels from the replication consumer');
}
