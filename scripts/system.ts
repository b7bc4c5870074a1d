import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { authMode, databaseName, subgraphPort, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../lib/config.js';
import type { SubgraphSource } from '../contracts/composition.js';
import { ensureDatabase } from '../lib/db.js';
import { checkRedis, redisTarget } from '../lib/redis.js';
import { openSubgraphDatabase } from '../lib/subgraph.js';
import { seedChannels } from '../subgraphs/channels/data/seed.js';
import { seedMarketplaces } from '../subgraphs/marketplaces/data/seed.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { seedInventory } from '../subgraphs/inventory/data/seed.js';
import { MovementService } from '../subgraphs/inventory/services/movement.service.js';
import { ReconciliationService } from '../subgraphs/inventory/services/reconciliation.service.js';
import { seedLocations } from '../subgraphs/locations/data/seed.js';
import { DEMO_CHANNELS, DEMO_LOCATIONS, demoItem, demoStock } from './demo/estate.js';
import { buildProcesses, compiledPath } from './build.js';

/** Fails fast, naming the URL, when MySQL or Redis cannot be reached. */
export async function preflight(cfg: Config): Promise<void> {
  await ensureDatabase(cfg.MYSQL_URL, databaseName(cfg, 'inventory'));
  await checkRedis(redisTarget(cfg));
}

/** Creates every subgraph's database and applies its migrations; returns the open data sources. */
export async function migrateAll(cfg: Config): Promise<Record<SubgraphName, DataSource>> {
  const entries = await Promise.all(
    SUBGRAPH_NAMES.map(async (name) => [name, await openSubgraphDatabase(cfg, SUBGRAPHS[name])] as const),
  );
  return Object.fromEntries(entries) as Record<SubgraphName, DataSource>;
}

export async function closeAll(sources: Record<SubgraphName, DataSource>): Promise<void> {
  await Promise.all(Object.values(sources).map((ds) => ds.destroy()));
}

/**
 * Seeds the demo estate through each subgraph's own seed (each writes only its own tables); ids
 * are derived from codes, so the subgraphs agree without reading each other. Idempotent.
 */
export async function seedDemo(
  sources: Record<SubgraphName, DataSource>,
  skus: number,
  onProgress?: (done: number) => void,
): Promise<{ locations: number; channels: number; items: number; levels: number }> {
  const locations = await seedLocations(sources.locations, DEMO_LOCATIONS);
  const channels = await seedChannels(sources.channels, DEMO_CHANNELS);
  await seedMarketplaces(sources.marketplaces, DEMO_CHANNELS);
  const { items, levels } = await seedInventory(sources.inventory, { skus, catalogue: { item: demoItem, stock: demoStock }, onProgress });
  await seedDemoCount(sources.inventory, skus);
  return { locations, channels, items, levels };
}

/**
 * A warehouse count the demo leaves unapplied, so the exceptions inbox has something to act on:
 * the DC counted two units fewer of its first SKUs than it was seeded with. It goes through
 * inventory's own reconciliation (the run and its problem signals in one transaction), under a
 * fixed key, so a later start replays it instead of counting again.
 */
async function seedDemoCount(inventory: DataSource, skus: number): Promise<void> {
  const dc = DEMO_LOCATIONS.find((l) => l.code === 'DC-DAV')!.id;
  const lines = Array.from({ length: Math.min(3, skus) }, (_, i) => ({
    sku: demoItem(i).sku,
    locationId: dc,
    onHand: Math.max(0, demoStock(i).find((s) => s.locationId === dc)!.onHand - 2),
  }));
  await new ReconciliationService(inventory, new MovementService(inventory)).reconcile(
    { idempotencyKey: `demo-count-dc-dav-${lines.length}`, source: 'wms:demo', tolerance: 0, apply: false, lines },
    'demo',
  );
}

export type ServiceName = SubgraphName | 'gateway' | 'jobs';

export interface ServiceProcess {
  name: ServiceName;
  /** Where the service is used: its GraphQL endpoint, or /healthz for the jobs process. */
  url: string;
  readyUrl: string;
  child: ChildProcess;
  logFile: string;
}

/** The source of each service's process; it runs compiled, as serviceArgs(name) says (the Helm chart's Deployments run the same). */
export const ENTRY: Record<ServiceName, string> = {
  inventory: 'subgraphs/inventory/main.ts',
  orders: 'subgraphs/orders/main.ts',
  locations: 'subgraphs/locations/main.ts',
  channels: 'subgraphs/channels/main.ts',
  marketplaces: 'subgraphs/marketplaces/main.ts',
  exceptions: 'subgraphs/exceptions/main.ts',
  gateway: 'gateway/main.ts',
  jobs: 'jobs/main.ts',
};

/**
 * V8 flags every service runs with (the image sets the same in NODE_OPTIONS: Dockerfile). A young
 * generation of up to 64 MB per semi-space, where V8's default stops at 16: under load a request's
 * intermediate results (a three-hop query's entity answers, held across its fetches) outlive a
 * 16 MB scavenge cycle and are copied into the old generation, which must then be marked and
 * compacted. Measured on the three-hop query: garbage collection from 24 to 15 % of the gateway's
 * busy time. The young generation grows that large only under allocation pressure.
 */
export const NODE_FLAGS = ['--max-semi-space-size=64'];

/** Whether this process has built dist/ from the sources (once: a build writes only what changed). */
let built = false;

/** Builds dist/ from the sources (scripts/build.ts) unless this process has already. */
export function ensureBuilt(): void {
  if (built) return;
  buildProcesses();
  built = true;
}

/**
 * The command line's arguments after `node` that run a service: its compiled entry (scripts/build.ts),
 * built from the sources first when this process has not yet.
 */
export function serviceArgs(name: ServiceName): string[] {
  ensureBuilt();
  return [...NODE_FLAGS, compiledPath(ENTRY[name])];
}

function servicePort(cfg: Config, name: ServiceName): number {
  if (name === 'gateway') return cfg.GATEWAY_PORT;
  if (name === 'jobs') return cfg.JOBS_PORT;
  return subgraphPort(cfg, name);
}

/**
 * supergraph.yaml's subgraphs routed to the ports this process starts them on (INVENTORY_PORT and
 * the like): each of our subgraphs' URLs (routing and graphql-ws) keep their host and path and
 * take the configured port, so the registry, and through it the gateway, reach them there.
 */
export function onOurPorts(cfg: Config, sources: SubgraphSource[]): SubgraphSource[] {
  const withPort = (url: string, port: number) => Object.assign(new URL(url), { port: String(port) }).toString();
  return sources.map((s) => {
    if (!SUBGRAPH_NAMES.includes(s.name as SubgraphName)) return s;
    const port = subgraphPort(cfg, s.name as SubgraphName);
    return { ...s, url: withPort(s.url, port), ...(s.subscriptionUrl ? { subscriptionUrl: withPort(s.subscriptionUrl, port) } : {}) };
  });
}

/** Starts one service as a child process whose JSON logs go to <LOG_DIR>/<name>.log. */
export function spawnService(cfg: Config, name: ServiceName, env: Record<string, string> = {}): ServiceProcess {
  mkdirSync(cfg.LOG_DIR, { recursive: true });
  const logFile = join(cfg.LOG_DIR, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, serviceArgs(name), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const base = `http://${cfg.PUBLIC_HOST}:${servicePort(cfg, name)}`;
  return { name, url: `${base}${name === 'jobs' ? '/healthz' : '/graphql'}`, readyUrl: `${base}/readyz`, child, logFile };
}

const readySchema = z.object({ checks: z.record(z.string(), z.string()).default({}) });

/**
 * Polls /readyz until it answers 200; rejects when the process exits first or time runs out.
 * @returns its checks (a ready service may still report one that is not 'ok': degraded)
 */
export async function waitReady(svc: ServiceProcess, timeoutMs = 60_000): Promise<{ checks: Record<string, string> }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (svc.child.exitCode !== null) throw new Error(`${svc.name} exited with code ${svc.child.exitCode}\n${tail(svc.logFile)}`);
    try {
      const res = await fetch(svc.readyUrl);
      if (res.ok) return readySchema.catch({ checks: {} }).parse(await res.json().catch(() => null));
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${svc.name} was not ready at ${svc.readyUrl} within ${timeoutMs} ms\n${tail(svc.logFile)}`);
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Sends SIGTERM to every child and waits for all of them to exit. */
export async function stopAll(services: ServiceProcess[]): Promise<void> {
  await Promise.all(
    services.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
          s.child.once('exit', () => resolve());
          s.child.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * The start banner's line on authentication: whether the gateway checks credentials, and, when it
 * does not, that production must (a demo left open is the usual way stock data leaks).
 */
export function authBanner(cfg: Config): string {
  if (authMode(cfg) === 'enforce') {
    const open = cfg.AUTH_PUBLIC_SCOPES.length ? `; callers without credentials get only ${cfg.AUTH_PUBLIC_SCOPES.join(', ')}` : '';
    return `  Auth         enforced: API keys and JWTs are checked on every request${open} (AUTH_MODE=enforce)`;
  }
  return [
    '  Auth         ⚠ OFF: every caller may call every field, mutations included (AUTH_MODE=off, set by you;',
    '               the gateway listens on loopback only then). Production must run with AUTH_MODE=enforce,',
    '               the default; see README "Authentication and scopes".',
  ].join('\n');
}
