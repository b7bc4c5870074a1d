import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../lib/config.js';
import { sqlStatements } from '../lib/db.js';
import { encodeCursor } from '../lib/pagination.js';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { DEMO_CHANNELS } from '../scripts/demo/estate.js';
import { channelsSubgraph } from '../subgraphs/channels/index.js';
import { seedChannels } from '../subgraphs/channels/data/seed.js';
import { errorCode, gql, uniq } from './client.js';

let sg: RunningSubgraph;

const FIELDS = `id code name type marketplace status priority
  allocationRule { sources { location { id } priority } buffer { kind value } cap allowSplitShipments protection }`;
const CREATE = `mutation($input: CreateChannelInput!) { createChannel(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateChannelInput!) { updateChannel(id: $id, input: $input) { ${FIELDS} } }`;
const SET_RULE = `mutation($id: ID!, $input: AllocationRuleInput!) { setAllocationRule(channelId: $id, input: $input) { ${FIELDS} } }`;
const BY_ID = `query($id: ID!) { channel(id: $id) { ${FIELDS} } }`;
const LOCATION_CHANNELS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Location { id channels { code } } } }`;
const ZERO_ID = '00000000-0000-4000-8000-000000000000';

type Source = { locationId: string; priority: number };

function input(overrides: Record<string, unknown> = {}) {
  return {
    code: uniq('CH-'),
    name: 'Test channel',
    type: 'WEB_STOREFRONT',
    allocationRule: { sources: [{ locationId: randomUUID(), priority: 1 }] },
    ...overrides,
  };
}

async function create(overrides: Record<string, unknown> = {}) {
  const res = await gql(sg.url, CREATE, { input: input(overrides) });
  expect(res.errors).toBeUndefined();
  return res.data!.createChannel;
}

/** The sources as the API answers them, for comparing with what was submitted. */
function expected(sources: Source[]) {
  return [...sources]
    .sort((a, b) => a.priority - b.priority || a.locationId.localeCompare(b.locationId))
    .map((s) => ({ location: { id: s.locationId }, priority: s.priority }));
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const rows = await sg.dataSource.query(sql, params);
  return Number(rows[0].n);
}
const channelsWithCode = (code: string) => count('SELECT COUNT(*) AS n FROM channels WHERE code = ?', [code]);
const sourcesOf = (channelId: string) => count('SELECT COUNT(*) AS n FROM channel_sources WHERE channel_id = ?', [channelId]);

beforeAll(async () => {
  // A pool wide enough for the race tests' writers to really overlap in MySQL, not queue for a connection.
  sg = await startSubgraph(channelsSubgraph, { port: 0, cfg: { ...config(), DB_POOL_SIZE: 40 } });
});
afterAll(async () => {
  await sg?.close();
});

describe('channels subgraph', () => {
  it('creates a channel and reads it by id, by code and as an entity', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const sources = [
      { locationId: a, priority: 10 },
      { locationId: b, priority: 1 },
      { locationId: c, priority: 10 },
    ];
    const ch = await create({ priority: 5, allocationRule: { sources } });
    expect(ch).toMatchObject({
      type: 'WEB_STOREFRONT',
      marketplace: null,
      status: 'ACTIVE',
      priority: 5,
      allocationRule: { sources: expected(sources), buffer: null, cap: null, allowSplitShipments: true },
    });

    const byId = await gql(sg.url, BY_ID, { id: ch.id });
    expect(byId.data!.channel).toEqual(ch);
    const byCode = await gql(sg.url, `query($c: String!) { channelByCode(code: $c) { id } }`, { c: ch.code });
    expect(byCode.data!.channelByCode.id).toBe(ch.id);

    const entities = await gql(sg.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Channel { id code } } }`, {
      r: [
        { __typename: 'Channel', id: ch.id },
        { __typename: 'Channel', id: ZERO_ID },
        { __typename: 'Channel', id: 'not-a-uuid' },
      ],
    });
    expect(entities.errors).toBeUndefined();
    expect(entities.data!._entities).toEqual([{ id: ch.id, code: ch.code }, null, null]);
  });

  it('creates a marketplace channel with a buffer, a cap and no split shipments', async () => {
    const ch = await create({
      type: 'MARKETPLACE',
      marketplace: 'EBAY',
      status: 'PAUSED',
      allocationRule: {
        sources: [{ locationId: randomUUID(), priority: 1 }],
        buffer: { kind: 'PERCENT', value: 15 },
        cap: 40,
        allowSplitShipments: false,
      },
    });
    expect(ch).toMatchObject({
      marketplace: 'EBAY',
      status: 'PAUSED',
      allocationRule: { buffer: { kind: 'PERCENT', value: 15 }, cap: 40, allowSplitShipments: false },
    });
  });

  it('updates only the fields given and refuses unknown or malformed ids', async () => {
    const ch = await create({ priority: 3 });
    const res = await gql(sg.url, UPDATE, { id: ch.id, input: { status: 'PAUSED' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateChannel).toEqual({ ...ch, status: 'PAUSED' });
    const renamed = await gql(sg.url, UPDATE, { id: ch.id, input: { name: 'Renamed', priority: -7 } });
    expect(renamed.data!.updateChannel).toMatchObject({ name: 'Renamed', priority: -7, status: 'PAUSED' });

    expect(errorCode(await gql(sg.url, UPDATE, { id: ZERO_ID, input: { name: 'x' } }))).toBe('NOT_FOUND');
    expect(errorCode(await gql(sg.url, UPDATE, { id: '42', input: { name: 'x' } }))).toBe('BAD_USER_INPUT');
  });

  it('replaces the allocation rule as a whole', async () => {
    const ch = await create({ allocationRule: { sources: [{ locationId: randomUUID(), priority: 1 }], cap: 9 } });
    const sources = [
      { locationId: randomUUID(), priority: 2 },
      { locationId: randomUUID(), priority: 1 },
    ];
    expect(ch.allocationRule.protection).toBe('OFF');
    const rule = { sources, buffer: { kind: 'UNITS', value: 3 }, allowSplitShipments: false, protection: 'PROTECTIVE' };
    const res = await gql(sg.url, SET_RULE, { id: ch.id, input: rule });
    expect(res.errors).toBeUndefined();
    const want = { sources: expected(sources), buffer: { kind: 'UNITS', value: 3 }, cap: null, allowSplitShipments: false, protection: 'PROTECTIVE' };
    expect(res.data!.setAllocationRule.allocationRule).toEqual(want);
    expect((await gql(sg.url, BY_ID, { id: ch.id })).data!.channel.allocationRule).toEqual(want);
    expect(await sourcesOf(ch.id)).toBe(2);

    expect(errorCode(await gql(sg.url, SET_RULE, { id: ZERO_ID, input: rule }))).toBe('NOT_FOUND');
    expect(errorCode(await gql(sg.url, SET_RULE, { id: 'nope', input: rule }))).toBe('BAD_USER_INPUT');
  });

  it('lists the ACTIVE channels of several locations in one _entities call, by priority then code', async () => {
    const [l1, l2, l3] = [randomUUID(), randomUUID(), randomUUID()];
    const src = (...ids: string[]) => ({ sources: ids.map((locationId) => ({ locationId, priority: 1 })) });
    const prefix = uniq('LC');
    const low = await create({ code: `${prefix}-LOW`, priority: -5, allocationRule: src(l1, l2) });
    const highB = await create({ code: `${prefix}-HIGH-B`, priority: 50, allocationRule: src(l1) });
    const highA = await create({ code: `${prefix}-HIGH-A`, priority: 50, allocationRule: src(l1, l2) });
    await create({ code: `${prefix}-PAUSED`, priority: 99, status: 'PAUSED', allocationRule: src(l1) });
    await create({ code: `${prefix}-ARCHIVED`, priority: 99, status: 'ARCHIVED', allocationRule: src(l2) });

    const res = await gql(sg.url, LOCATION_CHANNELS, {
      r: [l1, l2, l3, 'not-a-uuid'].map((id) => ({ __typename: 'Location', id })),
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([
      { id: l1, channels: [{ code: highA.code }, { code: highB.code }, { code: low.code }] },
      { id: l2, channels: [{ code: highA.code }, { code: low.code }] },
      { id: l3, channels: [] },
      null,
    ]);
  });

  it('lets a later mutation of the same operation see the writes of an earlier one', async () => {
    const location = randomUUID();
    const [a, b] = [uniq('SEQ-A'), uniq('SEQ-B')];
    const fields = `allocationRule { sources { location { channels { code } } } }`;
    const res = await gql(
      sg.url,
      `mutation($a: CreateChannelInput!, $b: CreateChannelInput!) { a: createChannel(input: $a) { ${fields} } b: createChannel(input: $b) { ${fields} } }`,
      {
        a: input({ code: a, priority: 2, allocationRule: { sources: [{ locationId: location, priority: 1 }] } }),
        b: input({ code: b, priority: 1, allocationRule: { sources: [{ locationId: location, priority: 1 }] } }),
      },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.a.allocationRule.sources[0].location.channels).toEqual([{ code: a }]);
    expect(res.data!.b.allocationRule.sources[0].location.channels).toEqual([{ code: a }, { code: b }]);
  });

  it('pages through a filtered connection by code', async () => {
    const prefix = uniq('PG');
    const statuses = ['ACTIVE', 'PAUSED', 'PAUSED', 'ACTIVE', 'PAUSED', 'PAUSED', 'PAUSED'];
    for (const [i, status] of statuses.entries()) await create({ code: `${prefix}-${i}`, status });
    const q = `query($after: String) { channels(filter: { statuses: [PAUSED] }, first: 2, after: $after) {
      edges { node { code status } } pageInfo { hasNextPage endCursor } } }`;
    // Start right before this test's codes: other files create channels concurrently.
    let after: string | null = encodeCursor([prefix]);
    const seen: string[] = [];
    for (;;) {
      const res: any = await gql(sg.url, q, { after });
      expect(res.errors).toBeUndefined();
      const codes: string[] = res.data.channels.edges.map((e: any) => e.node.code);
      seen.push(...codes.filter((c) => c.startsWith(`${prefix}-`)));
      if (!codes.every((c) => c.startsWith(`${prefix}-`)) || !res.data.channels.pageInfo.hasNextPage) break;
      after = res.data.channels.pageInfo.endCursor;
    }
    expect(seen).toEqual([1, 2, 4, 5, 6].map((i) => `${prefix}-${i}`));
  });

  it('runs one query for the channels of 5 or of 50 locations', async () => {
    const locations = Array.from({ length: 50 }, () => randomUUID());
    const sources = locations.map((locationId, i) => ({ locationId, priority: i + 1 }));
    await create({ allocationRule: { sources } });
    await create({ allocationRule: { sources: sources.slice(0, 10) } });
    const statementsFor = async (ids: string[]) => {
      const before = sqlStatements.count;
      const res = await gql(sg.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Location { channels { id } } } }`, {
        r: ids.map((id) => ({ __typename: 'Location', id })),
      });
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toHaveLength(ids.length);
      return sqlStatements.count - before;
    };
    const five = await statementsFor(locations.slice(0, 5));
    const fifty = await statementsFor(locations);
    expect(fifty).toBe(five);
    expect(five).toBe(1);
  });

  it('leaves exactly one of 20 concurrently submitted rules, never a mix', async () => {
    const ch = await create();
    const rules = Array.from({ length: 20 }, (_, i) => ({
      sources: Array.from({ length: 1 + (i % 7) }, (_, j) => ({ locationId: randomUUID(), priority: j + 1 })),
      buffer: { kind: 'UNITS', value: i },
      cap: 1000 + i,
      allowSplitShipments: i % 2 === 0,
    }));
    const results = await Promise.all(rules.map((rule) => gql(sg.url, SET_RULE, { id: ch.id, input: rule })));
    results.forEach((res, i) => {
      expect(res.errors).toBeUndefined();
      expect(res.data!.setAllocationRule.allocationRule.sources).toEqual(expected(rules[i]!.sources));
    });

    const stored = await sg.dataSource.query(
      'SELECT location_id AS locationId, priority FROM channel_sources WHERE channel_id = ?',
      [ch.id],
    );
    const [row] = await sg.dataSource.query('SELECT buffer_value AS v, cap FROM channels WHERE id = ?', [ch.id]);
    const winner = rules[Number(row.v)]!;
    expect(Number(row.cap)).toBe(winner.cap);
    expect(expected(stored)).toEqual(expected(winner.sources));
  });

  it('lets rule writers of neighbouring channels run concurrently without deadlocks', async () => {
    const rule = () => ({ sources: Array.from({ length: 5 }, () => ({ locationId: randomUUID(), priority: 1 })) });
    const channels = await Promise.all(Array.from({ length: 20 }, () => create({ allocationRule: rule() })));
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(
        channels.flatMap((ch) => [1, 2].map(() => gql(sg.url, SET_RULE, { id: ch.id, input: rule() }))),
      );
      expect(results.filter((r) => r.errors)).toEqual([]);
    }
  });

  it('seeds the demo channels with their sources, once', async () => {
    await seedChannels(sg.dataSource, DEMO_CHANNELS);
    expect(await seedChannels(sg.dataSource, DEMO_CHANNELS)).toBe(0);
    const amazon = DEMO_CHANNELS.find((c) => c.code === 'AMAZON-UK')!;
    const res = await gql(sg.url, BY_ID, { id: amazon.id });
    expect(res.data!.channel).toMatchObject({
      code: 'AMAZON-UK',
      type: 'MARKETPLACE',
      marketplace: 'AMAZON',
      allocationRule: { sources: expected(amazon.sources), buffer: amazon.buffer, cap: amazon.cap, allowSplitShipments: false },
    });
    for (const c of DEMO_CHANNELS) expect(await sourcesOf(c.id)).toBe(c.sources.length);
  });

  it('sets units aside per SKU, lists them by SKU, lifts them with 0, and emits each change as an event in its transaction', async () => {
    const ch = await create();
    const SET = `mutation($c: ID!, $s: String!, $u: Int!) { setChannelSetAside(channelId: $c, sku: $s, units: $u) { sku units updatedAt } }`;
    const LIST = `query($id: ID!, $after: String) { channel(id: $id) { setAsides(first: 2, after: $after) { edges { node { sku units } } pageInfo { hasNextPage endCursor } } } }`;
    for (const [sku, units] of [['SA-B', 4], ['SA-A', 2], ['SA-C', 7]] as const) {
      const res = await gql(sg.url, SET, { c: ch.id, s: sku, u: units });
      expect(res.errors).toBeUndefined();
      expect(res.data!.setChannelSetAside).toMatchObject({ sku, units });
    }
    await gql(sg.url, SET, { c: ch.id, s: 'SA-B', u: 0 });
    const first = (await gql(sg.url, LIST, { id: ch.id })).data!.channel.setAsides;
    expect(first.edges.map((e: any) => e.node)).toEqual([{ sku: 'SA-A', units: 2 }, { sku: 'SA-C', units: 7 }]);
    expect(first.pageInfo.hasNextPage).toBe(false);
    const events: { payload: string }[] = await sg.dataSource.query("SELECT payload FROM outbox_events WHERE topic = 'set-aside' AND event_key = ? ORDER BY seq", [ch.id]);
    expect(events.map((e) => JSON.parse(e.payload))).toEqual([
      { channelId: ch.id, sku: 'SA-B', units: 4, version: 1 },
      { channelId: ch.id, sku: 'SA-A', units: 2, version: 1 },
      { channelId: ch.id, sku: 'SA-C', units: 7, version: 1 },
      { channelId: ch.id, sku: 'SA-B', units: 0, version: 2 },
    ]);
  });

  it('refuses a set-aside with bad input or for an unknown channel, writing nothing', async () => {
    const ch = await create();
    const SET = `mutation($c: ID!, $s: String!, $u: Int!) { setChannelSetAside(channelId: $c, sku: $s, units: $u) { units } }`;
    expect(errorCode(await gql(sg.url, SET, { c: ch.id, s: 'SA-X', u: -1 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(sg.url, SET, { c: ch.id, s: 'not a sku', u: 1 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(sg.url, SET, { c: ch.id, s: 'SA-X', u: 1_000_000_001 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(sg.url, SET, { c: ZERO_ID, s: 'SA-X', u: 1 }))).toBe('NOT_FOUND');
    expect(await count('SELECT COUNT(*) AS n FROM channel_set_asides WHERE channel_id IN (?, ?)', [ch.id, ZERO_ID])).toBe(0);
  });

  describe('bad input writes nothing', () => {
    const rule = (overrides: Record<string, unknown>) => ({ sources: [{ locationId: randomUUID(), priority: 1 }], ...overrides });
    const dup = randomUUID();
    const badRules: [string, Record<string, unknown>][] = [
      ['no sources', { sources: [] }],
      ['501 sources', { sources: Array.from({ length: 501 }, () => ({ locationId: randomUUID(), priority: 1 })) }],
      ['a repeated location', { sources: [{ locationId: dup, priority: 1 }, { locationId: dup, priority: 2 }] }],
      ['a repeated location in another case', { sources: [{ locationId: dup, priority: 1 }, { locationId: dup.toUpperCase(), priority: 2 }] }],
      ['a malformed location id', { sources: [{ locationId: 'warehouse-1', priority: 1 }] }],
      ['a source priority of 0', { sources: [{ locationId: randomUUID(), priority: 0 }] }],
      ['a source priority of 1001', { sources: [{ locationId: randomUUID(), priority: 1001 }] }],
      ['a negative unit buffer', { buffer: { kind: 'UNITS', value: -1 } }],
      ['a unit buffer over 1,000,000,000', { buffer: { kind: 'UNITS', value: 1_000_000_001 } }],
      ['a percent buffer over 100', { buffer: { kind: 'PERCENT', value: 101 } }],
      ['a negative cap', { cap: -1 }],
      ['a cap over 1,000,000,000', { cap: 1_000_000_001 }],
    ];

    it.each<[string, Record<string, unknown>]>([
      ['a lower-case code', { code: uniq('web-').toLowerCase() }],
      ['an empty name', { name: '  ' }],
      ['a name over 200 characters', { name: 'x'.repeat(201) }],
      ['a marketplace type without marketplace', { type: 'MARKETPLACE' }],
      ['a marketplace for a storefront', { marketplace: 'AMAZON' }],
      ['a priority over 1000', { priority: 1001 }],
      ['a priority under -1000', { priority: -1001 }],
      ['a protective marketplace channel (its connection protects it)', { type: 'MARKETPLACE', marketplace: 'EBAY', allocationRule: rule({ protection: 'PROTECTIVE' }) }],
      ...badRules.map(([name, o]): [string, Record<string, unknown>] => [`a rule with ${name}`, { allocationRule: rule(o) }]),
    ])('createChannel refuses %s', async (_name, overrides) => {
      const body = input({ code: uniq('BAD-'), ...overrides });
      const res = await gql(sg.url, CREATE, { input: body });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await channelsWithCode(body.code as string)).toBe(0);
    });

    it.each(badRules)('setAllocationRule refuses %s', async (_name, overrides) => {
      const ch = await create();
      const res = await gql(sg.url, SET_RULE, { id: ch.id, input: rule(overrides) });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect((await gql(sg.url, BY_ID, { id: ch.id })).data!.channel).toEqual(ch);
    });

    it('setAllocationRule refuses protection on a marketplace channel: its connection protects it, with the push lag', async () => {
      const ch = await create({ type: 'MARKETPLACE', marketplace: 'AMAZON' });
      const res = await gql(sg.url, SET_RULE, { id: ch.id, input: rule({ protection: 'PROTECTIVE' }) });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message).toMatch(/marketplace connection/);
      expect((await gql(sg.url, BY_ID, { id: ch.id })).data!.channel).toEqual(ch);
    });

    it.each<[string, Record<string, unknown>]>([
      ['an empty name', { name: '' }],
      ['a priority over 1000', { priority: 5000 }],
    ])('updateChannel refuses %s', async (_name, change) => {
      const ch = await create();
      expect(errorCode(await gql(sg.url, UPDATE, { id: ch.id, input: change }))).toBe('BAD_USER_INPUT');
      expect((await gql(sg.url, BY_ID, { id: ch.id })).data!.channel).toEqual(ch);
    });

    it('refuses a duplicate code with CONFLICT', async () => {
      const body = input();
      await gql(sg.url, CREATE, { input: body });
      const res = await gql(sg.url, CREATE, { input: { ...body, name: 'Other' } });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(await channelsWithCode(body.code)).toBe(1);
    });

    it.each([
      ['a page size over 100', '{ channels(first: 101) { edges { cursor } } }'],
      ['a page size of 0', '{ channels(first: 0) { edges { cursor } } }'],
      ['a malformed id', '{ channel(id: "42") { id } }'],
      ['a forged cursor', '{ channels(after: "bm9wZQ") { edges { cursor } } }'],
    ])('answers %s with BAD_USER_INPUT', async (_name, query) => {
      expect(errorCode(await gql(sg.url, query))).toBe('BAD_USER_INPUT');
    });

    it('answers an unknown id or code with null', async () => {
      const res = await gql(sg.url, `{ channel(id: "${ZERO_ID}") { id } channelByCode(code: "${uniq('NONE-')}") { id } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ channel: null, channelByCode: null });
    });
  });
});
