import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemEvent, type ProblemSignalInput } from '../contracts/events.js';
import { outboxStore } from '../lib/outbox.js';
import { verifyWebhook, SIGNATURE_HEADER } from '../lib/webhooks.js';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { ledgerStore, type LedgerRow } from '../subgraphs/exceptions/data/ledger.store.js';
import { dayNumber } from '../subgraphs/exceptions/domain/ledger-rules.js';
import { ExceptionService } from '../subgraphs/exceptions/services/exception.service.js';
import { gql } from './client.js';
import { waitFor } from './events.js';
import { startStack, type Stack } from './stack.js';
import { scrape } from './metrics-scrape.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

/**
 * The exceptions inbox through the gateway, with the jobs process running: signals grouped by root
 * cause, resends and stale signals ignored, auto-resolution, what people do (with who and a note),
 * the subscription, signed webhooks, and the scopes that guard each door.
 */
let stack: Stack;
let gatewayDb: DataSource;
let exceptions: ExceptionService;
const keys = { ops: '', reader: '', none: '', admin: '' };
let seq = 1;

const EXCEPTION_FIELDS = `id kind severity state title cause explanation openSubjects totalSubjects unitsAtRisk valueAtRisk evidenceCount
  evidence(first: 5) { type id subject } action { kind label operation variables missing } team note acknowledgedBy resolution
  channel { id } history { event state severity actor note }`;
