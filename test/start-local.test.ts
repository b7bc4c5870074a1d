import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision } from '../scripts/local-services.js';
import { errorCode, gql } from './client.js';
import { waitFor } from './events.js';
import { freePort } from './ports.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * `npm start` as a new user runs it on a machine where nothing listens at MYSQL_URL and REDIS_URL
 * (only the binaries are installed): it brings its own MariaDB and Redis, answers its printed curl
 * line, and supervises its services: a SIGKILLed subgraph is back within seconds while the gateway
 * answers with partial data and a clienteling subscription resumes; Ctrl-C stops everything,
 * the servers it started included.
 */

let dir: string;
let start: ChildProcess;
let output = '';
let env: Record<string, string>;

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const after = (pattern: RegExp, what: string, timeoutMs = 240_000) =>
  waitFor(what, async () => pattern.exec(output) ?? (start.exitCode !== null ? Promise.reject(new Error(`npm start exited (${start.exitCode}):\n${output}`)) : null), timeoutMs);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'omnistock-start-'));
  const id = randomUUID().slice(0, 8);
  const ports = Object.fromEntries(
    await Promise.all(
      ['GATEWAY', 'INVENTORY', 'ORDERS', 'LOCATIONS', 'CHANNELS', 'MARKETPLACES', 'EXCEPTIONS', 'JOBS', 'MARKETPLACE_SIMULATOR', 'MYSQL', 'REDIS'].map(async (name) => [name, await freePort()] as const),
    ),
  );
  env = {
    ...Object.fromEntries(Object.entries(ports).filter(([name]) => name !== 'MYSQL' && name !== 'REDIS').map(([name, port]) => [`${name}_PORT`, String(port)])),
    MYSQL_URL: `mysql://root@127.0.0.1:${ports['MYSQL']}`,
    REDIS_URL: `redis://127.0.0.1:${ports['REDIS']}`,
    LOCAL_SERVICES_DIR: join(dir, 'services'),
    LOG_DIR: join(dir, 'logs'),
    MARKETPLACE_SECRETS_DIR: join(dir, 'secrets'),
    DB_PREFIX: `omnistock_st${id}`,
    REDIS_KEY_PREFIX: `omnistock_st${id}`,
    SEED_SKUS: '5',
    // The marketplace simulator and connections are npm start's too, but not what this test is about.
    DEMO_MARKETPLACES: 'false',
    PUBLIC_HOST: '127.0.0.1',
    // The vitest run's own settings are not what a user's npm start has.
    AUTH_MODE: 'enforce',
    NODE_ENV: 'development',
    SEED_DEMO: 'true',
    LOG_LEVEL: 'info',
  };
  start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  start.stdout!.on('data', (d) => (output += d));
  start.stderr!.on('data', (d) => (output += d));
  await after(/Omnistock is up/, 'npm start to be up');
}, 300_000);

