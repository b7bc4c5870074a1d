import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { databaseName, subgraphPort, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../lib/config.js';
import { ensureDatabase, openDatabase } from '../lib/db.js';
import { checkRedis } from '../lib/redis.js';
import type { BaseContext, SubgraphDefinition } from '../lib/subgraph.js';
import { channelsSubgraph } from '../subgraphs/channels/index.js';
import { seedChannels } from '../subgraphs/channels/seed.js';
import { inventorySubgraph } from '../subgraphs/inventory/index.js';
import { seedInventory } from '../subgraphs/inventory/seed.js';
import { locationsSubgraph } from '../subgraphs/locations/index.js';
import { seedLocations } from '../subgraphs/locations/seed.js';
import { ordersSubgraph } from '../subgraphs/orders/index.js';
import { DEMO_CHANNELS, DEMO_LOCATIONS } from './demo/estate.js';

export const SUBGRAPHS: Record<SubgraphName, SubgraphDefinition<BaseContext>> = {
  inventory: inventorySubgraph as unknown as SubgraphDefinition<BaseContext>,
  orders: ordersSubgraph as unknown as SubgraphDefinition<BaseContext>,
  locations: locationsSubgraph as unknown as SubgraphDefinition<BaseContext>,
  channels: channelsSubgraph as unknown as SubgraphDefinition<BaseContext>,
};

/** Fails fast, naming the URL, when MySQL or Redis cannot be reached. */
export async function preflight(cfg: Config): Promise<void> {
  await ensureDatabase(cfg.MYSQL_URL, databaseName(cfg, 'inventory'));
  await checkRedis(cfg.REDIS_URL);
}

/** Creates every subgraph's database and applies its migrations; returns the open data sources. */
export async function migrateAll(cfg: Config): Promise<Record<SubgraphName, DataSource>> {
  const entries = await Promise.all(
    SUBGRAPH_NAMES.map(async (name) => {
      const def = SUBGRAPHS[name];
      const ds = await openDatabase(cfg, { database: databaseName(cfg, name), entities: def.entities, migrations: def.migrations });
      return [name, ds] as const;
    }),
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
  const { items, levels } = await seedInventory(sources.inventory, { skus, onProgress });
  return { locations, channels, items, levels };
}

export interface ServiceProcess {
  name: string;
  url: string;
  child: ChildProcess;
  logFile: string;
}

const ENTRY: Record<SubgraphName | 'gateway', string> = {
  inventory: 'subgraphs/inventory/main.ts',
  orders: 'subgraphs/orders/main.ts',
  locations: 'subgraphs/locations/main.ts',
  channels: 'subgraphs/channels/main.ts',
  gateway: 'gateway/main.ts',
};

/** Starts one service as a child process whose JSON logs go to logs/<name>.log. */
export function spawnService(cfg: Config, name: SubgraphName | 'gateway', env: Record<string, string> = {}): ServiceProcess {
  mkdirSync('logs', { recursive: true });
  const logFile = join('logs', `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[name]], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const port = name === 'gateway' ? cfg.GATEWAY_PORT : subgraphPort(cfg, name);
  return { name, url: `http://${cfg.PUBLIC_HOST}:${port}/graphql`, child, logFile };
}

/** Polls /readyz until it answers 200; rejects when the process exits first or time runs out. */
export async function waitReady(svc: ServiceProcess, timeoutMs = 60_000): Promise<void> {
  const readyUrl = svc.url.replace(/\/graphql$/, '/readyz');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (svc.child.exitCode !== null) throw new Error(`${svc.name} exited with code ${svc.child.exitCode}\n${tail(svc.logFile)}`);
    try {
      const res = await fetch(readyUrl);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${svc.name} was not ready at ${readyUrl} within ${timeoutMs} ms\n${tail(svc.logFile)}`);
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
