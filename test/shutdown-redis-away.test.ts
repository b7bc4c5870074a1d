import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forceClusterKeyLayout } from '../lib/redis-keys.js';
import { startGatewayProcess, stopAllGatewayProcesses, subgraphEnv, type GatewayProcess } from './gateway-process.js';
import { PrivateRedis } from './private-redis.js';
import { startStack, type Stack } from './stack.js';
import { serviceArgs, type ServiceName } from '../scripts/system.js';

/**
 * SIGTERM while Redis is away: every process stops by itself, promptly, and exits 0. Before, the
 * jobs process waited on commands ioredis kept for a reconnection (its relays' publishes, its
 * stream consumers' reads, QUITs queued behind them) and BullMQ's graceful close of a worker
 * (taskforcesh/bullmq#4656), until SHUTDOWN_TIMEOUT_MS ended it with exit code 1: in production,
 * a rollout during a Redis outage would wait out every pod's grace period and then kill it.
 */
const SHUTDOWN_TIMEOUT_MS = 20_000;

let redis: PrivateRedis;
let stack: Stack;
let env: Record<string, string>;
const started: ChildProcess[] = [];
/** What each process started has printed, for the failure message. */
const outputs = new Map<ChildProcess, () => string>();

/** The service's process (compiled, as production runs it) on the stack's databases and the private Redis; resolves once it logged `<name> listening`. */
async function startProcess(name: ServiceName, extra: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, serviceArgs(name), { env: { ...process.env, ...env, LOG_LEVEL: 'info', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  outputs.set(child, () => output);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output.slice(-3000)}`)), 60_000);
    child.stderr!.on('data', (d) => (output += d));
    child.stdout!.on('data', (d) => {
      output += d;
      if (output.includes(`"msg":"${name} listening"`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${output.slice(-3000)}`)));
  });
  return child;
}

/** SIGTERM; resolves with how it ended. */
function terminate(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  // A Redis server of its own, which it stops: a single server even in a Redis Cluster run.
  forceClusterKeyLayout(false);
  redis = await PrivateRedis.create();
  const base = await startStack({ jobs: 'external', env: { REDIS_URL: redis.url, REDIS_CLUSTER_NODES: '' } });
  stack = base;
  env = {
    DB_PREFIX: stack.cfg.DB_PREFIX,
    REDIS_KEY_PREFIX: stack.cfg.REDIS_KEY_PREFIX,
    REDIS_URL: redis.url,
    REDIS_CLUSTER_NODES: '',
    HOST: '127.0.0.1',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    AUTH_MODE: 'off',
    DEMO_MARKETPLACES: 'false',
    MARKETPLACE_INVENTORY_URL: stack.subgraphs.inventory.url,
    ORDERS_INVENTORY_URL: stack.subgraphs.inventory.url,
    MARKETPLACE_ORDERS_URL: stack.subgraphs.orders.url,
  };
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((child) => (child.exitCode === null && child.signalCode === null ? child.kill('SIGKILL') : undefined)));
  // Redis back (empty) for the clean-up of the registry database and the keys.
  if (redis) await redis.start().catch(() => {});
  await stopAllGatewayProcesses(stack, env);
  await stack?.close();
  await redis?.stop();
  forceClusterKeyLayout(undefined);
}, 120_000);

describe('stopping while Redis is away', () => {
  it('the jobs process, a subgraph process and a gateway process each exit 0 on SIGTERM, before their shutdown timeout', async () => {
    const jobs = await startProcess('jobs', { JOBS_PORT: '0' });
    const inventory = await startProcess('inventory', { INVENTORY_PORT: '0' });
    const gateway: GatewayProcess = await startGatewayProcess({ ...env, ...subgraphEnv(stack) });
    started.push(gateway.child);

    await redis.stop();
    // Long enough for every client to have lost its connection and be retrying.
    await sleep(2_000);

    outputs.set(gateway.child, gateway.output);
    const processes = [jobs, inventory, gateway.child];
    const ended = await Promise.all(processes.map(terminate));
    const tails = processes.map((p) => outputs.get(p)!().split('\n').slice(-8).join('\n')).join('\n---\n');
    // A process held up past SHUTDOWN_TIMEOUT_MS exits 1 ('shutdown timed out'); one that stopped by itself exits 0.
    expect(ended, `their last log lines:\n${tails}`).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  }, 120_000);
});
