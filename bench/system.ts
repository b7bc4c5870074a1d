import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { createConnection } from 'mysql2/promise';
import { configWith, databaseName, registryDatabaseName, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../lib/config.js';
import { createRedis, dropKeys, redisTarget } from '../lib/redis.js';
import { readServiceKeys, SERVICE_TOKEN_HEADER, signServiceToken } from '../lib/service-token.js';
import { demoId } from '../scripts/demo/estate.js';
import { closeAll, migrateAll, preflight, seedDemo, spawnService, stopAll, waitReady, type ServiceName, type ServiceProcess } from '../scripts/system.js';

/** The services' token key of this run. */
const benchKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });

/** Where a benchmark's processes log: apart from a running npm start's logs and from other benchmarks'. */
export const benchLogDir = (prefix = 'omnistock_bench') => `logs/${prefix}`;

/**
 * The system on its own ports (from `base`: the gateway, then each subgraph, the jobs process at
 * base + 10) and databases, so a benchmark never touches a running `npm start`.
 */
export function benchEnv(base: number, prefix: string): Record<string, string> {
  const port = (n: number) => String(base + n);
  const url = (n: number) => `http://127.0.0.1:${port(n)}/graphql`;
  return {
    SERVICE_TOKEN_KEYS: JSON.stringify({ keys: [{ ...benchKey, kid: 'bench' }] }),
    DB_PREFIX: prefix,
    REDIS_KEY_PREFIX: prefix,
    GATEWAY_PORT: port(0),
    INVENTORY_PORT: port(1),
    ORDERS_PORT: port(2),
    LOCATIONS_PORT: port(3),
    CHANNELS_PORT: port(4),
    MARKETPLACES_PORT: port(5),
    EXCEPTIONS_PORT: port(6),
    JOBS_PORT: port(10),
    INVENTORY_URL: url(1),
    ORDERS_URL: url(2),
    LOCATIONS_URL: url(3),
    CHANNELS_URL: url(4),
    MARKETPLACES_URL: url(5),
    EXCEPTIONS_URL: url(6),
    INVENTORY_SUBSCRIPTION_URL: `ws://127.0.0.1:${port(1)}/graphql`,
    EXCEPTIONS_SUBSCRIPTION_URL: `ws://127.0.0.1:${port(6)}/graphql`,
    PUBLIC_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    LOG_DIR: benchLogDir(prefix),
    // As in production: authentication enforced and every request counted against its client's rate
    // limit (a limit this high only makes sure the benchmark is never the one refused).
    NODE_ENV: 'production',
    AUTH_MODE: 'enforce',
    AUTH_JWT_SECRET: 'omnistock-bench-only-secret-0123456789abcdef',
    RATE_LIMIT_PER_MINUTE: '1000000000',
  };
}

/** Every scope our schemas ask for: the benchmark's client may run every operation. */
export const BENCH_SCOPES = ['availability:read', 'inventory:read', 'inventory:write', 'orders:read', 'orders:write', 'locations:admin', 'channels:admin'];

/** A JWT (HS256, AUTH_JWT_SECRET) for the benchmark's client `bench`, valid for a day. */
export async function benchToken(secret: string): Promise<string> {
  return new SignJWT({ client_id: 'bench', scope: BENCH_SCOPES.join(' ') })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1d')
    .sign(new TextEncoder().encode(secret));
}

/**
 * Runs `work`, then `stop`; Ctrl-C or SIGTERM meanwhile runs `stop` too and exits 130, so no service
 * or simulator is left running on the bench ports.
 */
export async function stoppingOnSignal<T>(stop: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const interrupted = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    return await work();
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await stop();
  }
}

/**
 * A watchdog in a session of its own, out of Ctrl-C's reach, for when this process ends without
 * stopping what it started (killed outright, or a crash; tsx sends SIGKILL when the signal it passes
 * on is not acknowledged within 30 ms twice, which a bench busy driving load can miss, and a service
 * still shutting down then hangs on its log pipe with no reader). It keeps a list of this process's
 * children (Linux /proc, with their start times, so a reused pid is left alone) and, once this
 * process is gone, sends them and the process `groups` given SIGTERM, then SIGKILL after
 * `graceMs`. A normal stop ends it (kill the returned process). Null where /proc cannot be read and
 * no group is given.
 */
