import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './events.js';
import { startGatewayProcess, stopAllGatewayProcesses, subgraphEnv, type GatewayProcess } from './gateway-process.js';
import { parseMetrics } from './metrics-scrape.js';
import { startStack, type Stack } from './stack.js';

/** GATEWAY_WORKERS=2: one port served by two gateway worker processes under a supervising primary. */
const id = randomUUID().slice(0, 8);
const env = { DB_PREFIX: `omnistock_t${id}`, REDIS_KEY_PREFIX: `omnistock_test:cluster-${id}`, AUTH_MODE: 'off', RATE_LIMIT_PER_MINUTE: '0', GATEWAY_WORKERS: '2' };

let stack: Stack;
let gateway: GatewayProcess;

/** The primary's worker processes (its other children, such as tsx's esbuild service, left out). */
const workerPids = () =>
  execFileSync('ps', ['--ppid', String(gateway.child.pid), '-o', 'pid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, comm]) => pid && comm === 'node')
    .map(([pid]) => pid!)
    .sort();

/** The processes that have said they listen (each worker logs its own "gateway listening"). */
const listeningPids = () => new Set([...gateway.output().matchAll(/"pid":(\d+)[^\n]*"msg":"gateway listening"/g)].map((m) => m[1]!));
/** Both workers forked and serving: a worker still starting takes no connections yet. */
const twoServing = () => {
  const pids = workerPids();
  const listening = listeningPids();
  return pids.length === 2 && pids.every((pid) => listening.has(pid)) ? pids : null;
};

/** A request on a connection of its own (the cluster hands connections, not requests, to workers). */
function onNewConnection(url: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const method = body === undefined ? 'GET' : 'POST';
    const req = request(url, { method, agent: false, headers: { 'content-type': 'application/json', 'x-client-id': 'cluster-test' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const probe = () => onNewConnection(gateway.url, JSON.stringify({ query: 'query ClusterProbe { __typename }' }));

beforeAll(async () => {
  stack = await startStack();
  gateway = await startGatewayProcess({ ...env, ...subgraphEnv(stack) });
});

afterAll(async () => {
  await stopAllGatewayProcesses(stack, env);
  await stack?.close();
});

describe('gateway cluster mode', () => {
  it('serves one port from two workers, and /metrics on any of them counts the whole cluster', async () => {
    await waitFor('two workers serving', async () => twoServing());
    for (let i = 0; i < 20; i++) expect((await probe()).status).toBe(200);
    // Every scrape lands on some worker; each must report all 20, not its own share.
    for (let i = 0; i < 4; i++) {
      const scrape = await onNewConnection(gateway.url.replace(/\/graphql$/, '/metrics'));
      const samples = parseMetrics(scrape.body).filter((s) => s.name === 'omnistock_gateway_requests_total' && s.labels.operation === 'ClusterProbe');
      expect(samples.reduce((sum, s) => sum + s.value, 0)).toBe(20);
    }
  });

  it('replaces a worker that dies, serving throughout', async () => {
    // Both must be serving: killing the only one listening would leave none to hand connections to.
    const [victim, survivor] = await waitFor('two workers serving', async () => twoServing());
    process.kill(Number(victim), 'SIGKILL');
    // Once the primary has reaped it (a connection handed out before that is lost with the worker,
    // as with any process that dies), the other worker serves alone until the replacement is up.
    await waitFor('the primary to reap the dead worker', async () => !workerPids().includes(victim!) || null);
    expect((await probe()).status).toBe(200);
    const now = await waitFor('a replacement worker', async () => {
      const pids = workerPids();
      return pids.length === 2 && !pids.includes(victim!) ? pids : null;
    });
    expect(now).toContain(survivor);
    // Scraped while the replacement is still starting: answered at once from the workers serving.
    const scrape = await onNewConnection(gateway.url.replace(/\/graphql$/, '/metrics'));
    expect(scrape.status).toBe(200);
    expect(parseMetrics(scrape.body).some((s) => s.name === 'omnistock_gateway_requests_total' && s.labels.operation === 'ClusterProbe')).toBe(true);
    for (let i = 0; i < 6; i++) expect((await probe()).status).toBe(200);
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const pids = workerPids();
    expect(await gateway.stop()).toBe(0);
    for (const pid of pids) expect(() => process.kill(Number(pid), 0)).toThrow();
  });
});
