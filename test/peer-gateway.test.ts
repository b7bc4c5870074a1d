import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { gql, uniq } from './client.js';
import { waitFor, waitForReplicas } from './events.js';
import { ensurePeerGateways } from '../scripts/peer-gateways.js';
import { freePort } from './ports.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * Another federation gateway on our subgraphs: Hive Gateway (its CLI, as an operator runs it) with
 * the README's config, examples/peer-gateways/hive-gateway.config.ts, serves stockChanged from the
 * inventory subgraph's graphql-ws, the location resolved from the locations subgraph; without it,
 * Hive subscribes over HTTP and relays our answer naming the transport to use.
 */

let stack: Stack;
let hiveGatewayBin: string;
let configured: Hive;
let unconfigured: Hive;
const ids = { location: '', sku: '' };

interface Hive {
  url: string;
  child: ChildProcess;
  output: () => string;
  answering(): Promise<unknown>;
}

/** Hive Gateway's CLI, as an operator runs it, on the supergraph file with `args`. */
async function startHive(supergraphFile: string, args: string[]): Promise<Hive> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const child = spawn(process.execPath, [hiveGatewayBin, 'supergraph', supergraphFile, ...args, '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const answering = () =>
    waitFor(
      `Hive Gateway at ${url} to answer`,
      async () => {
        if (child.exitCode !== null) throw new Error(`Hive Gateway exited with ${child.exitCode}:\n${output}`);
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).catch(() => null);
        return res?.ok || null;
      },
      60_000,
    );
  return { url, child, output: () => output, answering };
}

const STOCK_CHANGED = `subscription Peer($filter: StockChangedFilter!) { stockChanged(filter: $filter) { sku change after { onHand } location { id name address { city } } } }`;

/** Subscribes through a Hive Gateway and writes receipts until a result arrives (the first may precede the upstream subscription). */
async function firstResult(hive: Hive) {
  const client = wsClient(wsUrl(hive.url));
  const received = collect(client, STOCK_CHANGED, { filter: { skus: [ids.sku] } });
  try {
    return await waitFor(
      'a stockChanged result through Hive Gateway',
      async () => {
        if (received.errors.length) throw new Error(`${JSON.stringify(received.errors)}\n${hive.output()}`);
        if (received.results.length) return received.results[0]!;
        await ok(`mutation($input: ReceiveStockInput!) { receiveStock(input: $input) { stockLevel { onHand } } }`, {
          input: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.location, quantity: 2 },
        });
        await new Promise((r) => setTimeout(r, 500));
        return null;
      },
      30_000,
    );
  } finally {
    received.stop();
    await client.dispose();
  }
}

async function ok(query: string, variables: Record<string, unknown> = {}) {
  const res = await gql(stack.gatewayUrl, query, variables);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

beforeAll(async () => {
  // Hive Gateway signs no service tokens: the subgraphs here check none (SERVICE_AUTH=off, loopback only).
  // Hive Gateway is installed on first use (scripts/peer-gateways.ts), while the stack starts.
  const installing = ensurePeerGateways((line) => process.stdout.write(line));
  installing.catch(() => {}); // awaited below, where a failure is reported
  stack = await startStack({ jobs: true, env: { SERVICE_AUTH: 'off' } });
  hiveGatewayBin = (await installing).hiveGatewayBin;
  // The supergraph as the registry serves it (`registry supergraph`), routed to this stack's subgraphs.
  const sources = (await readSupergraphConfig('supergraph.yaml')).map((s) => (SUBGRAPH_NAMES.includes(s.name as never) ? { ...s, url: stack.subgraphs[s.name as (typeof SUBGRAPH_NAMES)[number]].url } : s));
  const composed = compose(sources);
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  const supergraphFile = join(tmpdir(), `omnistock-peer-${randomUUID()}.graphql`);
  writeFileSync(supergraphFile, composed.supergraphSdl);

  [configured, unconfigured] = await Promise.all([startHive(supergraphFile, ['-c', 'examples/peer-gateways/hive-gateway.config.ts']), startHive(supergraphFile, [])]);

  ids.location = (
    await ok(`mutation($input: CreateLocationInput!) { createLocation(input: $input) { id } }`, {
      input: {
        code: uniq('PEER-'),
        name: 'Peer Store',
        type: 'STORE',
        address: { line1: '1 Peer Street', city: 'Leeds', postalCode: 'LS1 1AA', countryCode: 'GB' },
        timezone: 'Europe/London',
        latitude: 53.8,
        longitude: -1.55,
        capabilities: { ships: true, pickup: true },
      },
    })
  ).createLocation.id;
  await waitForReplicas(stack.subgraphs.inventory.dataSource, [ids.location], []);
  ids.sku = uniq('PEER-SKU-');
  await ok(`mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku: ids.sku, name: 'Peer parka' } });

  await Promise.all([configured, unconfigured].map((h) => h.answering()));
}, 600_000);

afterAll(async () => {
  for (const hive of [configured, unconfigured]) {
    if (!hive || hive.child.exitCode !== null) continue;
    const exited = new Promise((r) => hive.child.once('exit', r));
    hive.child.kill('SIGTERM');
    await exited;
  }
  await stack?.close();
});

describe('Hive Gateway on our subgraphs', () => {
  it('with the README config: serves stockChanged from the inventory subgraph over graphql-ws, with fields of other subgraphs', async () => {
    const result = await firstResult(configured);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.data!.stockChanged).toMatchObject({ sku: ids.sku, location: { id: ids.location, name: 'Peer Store', address: { city: 'Leeds' } } });
    expect(result.data!.stockChanged.after.onHand).toBeGreaterThanOrEqual(2);
  });

  it('without it (HTTP subscriptions, its default): its client is told graphql-ws and the URL to use', async () => {
    const result = await firstResult(unconfigured);
    expect(result.data?.stockChanged ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({
      message: expect.stringContaining('graphql-ws'),
      extensions: { code: 'BAD_REQUEST', reason: 'SUBSCRIPTION_TRANSPORT_UNSUPPORTED', url: wsUrl(stack.subgraphs.inventory.url) },
    });
  });
});