export function spawnReaper(opts: { groups?: readonly number[]; graceMs?: number } = {}): ChildProcess | null {
  const source = `
    const fs = require('node:fs');
    const [parent, graceMs, ...groups] = process.argv.slice(1).map(Number);
    const startOf = (pid) => {
      try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]; } catch { return null; }
    };
    let known = new Map();
    const look = () => {
      const next = new Map();
      try {
        for (const t of fs.readdirSync('/proc/' + parent + '/task'))
          for (const pid of fs.readFileSync('/proc/' + parent + '/task/' + t + '/children', 'utf8').split(' ').filter(Boolean).map(Number))
            if (pid !== process.pid) { const at = startOf(pid); if (at) next.set(pid, at); }
      } catch { return; }
      known = next;
    };
    const signal = (s) => {
      for (const [pid, at] of known) if (startOf(pid) === at) try { process.kill(pid, s); } catch {}
      for (const g of groups) try { process.kill(-g, s); } catch {}
    };
    look();
    const timer = setInterval(() => {
      if (process.ppid === parent) return look();
      clearInterval(timer);
      signal('SIGTERM');
      setTimeout(() => { signal('SIGKILL'); process.exit(0); }, graceMs);
    }, 500);`;
  let procReadable = true;
  try {
    readdirSync(`/proc/${process.pid}/task`);
  } catch {
    procReadable = false;
  }
  if (!procReadable && !opts.groups?.length) return null;
  const args = [String(process.pid), String(opts.graceMs ?? 5_000), ...(opts.groups ?? []).map(String)];
  const reaper = spawn(process.execPath, ['-e', source, ...args], { stdio: 'ignore', detached: true });
  reaper.unref();
  return reaper;
}

