import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../../contracts/composition.js';
import { startGateway } from '../../gateway/gateway.js';
import { limitSettings } from '../../gateway/limits/limits.js';
import { SUBGRAPH_NAMES } from '../../lib/config.js';
import { metricsRefusal } from '../../lib/server.js';
import { gql } from '../client.js';
import { startStack, type Stack } from '../stack.js';

/** #16 item 9: /metrics is not open to the network, and what a subgraph refuses (401/403, its body, its URL) does not reach callers. */
let stack: Stack;
let refusing: Server;
let refusingUrl: string;
let gateway: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  stack = await startStack();
  refusing = createServer((req, res) => {
    req.resume();
    const status = req.headers['x-want'] === '403' ? 403 : 401;
    res.writeHead(status, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="internal-locations"' });
    res.end(JSON.stringify({ error: 'token for service locations-internal expired', debug: { host: 'locations.internal.svc:4003' } }));
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/graphql`;
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  gateway = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), locations: refusingUrl },
    limits: limitSettings(stack.cfg),
    host: '127.0.0.1',
    port: 0,
    metricsToken: SCRAPE_TOKEN,
  });
});

const SCRAPE_TOKEN = 'scrape-token-0123456789';

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => refusing?.close(resolve));
  await stack?.close();
});

describe("a subgraph's refusal", () => {
  it('reaches the caller as a plain error, without the subgraph URL or its body', async () => {
    const res = await gql(gateway.url, '{ locations(first: 1) { edges { node { id } } } }', {}, { 'x-client-id': 'web' });
    const text = JSON.stringify(res.errors);
    // Not the caller's credentials: the gateway's fetch failed.
    expect(res.errors![0]!.extensions!.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(text).not.toContain(refusingUrl);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('locations-internal');
    expect(text).not.toContain('internal.svc');
  });

  it('keeps a subgraph\'s own GraphQL refusal (400 with its errors) as its answer', async () => {
    const res = await gql(gateway.url, '{ inventoryItems(skus: ["NOPE"]) { sku } }', {}, { 'x-client-id': 'web' });
    expect(res.errors).toBeUndefined();
  });
});

describe('/metrics', () => {
  const scrape = (headers: Record<string, string> = {}) => fetch(gateway.url.replace(/\/graphql$/, '/metrics'), { headers });

  it('asks for METRICS_TOKEN when one is set, even on this host', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape({ authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}x` })).status).toBe(401);
    const ok = await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}` });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('omnistock_gateway_requests_total');
  });

  it('without a token, answers callers on this host only', () => {
    expect(metricsRefusal(undefined, '127.0.0.1', undefined)).toBeNull();
    expect(metricsRefusal(undefined, '::1', undefined)).toBeNull();
    expect(metricsRefusal(undefined, '::ffff:127.0.0.1', undefined)).toBeNull();
    expect(metricsRefusal(undefined, '10.0.0.7', undefined)).toBe(403);
    expect(metricsRefusal(undefined, '::ffff:192.168.1.20', undefined)).toBe(403);
    expect(metricsRefusal('Bearer anything', '10.0.0.7', undefined)).toBe(403);
  });
});
