import { spawn, type ChildProcess } from 'node:child_process';
import { configWith, registryDatabaseName } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { dropKeys, waitFor } from './events.js';
import type { Stack } from './stack.js';
import { serviceArgs } from '../scripts/system.js';

export interface GatewayProcess {
  child: ChildProcess;
  /** Its /graphql URL. */
  url: string;
  /** What it has printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, resolved with the exit code once it exited. */
  stop(): Promise<number | null>;
}

/** Every gateway process started: stopAllGatewayProcesses ends those a failed start left behind too. */
const started: ChildProcess[] = [];

/**
 * Starts `gateway/main.ts` as production does (with its registry), with `env` (GATEWAY_PORT=0 for a
 * free port), and resolves once it listens and its /readyz answers 200.
 */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, serviceArgs('gateway'), {
    env: { ...process.env, GATEWAY_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${output}`)), 60_000);
    child.stderr!.on('data', (d) => (output += d));
    child.stdout!.on('data', (d: Buffer) => {
      output += d;
      const listening = /"url":"(http:\/\/[^"]+\/graphql)","msg":"gateway listening"/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}:\n${output}`)));
  });
  await waitFor('the gateway to be ready', async () => (await fetch(url.replace(/\/graphql$/, '/readyz'))).ok || null, 30_000);
  return { child, url, output: () => output, stop: () => stopProcess(child) };
}

function stopProcess(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/**
 * Stops every gateway process started (those a failed start left behind too), then drops what they
 * made of `env`'s: the registry database and the Redis keys under REDIS_KEY_PREFIX.
 */
export async function stopAllGatewayProcesses(stack: Stack | undefined, env: Record<string, string>): Promise<void> {
  await Promise.all(started.map(stopProcess));
  const cfg = configWith(env);
  await stack?.subgraphs.inventory.dataSource.query(`DROP DATABASE IF EXISTS \`${registryDatabaseName(cfg)}\``);
  const redis = createRedis(redisTarget(cfg));
  await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
  await redis.quit();
}

/** The environment that points a gateway process at a test stack's subgraphs. */
export function subgraphEnv(stack: Stack): Record<string, string> {
  return {
    INVENTORY_URL: stack.subgraphs.inventory.url,
    ORDERS_URL: stack.subgraphs.orders.url,
    LOCATIONS_URL: stack.subgraphs.locations.url,
    CHANNELS_URL: stack.subgraphs.channels.url,
    MARKETPLACES_URL: stack.subgraphs.marketplaces.url,
    EXCEPTIONS_URL: stack.subgraphs.exceptions.url,
    INVENTORY_SUBSCRIPTION_URL: stack.subgraphs.inventory.url.replace(/^http/, 'ws'),
    EXCEPTIONS_SUBSCRIPTION_URL: stack.subgraphs.exceptions.url.replace(/^http/, 'ws'),
  };
}
