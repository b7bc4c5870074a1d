import util from 'node:util';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../gateway/metrics.js';
import { SubgraphDataSource, type SubgraphFetchContext, type SubgraphProcessOptions } from '../gateway/subgraph-data-source.js';
import { ANSWER_KIND_HEADER, DATA_ONLY } from '../lib/subgraph-answers.js';
import { stringifyResult, SubgraphTransport, toGatewayResponse } from '../gateway/subgraph-transport.js';

/** A subgraph on loopback whose answers the test decides; requests wait for `release()` while `held`. */
interface FakeSubgraph {
  url: string;
  /** Requests received, with their headers and bodies. */
  received: { headers: IncomingMessage['headers']; body: string }[];
  answer: (res: ServerResponse, body: string) => void;
  held: boolean;
  release(): void;
}

let server: Server;
const fake: FakeSubgraph = {
  url: '',
  received: [],
  answer: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}'),
  held: false,
  release() {
    this.held = false;
    for (const go of waiting.splice(0)) go();
  },
};
const waiting: (() => void)[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    fake.received.push({ headers: req.headers, body });
    if (fake.held) await new Promise<void>((go) => waiting.push(go));
    fake.answer(res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  fake.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterEach(() => {
  fake.release();
  fake.received = [];
  fake.answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}');
});

/** Until the fake subgraph has received `n` requests. */
async function received(n: number): Promise<void> {
  for (let i = 0; i < 200 && fake.received.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  expect(fake.received.length).toBe(n);
}

describe('SubgraphTransport', () => {
  const transport = new SubgraphTransport({ timeoutMs: 2_000 });
  afterAll(() => transport.close());
  const post = (body: string, shareKey: string | null) => transport.post('locations', fake.url, body, { 'content-type': 'application/json' }, shareKey);

  it('sends identical shareable requests in flight at once only once, and each caller gets the answer', async () => {
    fake.held = true;
    const answers = Array.from({ length: 5 }, () => post('{"query":"{ a }"}', 'storefront'));
    await received(1);
    // Unshareable, another sharing key or another body: each goes out on its own.
    const others = [post('{"query":"{ a }"}', null), post('{"query":"{ a }"}', 'pos'), post('{"query":"{ b }"}', 'storefront')];
    await received(4);
    fake.release();
    for (const a of await Promise.all([...answers, ...others])) expect(a).toMatchObject({ status: 200, text: '{"data":{"ok":true}}' });
    // Nothing is kept once answered: the next identical request goes out again.
    await post('{"query":"{ a }"}', 'storefront');
    expect(fake.received).toHaveLength(5);
  });

  it('bounds a fetch by its timeout and names refused connections', async () => {
    const quick = new SubgraphTransport({ timeoutMs: 200 });
    try {
      fake.held = true;
      await expect(quick.post('locations', fake.url, '{}', {}, null)).rejects.toMatchObject({ name: 'SubgraphTransportError', reason: 'no answer within 200 ms' });
      fake.release();
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as { port: number }).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await expect(quick.post('locations', `http://127.0.0.1:${port}/graphql`, '{}', {}, null)).rejects.toMatchObject({ reason: 'ECONNREFUSED' });
    } finally {
      await quick.close();
    }
  });
});

describe('SubgraphDataSource', () => {
  const transport = new SubgraphTransport({ timeoutMs: 2_000 });
  afterAll(() => transport.close());
  const metrics = new GatewayMetrics();
  const registry = new Registry();
  metrics.register(registry);
  let source: SubgraphDataSource<SubgraphFetchContext>;
  // After the outer beforeAll: the fake subgraph's URL is known then.
  beforeAll(() => {
    source = new SubgraphDataSource('locations', fake.url, transport, metrics);
  });

  /** An entity-free fetch as @apollo/gateway makes it for an incoming operation of `kind`. */
  const fetchFor = (kind: 'query' | 'mutation', context: SubgraphFetchContext = { requestId: 'r-1', clientId: 'storefront' }) =>
    source.process({
      kind: 'incoming operation',
      request: { query: 'query Op__locations__0 { locations { name } }', operationName: 'Op__locations__0', variables: {} },
      incomingRequestContext: { operation: { operation: kind }, overallCachePolicy: undefined },
      context,
      pathInIncomingRequest: [],
    } as unknown as GraphQLDataSourceProcessOptions<SubgraphFetchContext>);

  it('forwards the request and client ids, and shares the reads of query operations only', async () => {
    fake.held = true;
    const queries = [fetchFor('query'), fetchFor('query', { requestId: 'r-2', clientId: 'storefront' })];
    const mutations = [fetchFor('mutation'), fetchFor('mutation')];
    await received(3);
    fake.release();
    const answers = await Promise.all([...queries, ...mutations]);
    for (const a of answers) expect(a).toEqual({ data: { ok: true } });
    // Every caller has its own object: the gateway merges entities into what it is given.
    expect(answers[0]).not.toBe(answers[1]);
    expect(fake.received[0]!.headers).toMatchObject({ 'x-request-id': 'r-1', 'x-client-id': 'storefront', 'content-type': 'application/json' });
    expect(JSON.parse(fake.received[0]!.body)).toMatchObject({ query: 'query Op__locations__0 { locations { name } }', operationName: 'Op__locations__0' });
  });

  it("takes an answer unread only from the system's own subgraphs: a partner's header that its errors are data is ignored (the attack)", async () => {
    fake.answer = (res) => res.writeHead(200, { 'content-type': 'application/json', [ANSWER_KIND_HEADER]: DATA_ONLY }).end('{"errors":[{"message":"partner secret: db-7.internal"}],"data":{"ok":null}}');
    const sentAsIs = (s: SubgraphDataSource<SubgraphFetchContext>) =>
      s.process({
        kind: 'incoming operation',
        request: { query: 'query Op__pricing__0 { ok }', operationName: 'Op__pricing__0', variables: {} },
        incomingRequestContext: { operation: { operation: 'query' }, overallCachePolicy: undefined },
        context: { requestId: 'r-3', clientId: 'storefront' },
        pathInIncomingRequest: [],
        sentAsIs: true,
      } as unknown as SubgraphProcessOptions<SubgraphFetchContext>);
    const partner = await sentAsIs(new SubgraphDataSource('pricing', fake.url, transport, metrics));
    expect(partner.errors).toEqual([{ message: 'partner secret: db-7.internal' }]);
    expect(String(stringifyResult({ data: partner.data }))).toBe('{"data":{"ok":null}}\n');
    // Our own subgraph's word is taken (it sets the header only for data alone: lib/subgraph.ts).
    fake.answer = (res) => res.writeHead(200, { 'content-type': 'application/json', [ANSWER_KIND_HEADER]: DATA_ONLY }).end('{"data":{"ok":true}}');
    const own = await sentAsIs(new SubgraphDataSource('locations', fake.url, transport, metrics, true, 0, null, true));
    expect(String(stringifyResult({ data: own.data }))).toBe('{"data":{"ok":true}}');
    expect(util.types.isProxy(own.data)).toBe(true);
  });

  it("answers SUBGRAPH_UNAVAILABLE for a failed status (nothing of the subgraph's answer passed on), a 4xx GraphQL answer as it is, and counts failures by kind", async () => {
    fake.answer = (res) => res.writeHead(503).end('upstream gone');
    const unavailable = await fetchFor('query');
    expect(unavailable.errors?.[0]).toMatchObject({ path: ['locations'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'locations' } });

    fake.answer = (res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"message":"boom"}]}');
    const failed = await fetchFor('query');
    expect(failed.errors?.[0]).toMatchObject({ path: ['locations'], extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
    expect(JSON.stringify(failed)).not.toContain('boom');

    fake.answer = (res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"message":"gateway token expired","extensions":{"code":"UNAUTHENTICATED"}}]}');
    const refused = await fetchFor('query');
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
    expect(JSON.stringify(refused)).not.toContain('token expired');

    fake.answer = (res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"message":"Cannot query field","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}');
    expect((await fetchFor('query')).errors?.[0]).toMatchObject({ message: 'Cannot query field' });

    fake.answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errors":[{"message":"no"}]}');
    await fetchFor('query');
    fake.answer = (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('not json');
    await expect(fetchFor('query')).rejects.toThrow('Expected JSON response body');

    const errors = (await registry.getSingleMetric('omnistock_gateway_subgraph_fetch_errors_total')!.get()).values;
    expect(Object.fromEntries(errors.map((v) => [v.labels.kind, v.value]))).toEqual({ http_503: 1, http_500: 1, http_401: 1, graphql: 2, network: 1 });
  });
});

describe('stringifyResult', () => {
  /** An answer as the transport hands it on: its bytes, and the text they say. */
  const wire = <A extends { text: string }>(a: A) => ({ ...a, bytes: Buffer.from(a.text) });
  const answer = (text: string) => toGatewayResponse('inventory', 'http://127.0.0.1/graphql', wire({ status: 200, contentType: 'application/json', cacheControl: null, answerKind: null, text }), { sentAsIs: true });
  /** What goes out: the bytes that came, for an answer sent on as it came, else text. */
  const sent = (value: Parameters<typeof stringifyResult>[0]) => String(stringifyResult(value));

  it('sends an answer its subgraph says is data alone on unread, and reads it the moment anything looks into it', () => {
    const text = '{"data":{"availability":[{"sku":"A","units":3,"locations":[{"name":"Caf\\u00e9"}]}]}}\n';
    const data = toGatewayResponse('inventory', 'http://127.0.0.1/graphql', wire({ status: 200, contentType: 'application/json', cacheControl: null, answerKind: 'data', text }), { sentAsIs: true, own: true }).data!;
    expect(util.types.isProxy(data)).toBe(true);
    // The very bytes that came, never decoded and encoded again.
    expect(Buffer.isBuffer(stringifyResult({ data }))).toBe(true);
    expect(sent({ data })).toBe(text);
    // Read by whatever reads it (a plugin, a caller of executeOperation): the parsed data.
    expect(JSON.stringify({ data })).toBe('{"data":{"availability":[{"sku":"A","units":3,"locations":[{"name":"Café"}]}]}}');
    expect(Object.keys(data)).toEqual(['availability']);
    expect((data.availability as { sku: string }[])[0]!.sku).toBe('A');
    expect('availability' in data).toBe(true);
    expect(data).toEqual({ availability: [{ sku: 'A', units: 3, locations: [{ name: 'Café' }] }] });
  });

  it('reads every answer that is not the data of a one-fetch query from a 2xx JSON body, whatever its header says', () => {
    const text = '{"data":{"ok":true}}';
    const base = { status: 200, contentType: 'application/json', cacheControl: null, answerKind: 'data', text };
    // Not asked to leave it unread (an answer @apollo/gateway merges), another status, not JSON, no header.
    for (const [what, a, unread] of [
      ['merged', base, false],
      ['400', { ...base, status: 400, text: '{"errors":[{"message":"bad"}]}' }, true],
      ['no header', { ...base, answerKind: null, text: '{"data":{"ok":true},"extensions":{"x":1}}' }, true],
    ] as const) {
      const response = toGatewayResponse('inventory', 'http://127.0.0.1/graphql', wire(a), { sentAsIs: unread, own: true });
      expect(util.types.isProxy(response.data) || util.types.isProxy(response), what).toBe(false);
    }
    // Not JSON: refused as before, not sent on.
    expect(() => toGatewayResponse('inventory', 'http://127.0.0.1/graphql', wire({ ...base, contentType: 'text/plain' }), { sentAsIs: true, own: true })).toThrow(/Expected JSON/);
  });

  it("sends an answer that is data alone as the subgraph's own text, and serializes anything else", () => {
    // Escapes and spacing as the subgraph wrote them: the text itself is sent, not a serialization of what was parsed.
    const alone = '{ "data": {"name": "Caf\\u00e9", "n": 1.50} }';
    const data = answer(alone).data!;
    expect(sent({ data })).toBe(alone);
    // Errors or extensions added by the gateway: serialized.
    expect(sent({ data, errors: [{ message: 'x' }] })).toBe(`${JSON.stringify({ data, errors: [{ message: 'x' }] })}\n`);
    expect(sent({ data, extensions: { cost: 1 } })).toBe(`${JSON.stringify({ data, extensions: { cost: 1 } })}\n`);
    // Data the gateway built (an object equal to an answer's, but not it): serialized.
    expect(sent({ data: { ...data } })).toBe(`${JSON.stringify({ data: { name: 'Café', n: 1.5 } })}\n`);
  });

  it("never passes on the text of an answer that carried more than data: the subgraph's extensions and errors stay out", () => {
    for (const text of [
      '{"data":{"ok":true},"extensions":{"internal":"db-7.internal:3306"}}',
      '{"data":{"ok":true},"errors":[{"message":"hidden"}]}',
      '{"data":{"ok":true},"__proto__":{"extensions":{"internal":"x"}}}',
    ]) {
      const data = answer(text).data!;
      expect(sent({ data }), text).toBe('{"data":{"ok":true}}\n');
    }
  });
});