/** A GraphQL request's data. @throws with the errors when it has any */
export async function call(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

export type Gql = (query: string, variables: Record<string, unknown>) => Promise<Record<string, any>>;

/** Where a benchmark calls a service directly, and the headers it needs there. */
export interface Endpoint {
  url: string;
  headers: Record<string, string>;
}

/** A service token (valid for a day, every scope) for calls straight to a subgraph, as the gateway would sign; none under SERVICE_AUTH=off. */
export async function subgraphHeaders(cfg: Config): Promise<Record<string, string>> {
  if (cfg.SERVICE_AUTH === 'off') return {};
  const keys = readServiceKeys({ keys: cfg.SERVICE_TOKEN_KEYS });
  const token = await signServiceToken(keys, { issuer: 'gateway', audience: [...SUBGRAPH_NAMES], clientId: 'bench', scopes: BENCH_SCOPES, expiresAt: '1d' });
  return { [SERVICE_TOKEN_HEADER]: token };
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
  /** The process id of the service's (first) process, for reading what it spends. */
  pid(name: ServiceName): number | undefined;
  /** A subgraph called directly (past the gateway), with a service token. */
  subgraph(name: SubgraphName): Endpoint;
  /** Credentials of the benchmark's client (every scope) for requests through the gateway: a JWT. */
  headers: Record<string, string>;
  /** The same client's credentials as an API key (x-api-key). */
  apiKeyHeaders: Record<string, string>;
  /** Starts another gateway process on `port` with `env` over the same subgraphs (stopped with the rest); resolves to its /graphql URL. */
  startGateway(port: number, env: Record<string, string>): Promise<string>;
  /**
   * Starts another process of a subgraph on `port` with `env` (e.g. a setting to compare) over the
   * same databases and Redis, logging under <LOG_DIR>/<port>/ (stopped with the rest); resolves to it called directly.
   */
  startSubgraph(name: SubgraphName, port: number, env: Record<string, string>): Promise<Endpoint>;
  /** Inventory's database, for checks after a run. */
  inventoryDataSource: DataSource;
  /** Marketplaces' database (orders taken in), for measurements after a run. */
  marketplacesDataSource: DataSource;
  stop(): Promise<void>;
}

/**
 * Migrates and seeds the bench databases, starts every service as in production (separate
 * processes), and waits until inventory's replicas hold the demo channels.
 */
export async function startBenchSystem(opts: { skus: number; env?: Record<string, string>; basePort?: number; dbPrefix?: string; fresh?: boolean }): Promise<BenchSystem> {
  const env = { ...benchEnv(opts.basePort ?? 4100, opts.dbPrefix ?? 'omnistock_bench'), ...opts.env };
  const cfg = configWith(env);
  if (opts.fresh) await dropEverything(cfg);
  await preflight(cfg);
  const sources = await migrateAll(cfg);
  await seedDemo(sources, opts.skus);
  const keep: SubgraphName[] = ['inventory', 'marketplaces'];
  await closeAll(Object.fromEntries(Object.entries(sources).filter(([n]) => !keep.includes(n as SubgraphName))) as typeof sources);

  const services: ServiceProcess[] = SUBGRAPH_NAMES.map((n) => spawnService(cfg, n, env));
  const stop = async () => {
    await stopAll(services);
    await sources.inventory.destroy();
    await sources.marketplaces.destroy();
  };
  try {
    await Promise.all(services.map((s) => waitReady(s)));
    for (const name of ['jobs', 'gateway'] as const) {
      const svc = spawnService(cfg, name, env);
      services.push(svc);
      await waitReady(svc);
    }
    const byName = (name: ServiceName) => services.find((s) => s.name === name)!.url;
    const pid = (name: ServiceName) => services.find((s) => s.name === name)?.child.pid;
    const direct = await subgraphHeaders(cfg);
    const subgraph = (name: SubgraphName): Endpoint => ({ url: byName(name), headers: direct });
    await waitForReplica(subgraph('inventory'));
    const startGateway = async (port: number, extra: Record<string, string>) => {
      const gatewayEnv = { ...env, ...extra, GATEWAY_PORT: String(port) };
      const svc = spawnService(configWith(gatewayEnv), 'gateway', gatewayEnv);
      services.push(svc);
      await waitReady(svc);
      return svc.url;
    };
    const startSubgraph = async (name: SubgraphName, port: number, extra: Record<string, string>): Promise<Endpoint> => {
      const subgraphEnv = { ...env, LOG_DIR: `${env.LOG_DIR}/${port}`, ...extra, [`${name.toUpperCase()}_PORT`]: String(port) };
      const svc = spawnService(configWith(subgraphEnv), name, subgraphEnv);
      services.push(svc);
      await waitReady(svc);
      return { url: svc.url, headers: direct };
    };
    const headers = { authorization: `Bearer ${await benchToken(cfg.AUTH_JWT_SECRET!)}` };
    const apiKeyHeaders = { 'x-api-key': await benchApiKey(cfg) };
    return { url: byName, pid, subgraph, headers, apiKeyHeaders, startGateway, startSubgraph, inventoryDataSource: sources.inventory, marketplacesDataSource: sources.marketplaces, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Drops the run's databases and Redis keys: a benchmark that must not meet an earlier run's SKUs, channels or queues starts from nothing. */
async function dropEverything(cfg: Config): Promise<void> {
  const conn = await createConnection({ uri: cfg.MYSQL_URL });
  try {
    for (const db of [...SUBGRAPH_NAMES.map((n) => databaseName(cfg, n)), registryDatabaseName(cfg)]) await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  } finally {
    await conn.end();
  }
  const redis = createRedis(redisTarget(cfg));
  try {
    await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
  } finally {
    await redis.quit();
  }
}

async function waitForReplica(inventory: Endpoint, timeoutMs = 30_000): Promise<void> {
  const body = JSON.stringify({
    query: 'query($c: ID!) { availability(channelId: $c, skus: ["SKU-000000"]) { availableToSell } }',
    variables: { c: demoId('channel', 'WEB-UK') },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(inventory.url, { method: 'POST', headers: { 'content-type': 'application/json', ...inventory.headers }, body });
    if (!((await res.json()) as { errors?: unknown }).errors) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('inventory never received the demo channels from the replication consumer');
}