afterAll(async () => {
  // Ctrl-C as a user would (a SIGKILL would leave its services running), then SIGKILL if it hangs.
  if (start && start.exitCode === null) {
    const exited = new Promise((resolve) => start.once('exit', resolve));
    start.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (start.exitCode === null) start.kill('SIGKILL');
  }
  await rm(join('.omnistock', `demo-keys-${env?.['DB_PREFIX']}.json`), { force: true });
  await rm(join('.omnistock', `service-keys-${env?.['DB_PREFIX']}.json`), { force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

const key = (role: string) => new RegExp(`^\\s+${role}\\s+(osk_\\S+)`, 'm').exec(output)![1]!;

describe('npm start on a machine where nothing listens at MYSQL_URL and REDIS_URL', () => {
  it('starts its own MariaDB and Redis, says so, and answers its printed curl line', async () => {
    expect(output).toMatch(/▸ started MySQL: \S*(mariadbd|mysqld) on port \d+/);
    expect(output).toMatch(/▸ started Redis: \S*redis-server on port \d+/);
    const curl = /curl -s (\S+) -H 'content-type: application\/json' -H 'x-api-key: (osk_\S+)' --data '(.+)'$/m.exec(output);
    expect(curl, output).not.toBeNull();
    const { query } = JSON.parse(curl![3]!) as { query: string };
    const res = await gql<{ inventoryItems: { sku: string }[] }>(curl![1]!, query, {}, { 'x-api-key': curl![2]! });
    expect(res.errors).toBeUndefined();
    expect(res.data!.inventoryItems.map((i) => i.sku)).toEqual(['SKU-000001', 'SKU-000002']);
  });

  it('restarts a SIGKILLed subgraph within seconds; meanwhile the gateway answers with partial data and a subscription resumes', async () => {
    const gateway = `http://127.0.0.1:${env['GATEWAY_PORT']}/graphql`;
    const operator = { 'x-api-key': key('operator') };
    const client = wsClient(wsUrl(gateway), { 'x-api-key': key('clienteling') });
    try {
      const sub = collect(client, 'subscription { stockChanged(filter: { skus: ["SKU-000001"] }) { sku sequence after { onHand } } }');
      await new Promise((r) => setTimeout(r, 1000));
      const pid = Number(/^\s+inventory\s+http\S+\s+\(pid (\d+)\)/m.exec(output)![1]);
      process.kill(pid, 'SIGKILL');

      // Partial data: locations answer, inventory's field is null with SUBGRAPH_UNAVAILABLE.
      const partial = await waitFor('the gateway answering without inventory', async () => {
        const res = await gql<{ inventoryItem: unknown; locations: { edges: unknown[] } }>(gateway, '{ inventoryItem(sku: "SKU-000001") { sku } locations(first: 1) { edges { node { code } } } }', {}, operator);
        return errorCode(res) === 'SUBGRAPH_UNAVAILABLE' ? res : null;
      }, 10_000);
      expect(partial.data!.locations.edges).toHaveLength(1);
      expect(partial.data!.inventoryItem).toBeNull();

      await after(/✔ inventory is back \(pid (\d+)\)/, 'inventory to be restarted', 60_000);
      expect(output).toMatch(/↻ inventory exited \(SIGKILL\); restarting in 1 s/);

      // The subscription resumes: a change committed after the restart reaches it.
      const level = await gql<{ inventoryItem: { stockLevels: { onHand: number; location: { id: string } }[] } }>(gateway, '{ inventoryItem(sku: "SKU-000001") { stockLevels { onHand location { id } } } }', {}, operator);
      expect(level.errors).toBeUndefined();
      const { onHand, location } = level.data!.inventoryItem.stockLevels[0]!;
      const counted = await gql(gateway, `mutation($l: ID!, $k: String!, $q: Int!) { recordMovement(input: { idempotencyKey: $k, type: CYCLE_COUNT, sku: "SKU-000001", locationId: $l, quantity: $q }) { replayed } }`, { l: location.id, k: `start-test-${randomUUID()}`, q: onHand + 7 }, operator);
      expect(counted.errors).toBeUndefined();
      await waitFor('the change to reach the subscriber', async () => sub.results.some((r) => (r.data?.["stockChanged"] as { after: { onHand: number } } | undefined)?.after.onHand === onHand + 7), 30_000).catch((err) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify({ results: sub.results, errors: sub.errors, completed: sub.completed })}`);
      });
      expect(sub.errors).toEqual([]);
      sub.stop();
    } finally {
      await client.dispose();
    }
  });

  it('stops everything on Ctrl-C, the MariaDB and Redis it started included', async () => {
    const exited = new Promise<number | null>((resolve) => start.once('exit', (code) => resolve(code)));
    start.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await listening(Number(new URL(env['MYSQL_URL']!).port))).toBe(false);
    expect(await listening(Number(new URL(env['REDIS_URL']!).port))).toBe(false);
    expect(await listening(Number(env['GATEWAY_PORT']))).toBe(false);
  });
});

describe('how npm start brings a missing service', () => {
  it('uses the installed binary, else Docker on the compose port, else names what to install; never for another host', () => {
    expect(provision('mysql', 'mysql://root@127.0.0.1:13306', { binary: '/usr/sbin/mariadbd', docker: true })).toEqual({ how: 'binary', binary: '/usr/sbin/mariadbd' });
    expect(provision('redis', 'redis://localhost:6379', { binary: null, docker: true })).toEqual({ how: 'docker' });
    const elsewhere = provision('redis', 'redis://localhost:6380', { binary: null, docker: true });
    expect(elsewhere).toMatchObject({ how: 'none' });
    expect((elsewhere as { reason: string }).reason).toContain('install redis-server');
    expect(provision('mysql', 'mysql://root@127.0.0.1:3306', { binary: null, docker: false })).toMatchObject({ how: 'none', reason: expect.stringContaining('install mariadb-server') });
    expect(provision('mysql', 'mysql://root@db.internal:3306', { binary: '/usr/sbin/mariadbd', docker: true })).toMatchObject({ how: 'none', reason: expect.stringContaining('not on this machine') });
  });
});
