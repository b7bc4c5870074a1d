/**
 * `npm start` as a new user runs it, once for the whole file (one start costs migrations, the demo
 * seed and nine processes), on a machine where nothing listens at MYSQL_URL and REDIS_URL (only the
 * binaries are installed):
 * - it brings its own MariaDB and Redis and answers its printed curl line;
 * - README.md's examples run as written against it: every ```graphql operation block, twice, and
 *   every `npm run omnistock -- …` line of a ```sh block must answer without errors (the README
 *   promises they run as written on the demo data);
 * - it supervises its services: a SIGKILLed subgraph is back within seconds while the gateway answers
 *   with partial data and a clienteling subscription resumes;
 * - Ctrl-C stops everything, the servers it started included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision } from '../scripts/local-services.js';
import { errorCode, gql as post } from './client.js';
import { waitFor } from './events.js';
import { freePort } from './ports.js';
import { runScript } from './process.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const readme = await readFile(join(ROOT, 'README.md'), 'utf8');

/** Every fenced block of a language, in README order. */
const blocks = (lang: string) => [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

const graphqlBlocks = blocks('graphql').map((text) => ({ text, doc: parse(text) }));
const operationBlocks = graphqlBlocks.filter((b) => b.doc.definitions.every((d) => d.kind === Kind.OPERATION_DEFINITION));
const sdlBlocks = graphqlBlocks.filter((b) => !operationBlocks.includes(b));
const ops = (b: (typeof graphqlBlocks)[number]) => b.doc.definitions as OperationDefinitionNode[];

/** `npm run omnistock -- …` commands of the sh blocks, continuation lines joined, comments dropped. */
const cliExamples = blocks('sh')
  .flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n'))
  .map((l) => l.replace(/\s+#.*$/, '').trim())
  .filter((l) => l.startsWith('npm run omnistock -- '));

/** Splits a command line as a shell would for the quoting the README uses. */
const argv = (line: string) => [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);

let dir: string;
let start: ChildProcess;
let output = '';
let env: Record<string, string>;
let gateway: string;

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
    // Only the *_PORT settings move it off the default ports: npm start routes the registry to them.
    ...Object.fromEntries(Object.entries(ports).filter(([name]) => name !== 'MYSQL' && name !== 'REDIS').map(([name, port]) => [`${name}_PORT`, String(port)])),
    // Nothing listens there: npm start brings its own servers.
    MYSQL_URL: `mysql://root@127.0.0.1:${ports['MYSQL']}`,
    REDIS_URL: `redis://127.0.0.1:${ports['REDIS']}`,
    LOCAL_SERVICES_DIR: join(dir, 'services'),
    // Its services' logs apart from a developer's npm start.
    LOG_DIR: join(dir, 'logs'),
    MARKETPLACE_SECRETS_DIR: join(dir, 'secrets'),
    DB_PREFIX: `omnistock_st${id}`,
    REDIS_KEY_PREFIX: `omnistock_st${id}`,
    PUBLIC_HOST: '127.0.0.1',
    // The defaults, as a new user gets them (the test runner's own settings are not what a user's npm
    // start has): the demo data and keys, authentication on, info logs.
    AUTH_MODE: '',
    NODE_ENV: 'development',
    SEED_DEMO: 'true',
    LOG_LEVEL: 'info',
  };
  gateway = `http://127.0.0.1:${env['GATEWAY_PORT']}/graphql`;
  start = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  // Its databases and Redis keys went with the servers it started, which kept them in `dir`.
  await rm(join(ROOT, '.omnistock', `demo-keys-${env?.['DB_PREFIX']}.json`), { force: true });
  await rm(join(ROOT, '.omnistock', `service-keys-${env?.['DB_PREFIX']}.json`), { force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** A demo key npm start printed, by its role. */
const key = (role: string) => new RegExp(`^\\s+${role}\\s+(osk_\\S+)`, 'm').exec(output)![1]!;

describe('npm start on a machine where nothing listens at MYSQL_URL and REDIS_URL', () => {
  it('starts its own MariaDB and Redis, says so, and answers its printed curl line', async () => {
    expect(output).toMatch(/▸ started MySQL: \S*(mariadbd|mysqld) on port \d+/);
    expect(output).toMatch(/▸ started Redis: \S*redis-server on port \d+/);
    const curl = /curl -s (\S+) -H 'content-type: application\/json' -H 'x-api-key: (osk_\S+)' --data '(.+)'$/m.exec(output);
    expect(curl, output).not.toBeNull();
    const { query } = JSON.parse(curl![3]!) as { query: string };
    const res = await post<{ inventoryItems: { sku: string }[] }>(curl![1]!, query, {}, { 'x-api-key': curl![2]! });
    expect(res.errors).toBeUndefined();
    expect(res.data!.inventoryItems.map((i) => i.sku)).toEqual(['SKU-000001', 'SKU-000002']);
  });
});

async function gql(query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const res = await fetch(gateway, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key('operator') }, body: JSON.stringify({ query, variables, operationName }) });
  return (await res.json()) as { data?: Record<string, any>; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** The order each block's operations run in, where document order is not a sensible story. */
const PLANS: Record<string, string[]> = {
  Reserve: ['Reserve', 'MoreTime', 'Ship', 'Reserve', 'Cancel'], // Cancel releases a second reservation: the first has shipped
  Place: ['Place', 'Ship', 'Return', 'Cancel', 'OrderHistory', 'ConfirmedOrders', 'OpenOrders'],
  Connect: ['SyncState', 'SetListing', 'SyncState', 'RemoveListing', 'ReplayDeadLetters', 'RepairDrift', 'Connect', 'SyncState'], // Connect last: it takes AMAZON-UK off the simulator
};

describe('README examples, run from the README text against npm start', () => {
  it('the README has the examples this test knows how to run', () => {
    expect(operationBlocks.length).toBeGreaterThanOrEqual(9);
    expect(cliExamples.length).toBeGreaterThanOrEqual(10);
  });

  it('the pricing team SDL block is scripts/demo/pricing.graphql', async () => {
    expect(sdlBlocks).toHaveLength(1);
    expect(sdlBlocks[0]!.text.trim()).toBe((await readFile(join(ROOT, 'scripts/demo/pricing.graphql'), 'utf8')).trim());
  });

  it('every GraphQL example answers without errors, twice, with fresh keys', async () => {
    const ids = await gql(`{ web: channelByCode(code: "WEB-UK") { id } amazon: channelByCode(code: "AMAZON-UK") { id }
      inventoryItem(sku: "SKU-000001") { stockLevels { available location { id code } } } }`);
    expect(ids.errors).toBeUndefined();
    const level = (ids.data!.inventoryItem.stockLevels as { available: number; location: { id: string; code: string } }[]).find((l) => l.location.code.startsWith('WH'))
      ?? ids.data!.inventoryItem.stockLevels[0];
    const ran: string[] = [];
    const subscriptions: ReturnType<typeof collect>[] = [];
    const ws = wsClient(wsUrl(gateway), { 'x-api-key': key('operator') });
    try {
      for (let pass = 1; pass <= 2; pass++) {
        for (const block of operationBlocks) {
          const byName = new Map(ops(block).map((o) => [o.name?.value ?? '', o]));
          const first = ops(block)[0]!.name?.value ?? '';
          const plan = PLANS[first] ?? [...byName.keys()];
          const state: Record<string, unknown> = {};
          for (const name of plan) {
            const op = byName.get(name)!;
            const amazonBlock = byName.has('Connect');
            const variables: Record<string, unknown> = {};
            for (const v of op.variableDefinitions ?? []) {
              const n = v.variable.name.value;
              variables[n] = {
                key: randomUUID(),
                channelId: amazonBlock ? ids.data!.amazon.id : (state.channelId ?? ids.data!.web.id),
                skus: ['SKU-000001', 'SKU-000042'],
                filter: { skus: ['SKU-000001'] },
                since: null,
                location: level.location.id,
                store: level.location.id,
                version: state.version,
                id: state.id,
              }[n];
              expect(n in variables && (variables[n] !== undefined || n === 'version'), `${pass}: ${name} needs $${n}`).toBe(true);
            }
            if (op.operation === 'subscription') {
              subscriptions.push(collect(ws, block.text, variables));
              ran.push(name);
              continue;
            }
            const res = await gql(block.text, variables, byName.size > 1 ? name : undefined);
            expect(res.errors, `run ${pass}: ${name}`).toBeUndefined();
            ran.push(name);
            const data = res.data!;
            if (name === 'Availability') state.channelId = data.channelByCode.id;
            if (name === 'Reserve') {
              expect(data.reserveStock.__typename, `run ${pass}: Reserve`).toBe('Reservation');
              state.id = data.reserveStock.id;
            }
            if (name === 'Place') {
              expect(data.placeOrder.status, `run ${pass}: Place`).toBe('CONFIRMED');
              state.id = data.placeOrder.id;
            }
            if (name === 'Level') state.version = data.stockLevel.version;
          }
        }
      }
      for (const b of operationBlocks) for (const o of ops(b)) expect(ran, `${o.name?.value} ran`).toContain(o.name?.value ?? '');
      // A subscription is accepted when it delivers the stock changes the examples above made to SKU-000001.
      for (let i = 0; i < 200 && subscriptions.some((s) => s.results.length === 0 && s.errors.length === 0); i++) await new Promise((r) => setTimeout(r, 100));
      for (const s of subscriptions) {
        expect(s.errors).toEqual([]);
        expect(s.results.length).toBeGreaterThan(0);
        expect(s.results[0]!.errors).toBeUndefined();
        expect(s.results[0]!.data!.stockChanged.sku).toBe('SKU-000001');
      }
    } finally {
      for (const s of subscriptions) s.stop();
      await ws.dispose();
    }
  }, 180_000);

  // Once each: a spawned CLI costs seconds on a loaded machine, and running them again is what the
  // CLI's own tests check (sales-import: each sale recorded once; the registry's: publishing the same schema).
  it('every `npm run omnistock -- …` example runs', async () => {
    // The documents examples name the reader's own files: give them a directory that has them.
    const cwd = join(dir, 'app');
    await mkdir(join(cwd, 'src/graphql'), { recursive: true });
    await mkdir(join(cwd, 'scripts/demo'), { recursive: true });
    await writeFile(join(cwd, 'scripts/demo/pricing.graphql'), await readFile(join(ROOT, 'scripts/demo/pricing.graphql')));
    // The sales export the import example reads: the README's own CSV block.
    await writeFile(join(cwd, 'store-sales.csv'), blocks('csv')[0]!);
    await writeFile(join(cwd, 'src/graphql/product-stock.graphql'), 'query ReadmeStock { inventoryItem(sku: "SKU-000001") { sku name } }\n');
    const manifestDoc = 'query ReadmeManifest { inventoryItem(sku: "SKU-000002") { sku } }';
    await writeFile(join(cwd, 'persisted-query-manifest.json'), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1,
      operations: [{ id: (await import('node:crypto')).createHash('sha256').update(manifestDoc).digest('hex'), name: 'ReadmeManifest', type: 'query', body: manifestDoc }] }));
    const tokens: Record<string, string> = {};
    let lastOutput = '';
    for (const line of cliExamples) {
      const args = argv(line.slice('npm run omnistock -- '.length)).map((a) => {
        if (a === '<id>') return JSON.parse(lastOutput).find((k: { revokedAt?: string | null }) => !k.revokedAt)?.id ?? JSON.parse(lastOutput)[0].id;
        if (a === 'sha256:5e1f…') return lastOutput.match(/sha256:[0-9a-f]{64}/)![0];
        if (a === '$GIT_SHA') return '3f2a9c1';
        return a;
      });
      const registry = args[0] === 'registry';
      const token = registry ? (args[1] === 'check' || args[1] === 'publish' ? tokens.pricing : tokens.operators) : undefined;
      const gatewayToken: Record<string, string> = args[0] === 'import' ? { GATEWAY_TOKEN: tokens['pos-import']!, GATEWAY_URL: gateway } : {};
      // As `npm run omnistock -- …` from the reader's directory, the CLI npm start compiled.
      const res = await runScript('scripts/cli.ts', args, { ...env, ...(token ? { REGISTRY_TOKEN: token } : {}), ...gatewayToken, REGISTRY_URL: gateway.replace(/\/graphql$/, '/registry/graphql') }, 120_000, cwd);
      expect(res.code, `${line}\n${res.stdout}\n${res.stderr}`).toBe(0);
      lastOutput = res.stdout;
      const key = res.stdout.match(/osk_\S+/)?.[0];
      if (args[0] === 'keys' && args[1] === 'create' && key) tokens[args[3] === 'pricing-ci' ? 'pricing' : args[3]!] = key;
      if (args[1] === 'documents' && args[2] === 'list') expect(res.stdout).toMatch(/sha256:[0-9a-f]{64}/);
    }
  }, 300_000);
});

describe('npm start supervises what it started', () => {
  it('restarts a SIGKILLed subgraph within seconds; meanwhile the gateway answers with partial data and a subscription resumes', async () => {
    const operator = { 'x-api-key': key('operator') };
    const client = wsClient(wsUrl(gateway), { 'x-api-key': key('clienteling') });
    try {
      const sub = collect(client, 'subscription { stockChanged(filter: { skus: ["SKU-000001"] }) { sku sequence after { onHand } } }');
      await new Promise((r) => setTimeout(r, 1000));
      const pid = Number(/^\s+inventory\s+http\S+\s+\(pid (\d+)\)/m.exec(output)![1]);
      process.kill(pid, 'SIGKILL');

      // Partial data: locations answer, inventory's field is null with SUBGRAPH_UNAVAILABLE.
      const partial = await waitFor('the gateway answering without inventory', async () => {
        const res = await post<{ inventoryItem: unknown; locations: { edges: unknown[] } }>(gateway, '{ inventoryItem(sku: "SKU-000001") { sku } locations(first: 1) { edges { node { code } } } }', {}, operator);
        return errorCode(res) === 'SUBGRAPH_UNAVAILABLE' ? res : null;
      }, 10_000);
      expect(partial.data!.locations.edges).toHaveLength(1);
      expect(partial.data!.inventoryItem).toBeNull();

      await after(/✔ inventory is back \(pid (\d+)\)/, 'inventory to be restarted', 60_000);
      expect(output).toMatch(/↻ inventory exited \(SIGKILL\); restarting in 1 s/);

      // The subscription resumes: a change committed after the restart reaches it.
      const level = await post<{ inventoryItem: { stockLevels: { onHand: number; location: { id: string } }[] } }>(gateway, '{ inventoryItem(sku: "SKU-000001") { stockLevels { onHand location { id } } } }', {}, operator);
      expect(level.errors).toBeUndefined();
      const { onHand, location } = level.data!.inventoryItem.stockLevels[0]!;
      const counted = await post(gateway, `mutation($l: ID!, $k: String!, $q: Int!) { recordMovement(input: { idempotencyKey: $k, type: CYCLE_COUNT, sku: "SKU-000001", locationId: $l, quantity: $q }) { replayed } }`, { l: location.id, k: `start-test-${randomUUID()}`, q: onHand + 7 }, operator);
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
