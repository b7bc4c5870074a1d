/**
 * README examples, run from README.md's own text against `npm start` (scripts/start.ts as a child
 * process, with its own databases, Redis keys, ports and secrets): every ```graphql operation block,
 * run twice, and every `npm run omnistock -- …` line of a ```sh block must answer without errors.
 * The README promises they run as written on the demo data (the operations a second time too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from './ports.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWith } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { dropKeys } from './events.js';
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

const id = randomUUID().slice(0, 8);
let env: Record<string, string>;
let start: ChildProcess | undefined;
let gateway: string;
let tmp: string;
let startOutput = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'omnistock-readme-'));
  const names = ['GATEWAY_PORT', 'INVENTORY_PORT', 'ORDERS_PORT', 'LOCATIONS_PORT', 'CHANNELS_PORT', 'MARKETPLACES_PORT', 'EXCEPTIONS_PORT', 'JOBS_PORT', 'MARKETPLACE_SIMULATOR_PORT'];
  const ports: Record<string, string> = {};
  for (const n of names) ports[n] = String(await freePort());
  env = {
    ...ports,
    DB_PREFIX: `omnistock_rx${id}`,
    REDIS_KEY_PREFIX: `omnistock_test:rx${id}`,
    MARKETPLACE_SECRETS_DIR: join(tmp, 'secrets'),
    // Its services' logs apart from a developer's npm start.
    LOG_DIR: join(tmp, 'logs'),
    SEED_DEMO: 'true',
    NODE_ENV: 'development',
    PUBLIC_HOST: '127.0.0.1',
    // The default, as a new user gets it (the test runner sets off): the examples run with the demo keys npm start prints.
    AUTH_MODE: '',
  };
  gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}/graphql`;
  // Only the *_PORT settings move it off the default ports: npm start routes the registry to them.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  start = child;
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`npm start was not up within 240 s:\n${startOutput}`)), 240_000);
    const seen = (d: Buffer) => {
      startOutput += d;
      if (startOutput.includes('Omnistock is up')) clearTimeout(timer), ok();
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => (clearTimeout(timer), fail(new Error(`npm start exited (${code}):\n${startOutput}`))));
  });
}, 250_000);

afterAll(async () => {
  if (start && start.exitCode === null) {
    const exited = new Promise((r) => start!.once('exit', r));
    start.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (start.exitCode === null) start.kill('SIGKILL');
  }
  const cfg = configWith(env);
  const db = await createConnection(cfg.MYSQL_URL);
  const [rows] = await db.query(`SHOW DATABASES LIKE '${env.DB_PREFIX}\\_%'`);
  for (const row of rows as Record<string, string>[]) await db.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
  await db.end();
  const redis = createRedis(redisTarget(cfg));
  await dropKeys(redis, env.REDIS_KEY_PREFIX);
  await redis.quit();
  await rm(tmp, { recursive: true, force: true });
  await rm(join(ROOT, '.omnistock', `demo-keys-${env.DB_PREFIX}.json`), { force: true });
}, 60_000);

/** `npm run omnistock -- <args>` run from `cwd` (the reader's directory), collected until it exits. */
function cli(args: string[], extra: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/cli.ts'), ...args], { cwd, env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => (child.kill('SIGKILL'), fail(new Error(`omnistock ${args.join(' ')} did not exit within 120 s`))), 120_000);
    child.once('exit', (code) => (clearTimeout(timer), ok({ code, stdout, stderr })));
  });
}

/** The operator's demo key, as npm start printed it. */
const operatorKey = () => /operator\s+(osk_\S+)/.exec(startOutput)![1]!;

async function gql(query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const res = await fetch(gateway, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': operatorKey() }, body: JSON.stringify({ query, variables, operationName }) });
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
    const ws = wsClient(wsUrl(gateway), { 'x-api-key': operatorKey() });
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
    const cwd = join(tmp, 'app');
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
      const res = await cli(args, { ...env, ...(token ? { REGISTRY_TOKEN: token } : {}), ...gatewayToken, REGISTRY_URL: gateway.replace(/\/graphql$/, '/registry/graphql') }, cwd);
      expect(res.code, `${line}\n${res.stdout}\n${res.stderr}`).toBe(0);
      lastOutput = res.stdout;
      const key = res.stdout.match(/osk_\S+/)?.[0];
      if (args[0] === 'keys' && args[1] === 'create' && key) tokens[args[3] === 'pricing-ci' ? 'pricing' : args[3]!] = key;
      if (args[1] === 'documents' && args[2] === 'list') expect(res.stdout).toMatch(/sha256:[0-9a-f]{64}/);
    }
  }, 300_000);
});