const LIST = `query($filter: ExceptionFilterInput, $first: Int) { exceptions(filter: $filter, first: $first) { edges { node { ${EXCEPTION_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const ONE = `query($id: ID!) { exception(id: $id) { ${EXCEPTION_FIELDS} } }`;
const as = (key: string) => ({ 'x-api-key': key });

const uniqueCause = () => `CAUSE_${randomUUID().slice(0, 8)}`;

function signal(over: Partial<ProblemSignalInput> & Pick<ProblemSignalInput, 'kind' | 'subject'>): ProblemSignalInput {
  return { state: 'RAISED', cause: 'HTTP_400', explanation: 'the marketplace answered 400', at: new Date().toISOString(), ...over };
}

/** Applies signals as the feed would, each with the next sequence of source `test`. */
async function apply(...signals: ProblemSignalInput[]): Promise<void> {
  await exceptions.apply(signals.map((s) => ({ source: 'test', seq: seq++, signal: problemEvent(s).payload as never })));
}

async function byChannel(channelId: string, states?: string[]) {
  const res = await gql(stack.gatewayUrl, LIST, { filter: { channelId, ...(states ? { states } : {}) }, first: 50 }, as(keys.ops));
  expect(res.errors).toBeUndefined();
  return res.data!.exceptions.edges.map((e: { node: Record<string, any> }) => e.node);
}

beforeAll(async () => {
  stack = await startStack({ jobs: true, env: { AUTH_MODE: 'enforce', EXCEPTION_WEBHOOK_BACKOFF_MS: '50' } });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  const apiKeys = new ApiKeyService(gatewayDb);
  const issue = async (name: string, scopes: string[]) =>
    (await apiKeys.create({ clientId: `${name}-${randomUUID().slice(0, 6)}`, scopes, expiresInMs: 3_600_000, createdBy: 'exceptions.test' })).key;
  keys.ops = await issue('ops', ['exceptions:read', 'exceptions:write']);
  keys.reader = await issue('reader', ['exceptions:read']);
  keys.none = await issue('storefront', ['availability:read', 'inventory:read']);
  keys.admin = await issue('admin', ['exceptions:read', 'exceptions:write', 'exceptions:admin']);
  exceptions = new ExceptionService(stack.subgraphs.exceptions.dataSource);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
});

describe('grouping by root cause', () => {
  it('makes one exception of a marketplace refusing 300 SKUs with one error, and another of a second error', async () => {
    const channelId = randomUUID();
    const refused = Array.from({ length: 300 }, (_, i) =>
      signal({
        kind: 'DEAD_LETTER',
        subject: `${channelId}:SKU-${i}`,
        channelId,
        sku: `SKU-${i}`,
        cause: 'EBAY_25002',
        units: 2,
        evidence: [{ type: 'DEAD_LETTER', id: randomUUID() }],
        action: { kind: 'REPLAY_DEAD_LETTERS', channelId },
      }),
    );
    await apply(...refused, signal({ kind: 'DEAD_LETTER', subject: `${channelId}:OTHER`, channelId, sku: 'OTHER', cause: 'HTTP_500' }));
    const found = await byChannel(channelId);
    expect(found).toHaveLength(2);
    const big = found.find((x: { cause: string }) => x.cause === 'EBAY_25002');
    expect(big).toMatchObject({ kind: 'DEAD_LETTER', state: 'OPEN', severity: 'CRITICAL', openSubjects: 300, totalSubjects: 300, unitsAtRisk: 600, evidenceCount: 300, channel: { id: channelId } });
    expect(big.title).toMatch(/300 SKUs/);
    expect(big.evidence).toHaveLength(5);
    expect(big.action).toMatchObject({ kind: 'REPLAY_DEAD_LETTERS', missing: [] });
    expect(JSON.parse(big.action.variables)).toEqual({ channelId, ids: null });
    // Raised at one SKU, it escalated as the SKUs came in (10: HIGH, 100: CRITICAL).
    expect(big.history.map((h: { event: string; severity: string }) => [h.event, h.severity])).toEqual([
      ['RAISED', 'MEDIUM'],
      ['ESCALATED', 'HIGH'],
      ['ESCALATED', 'CRITICAL'],
    ]);

    const counts = await gql(
      stack.gatewayUrl,
      `query($f: ExceptionFilterInput) { exceptionCounts(filter: $f) { total byKind { key count } byCause { key count } bySeverity { key count } } }`,
      { f: { channelId } },
      as(keys.reader),
    );
    expect(counts.data!.exceptionCounts).toEqual({
      total: 2,
      byKind: [{ key: 'DEAD_LETTER', count: 2 }],
      byCause: expect.arrayContaining([{ key: 'EBAY_25002', count: 1 }, { key: 'HTTP_500', count: 1 }]),
      bySeverity: expect.arrayContaining([{ key: 'CRITICAL', count: 1 }, { key: 'MEDIUM', count: 1 }]),
    });
  });

  it('moves a subject whose cause changed to the exception of its new cause', async () => {
    const channelId = randomUUID();
    await apply(signal({ kind: 'DEAD_LETTER', subject: `${channelId}:A`, channelId, cause: 'HTTP_500' }), signal({ kind: 'DEAD_LETTER', subject: `${channelId}:B`, channelId, cause: 'HTTP_500' }));
    await apply(signal({ kind: 'DEAD_LETTER', subject: `${channelId}:A`, channelId, cause: 'EBAY_25002' }));
    const found = await byChannel(channelId);
    expect(found.map((x: { cause: string; openSubjects: number }) => [x.cause, x.openSubjects]).sort()).toEqual([
      ['EBAY_25002', 1],
      ['HTTP_500', 1],
    ]);
  });
});

describe('auto-resolution and stale signals', () => {
  it('resolves an exception by itself when every subject cleared, ignores a resend, and opens a new one on recurrence', async () => {
    const channelId = randomUUID();
    const raise = (n: number) => ({ source: 'test', seq: n, signal: problemEvent(signal({ kind: 'SYNC_LAG', subject: channelId, channelId, cause: 'PUSH_BACKLOG', measure: 120 })).payload as never });
    const clear = (n: number) => ({ source: 'test', seq: n, signal: problemEvent(signal({ kind: 'SYNC_LAG', subject: channelId, channelId, state: 'CLEARED', cause: '' })).payload as never });
    const base = (seq += 10);
    await exceptions.apply([raise(base), clear(base + 1)]);
    // The relay resends the RAISED (a crash before it marked the row): nothing reopens.
    await exceptions.apply([raise(base)]);
    const [resolved] = await byChannel(channelId, ['RESOLVED']);
    expect(resolved).toMatchObject({ state: 'RESOLVED', resolution: 'AUTO', openSubjects: 0 });
    expect(resolved.history.map((h: { event: string }) => h.event)).toEqual(['RAISED', 'AUTO_RESOLVED']);
    expect(await byChannel(channelId)).toEqual([]);

    await exceptions.apply([raise(base + 2)]);
    const [again] = await byChannel(channelId);
    expect(again.id).not.toBe(resolved.id);
    expect(again).toMatchObject({ state: 'OPEN', severity: 'HIGH', kind: 'SYNC_LAG' });
  });

  it('keeps a subject cleared before its RAISED arrived cleared when the RAISED comes after', async () => {
    const channelId = randomUUID();
    const base = (seq += 10);
    const of = (state: 'RAISED' | 'CLEARED', n: number) => ({ source: 'test', seq: n, signal: problemEvent(signal({ kind: 'DEAD_LETTER', subject: `${channelId}:LATE`, channelId, state })).payload as never });
    await exceptions.apply([of('CLEARED', base + 1)]);
    await exceptions.apply([of('RAISED', base)]);
    expect(await byChannel(channelId)).toEqual([]);
    // A later failure of the same SKU is a problem again.
    await exceptions.apply([of('RAISED', base + 2)]);
    expect(await byChannel(channelId)).toHaveLength(1);
  });

  it('escalates an exception as it grows, and only upwards', async () => {
    const channelId = randomUUID();
    const subjects = Array.from({ length: 12 }, (_, i) => `${channelId}:S${i}`);
    await apply(signal({ kind: 'DEAD_LETTER', subject: subjects[0]!, channelId }));
    expect((await byChannel(channelId))[0]).toMatchObject({ severity: 'MEDIUM' });
    await apply(...subjects.slice(1).map((subject) => signal({ kind: 'DEAD_LETTER', subject, channelId })));
    await apply(...subjects.slice(3).map((subject) => signal({ kind: 'DEAD_LETTER', subject, channelId, state: 'CLEARED', cause: '' })));
    const [x] = await byChannel(channelId);
    expect(x).toMatchObject({ severity: 'HIGH', openSubjects: 3, totalSubjects: 12 });
    expect(x.history.map((h: { event: string }) => h.event)).toEqual(['RAISED', 'ESCALATED']);
  });
});

describe('what people do', () => {
  it('acknowledges, assigns and resolves with who, when and a note; a resolved exception refuses further moves', async () => {
    const channelId = randomUUID();
    await apply(signal({ kind: 'STUCK_ORDER', subject: randomUUID(), channelId, cause: 'INVENTORY_UNREACHABLE', action: { kind: 'RETRY_ORDER', orderId: randomUUID() } }));
    const [x] = await byChannel(channelId);
    const ack = await gql(stack.gatewayUrl, `mutation($id: ID!) { acknowledgeException(id: $id, note: "looking") { state acknowledgedBy note } }`, { id: x.id }, as(keys.ops));
    expect(ack.data!.acknowledgeException).toMatchObject({ state: 'ACKNOWLEDGED', note: 'looking' });
    expect(ack.data!.acknowledgeException.acknowledgedBy).toMatch(/^ops-/);
    const again = await gql(stack.gatewayUrl, `mutation($id: ID!) { acknowledgeException(id: $id) { state } }`, { id: x.id }, as(keys.ops));
    expect(again.data!.acknowledgeException.state).toBe('ACKNOWLEDGED');
    const assigned = await gql(stack.gatewayUrl, `mutation($id: ID!) { assignException(id: $id, team: "fulfilment") { team } }`, { id: x.id }, as(keys.ops));
    expect(assigned.data!.assignException.team).toBe('fulfilment');
    const resolved = await gql(stack.gatewayUrl, `mutation($id: ID!) { resolveException(id: $id, note: "inventory back") { state resolution } }`, { id: x.id }, as(keys.ops));
    expect(resolved.data!.resolveException).toEqual({ state: 'RESOLVED', resolution: 'MANUAL' });
    const twice = await gql(stack.gatewayUrl, `mutation($id: ID!) { resolveException(id: $id) { state } }`, { id: x.id }, as(keys.ops));
    expect(twice.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const one = await gql(stack.gatewayUrl, ONE, { id: x.id }, as(keys.reader));
    expect(one.data!.exception.history.map((h: { event: string; note: string | null }) => [h.event, h.note])).toEqual([
      ['RAISED', null],
      ['ACKNOWLEDGED', 'looking'],
      ['ASSIGNED', 'fulfilment'],
      ['RESOLVED', 'inventory back'],
    ]);
    expect(one.data!.exception.action).toMatchObject({ kind: 'RETRY_ORDER', label: 'Retry the order' });
  });

  it('answers bad input with stable codes and writes nothing', async () => {
    const unknown = await gql(stack.gatewayUrl, `mutation($id: ID!) { acknowledgeException(id: $id) { state } }`, { id: randomUUID() }, as(keys.ops));
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const badId = await gql(stack.gatewayUrl, `mutation { acknowledgeException(id: "not-an-id") { state } }`, {}, as(keys.ops));
    expect(badId.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badFirst = await gql(stack.gatewayUrl, LIST, { first: 0 }, as(keys.ops));
    expect(badFirst.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const channelId = randomUUID();
    await apply(signal({ kind: 'OVERSOLD', subject: `${channelId}:MO-1`, channelId, cause: 'TOLD_LATE', units: 3 }));
    const [x] = await byChannel(channelId);
    const notAnomaly = await gql(stack.gatewayUrl, `mutation($id: ID!) { markNotAnomaly(id: $id) { state } }`, { id: x.id }, as(keys.ops));
    expect(notAnomaly.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const longNote = await gql(stack.gatewayUrl, `mutation($id: ID!, $note: String) { acknowledgeException(id: $id, note: $note) { state } }`, { id: x.id, note: 'x'.repeat(2001) }, as(keys.ops));
    expect(longNote.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await byChannel(channelId))[0]).toMatchObject({ state: 'OPEN', severity: 'HIGH', history: [{ event: 'RAISED' }] });
  });
});

describe('doors', () => {
  it('refuses the inbox to a key without exceptions:read, and moves to a key that may only read; nothing is written', async () => {
    const channelId = randomUUID();
    await apply(signal({ kind: 'DEAD_LETTER', subject: `${channelId}:X`, channelId }));
    const [x] = await byChannel(channelId);
    const read = await gql(stack.gatewayUrl, LIST, {}, as(keys.none));
    expect(read.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['exceptions:read'] });
    const ack = await gql(stack.gatewayUrl, `mutation($id: ID!) { acknowledgeException(id: $id) { state } }`, { id: x.id }, as(keys.reader));
    expect(ack.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['exceptions:write'] });
    const hook = await gql(stack.gatewayUrl, `mutation { addExceptionWebhook(url: "https://example.com/h", minSeverity: LOW) { secret } }`, {}, as(keys.ops));
    expect(hook.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['exceptions:admin'] });
    // Straight at the subgraph, without the gateway's service token.
    const direct = await fetch(stack.subgraphs.exceptions.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ exceptions { edges { node { id } } } }' }) });
    expect(direct.status).toBeGreaterThanOrEqual(400);
    expect((await byChannel(channelId))[0]).toMatchObject({ state: 'OPEN' });
  });

  it('lends no rights: an action a key may not run through its owner is refused there', async () => {
    const channelId = randomUUID();
    await apply(signal({ kind: 'OVERSOLD', subject: `${channelId}:MO-2`, channelId, cause: 'TOLD_LATE', units: 4, action: { kind: 'SET_BUFFER', channelId, units: 4 } }));
    const [x] = await byChannel(channelId);
    expect(x.action).toMatchObject({ kind: 'SET_BUFFER' });
    const ran = await gql(stack.gatewayUrl, x.action.operation, JSON.parse(x.action.variables), as(keys.ops));
    expect(ran.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['channels:admin'] });
  });

  it('refuses webhook URLs at metadata or link-local addresses, however spelled', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[::ffff:a9fe:a9fe]/', 'http://metadata.google.internal/', 'file:///etc/passwd']) {
      const res = await gql(stack.gatewayUrl, `mutation($url: String!) { addExceptionWebhook(url: $url, minSeverity: LOW) { secret } }`, { url }, as(keys.admin));
      expect(res.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
    }
    const listed = await gql(stack.gatewayUrl, `{ exceptionWebhooks { url } }`, {}, as(keys.admin));
    expect(listed.data!.exceptionWebhooks.map((w: { url: string }) => w.url)).not.toContain('http://169.254.169.254/latest/meta-data');
  });
});

describe('where people hear about it', () => {
  let receiver: Server;
  const deliveries: { body: string; signature: string | undefined; event: string | undefined }[] = [];

  beforeAll(async () => {
    receiver = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        deliveries.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers[SIGNATURE_HEADER] as string | undefined, event: req.headers['x-omnistock-event'] as string | undefined });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('streams raised exceptions to a subscriber through the gateway, filtered by severity', async () => {
    const channelId = randomUUID();
    const client = wsClient(wsUrl(stack.gatewayUrl), { 'x-api-key': keys.reader });
    const got = collect(client, `subscription($f: ExceptionRaisedFilterInput) { exceptionRaised(filter: $f) { kind severity cause channel { id } openSubjects } }`, { f: { channelId, minSeverity: 'HIGH' } });
    try {
      // The subscription is live once the gateway opened it at the subgraph; raise until one arrives.
      await waitFor('a subscription event', async () => {
        await apply(signal({ kind: 'DEAD_LETTER', subject: `${channelId}:${randomUUID()}`, channelId, cause: `LOW_${randomUUID().slice(0, 4)}` }));
        await apply(signal({ kind: 'OVERSOLD', subject: `${channelId}:${randomUUID()}`, channelId, cause: `TOLD_LATE_${randomUUID().slice(0, 4)}`, units: 1 }));
        return got.results.length > 0 ? true : null;
      }, 20_000);
      for (const r of got.results) expect(r.data!.exceptionRaised).toMatchObject({ kind: 'OVERSOLD', severity: 'HIGH', channel: { id: channelId } });
      expect(got.errors).toEqual([]);
    } finally {
      got.stop();
      await client.dispose();
    }
  });

  it('POSTs exceptions of the chosen severities to a webhook, signed with its secret', async () => {
    const { port } = receiver.address() as AddressInfo;
    const added = await gql(
      stack.gatewayUrl,
      `mutation($url: String!) { addExceptionWebhook(url: $url, minSeverity: CRITICAL, kinds: [OVERSOLD]) { secret webhook { id minSeverity kinds } } }`,
      { url: `http://127.0.0.1:${port}/hooks` },
      as(keys.admin),
    );
    expect(added.errors).toBeUndefined();
    const { secret, webhook } = added.data!.addExceptionWebhook;
    expect(webhook).toMatchObject({ minSeverity: 'CRITICAL', kinds: ['OVERSOLD'] });
    const channelId = randomUUID();
    await apply(signal({ kind: 'OVERSOLD', subject: `${channelId}:small`, channelId, cause: 'SMALL', units: 1 }));
    await apply(signal({ kind: 'OVERSOLD', subject: `${channelId}:big`, channelId, cause: 'BIG', units: 25 }));
    const delivery = await waitFor('a webhook delivery', async () => deliveries.find((d) => d.body.includes(channelId)) ?? null);
    const body = JSON.parse(delivery.body);
    expect(body).toMatchObject({ event: 'EXCEPTION_RAISED', data: { kind: 'OVERSOLD', severity: 'CRITICAL', cause: 'BIG', channelId } });
    expect(verifyWebhook(secret, delivery.body, delivery.signature)).toBe(true);
    expect(verifyWebhook('whsec_someone-else', delivery.body, delivery.signature)).toBe(false);
    // The HIGH one was not for this webhook.
    await new Promise((r) => setTimeout(r, 500));
    expect(deliveries.filter((d) => d.body.includes(channelId) && d.body.includes('"SMALL"'))).toEqual([]);
    const removed = await gql(stack.gatewayUrl, `mutation($id: ID!) { removeExceptionWebhook(id: $id) }`, { id: webhook.id }, as(keys.admin));
    expect(removed.data!.removeExceptionWebhook).toBe(true);
  });

  it('counts what is unresolved by kind and severity for Prometheus', async () => {
    const channelId = randomUUID();
    const before = await scrape(stack.subgraphs.exceptions.url);
    const count = (samples: typeof before) =>
      samples.find((x) => x.name === 'omnistock_exceptions_unresolved' && x.labels.kind === 'STUCK_ORDER' && x.labels.severity === 'HIGH')?.value ?? 0;
    await apply(signal({ kind: 'STUCK_ORDER', subject: randomUUID(), channelId, cause: uniqueCause() }), signal({ kind: 'STUCK_ORDER', subject: randomUUID(), channelId, cause: uniqueCause() }));
    expect(count(await scrape(stack.subgraphs.exceptions.url))).toBe(count(before) + 2);
  });

  it('takes a module\'s problem signal from its outbox through the relay and the feed into the inbox', async () => {
    const channelId = randomUUID();
    await stack.subgraphs.inventory.dataSource.transaction((tx) =>
      outboxStore.append(tx, [problemEvent(signal({ kind: 'MARKETPLACE_DRIFT', subject: `${channelId}:SKU-1`, channelId, cause: 'QUANTITY_MISMATCH', units: 7, measure: 7 }))]),
    );
    const [x] = await waitFor('the exception', async () => {
      const found = await byChannel(channelId);
      return found.length ? found : null;
    });
    expect(x).toMatchObject({ kind: 'MARKETPLACE_DRIFT', cause: 'QUANTITY_MISMATCH', unitsAtRisk: 7, state: 'OPEN' });
  });
});

describe('anomaly findings', () => {
  it('raises a finding of the ledger as an exception saying why, and a dismissal keeps the same pattern from firing again', async () => {
    const sku = `ANOM-${randomUUID().slice(0, 8)}`;
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const yesterday = dayNumber(new Date()) - 1;
    const rows: LedgerRow[] = [];
    for (let day = yesterday - 59; day <= yesterday; day++) {
      for (const locationId of [a, b, c]) {
        // Steady sales everywhere, a unit lost now and then; at a, 40 units gone yesterday.
        const shrink = locationId === a && day === yesterday ? 40 : day % 13 === 0 ? 1 : 0;
        rows.push({ sku, locationId, day, sold: 3 + (day % 3), shrink, corrections: 0, correctionUnits: 0, received: day % 7 === 0 ? 20 : 0, movements: 4, onHandEnd: 60 });
      }
    }
    await stack.subgraphs.exceptions.dataSource.transaction((tx) => ledgerStore.bulkInsert(tx, rows));
    const detect = () => gql(stack.gatewayUrl, `mutation { runAnomalyDetection { findings series ms } }`, {}, as(keys.admin));
    const run = await detect();
    expect(run.errors).toBeUndefined();
    expect(run.data!.runAnomalyDetection.series).toBeGreaterThanOrEqual(3);
    const LIST_SKU = `query($f: ExceptionFilterInput) { exceptions(filter: $f) { edges { node { id kind state severity explanation measure location { id } resolution } } } }`;
    const found = await gql(stack.gatewayUrl, LIST_SKU, { f: { sku } }, as(keys.reader));
    const nodes = found.data!.exceptions.edges.map((e: { node: Record<string, any> }) => e.node);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ kind: 'SHRINKAGE', state: 'OPEN', location: { id: a } });
    expect(nodes[0].explanation).toMatch(/40/);

    const dismissed = await gql(stack.gatewayUrl, `mutation($id: ID!) { markNotAnomaly(id: $id, note: "stock moved to the back room") { state resolution } }`, { id: nodes[0].id }, as(keys.ops));
    expect(dismissed.data!.markNotAnomaly).toEqual({ state: 'RESOLVED', resolution: 'NOT_AN_ANOMALY' });
    await detect();
    const after = await gql(stack.gatewayUrl, LIST_SKU, { f: { sku } }, as(keys.reader));
    expect(after.data!.exceptions.edges).toEqual([]);
  });
});
