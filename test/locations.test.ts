import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.js';
import { locationsSubgraph } from '../subgraphs/locations/index.js';
import { errorCode, gql, uniq } from './client.js';

let sg: RunningSubgraph;

const CREATE = `mutation($input: CreateLocationInput!) { createLocation(input: $input) { id code name type status address { city countryCode } capabilities { ships pickup } latitude longitude } }`;

function input(overrides: Record<string, unknown> = {}) {
  return {
    code: uniq('T-'),
    name: 'Test store',
    type: 'STORE',
    address: { line1: '1 High Street', city: uniq('City'), postalCode: 'AB1 2CD', countryCode: 'GB' },
    timezone: 'Europe/London',
    latitude: 51.5,
    longitude: -0.12,
    capabilities: { ships: false, pickup: true },
    ...overrides,
  };
}

async function countByCode(code: string): Promise<number> {
  const rows = await sg.dataSource.query('SELECT COUNT(*) AS n FROM locations WHERE code = ?', [code]);
  return Number(rows[0].n);
}

beforeAll(async () => {
  sg = await startSubgraph(locationsSubgraph, { port: 0 });
});
afterAll(async () => {
  await sg?.close();
});

describe('locations subgraph', () => {
  it('creates a location and reads it by id, by code and as an entity', async () => {
    const created = await gql(sg.url, CREATE, { input: input() });
    expect(created.errors).toBeUndefined();
    const loc = created.data!.createLocation;
    expect(loc).toMatchObject({ type: 'STORE', status: 'ACTIVE', capabilities: { ships: false, pickup: true } });

    const byId = await gql(sg.url, `query($id: ID!) { location(id: $id) { code } }`, { id: loc.id });
    expect(byId.data!.location.code).toBe(loc.code);
    const byCode = await gql(sg.url, `query($c: String!) { locationByCode(code: $c) { id } }`, { c: loc.code });
    expect(byCode.data!.locationByCode.id).toBe(loc.id);

    const entities = await gql(
      sg.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Location { id name address { city } } } }`,
      {
        r: [
          { __typename: 'Location', id: loc.id },
          { __typename: 'Location', id: '00000000-0000-4000-8000-000000000000' },
          { __typename: 'Location', id: 'not-a-uuid' },
        ],
      },
    );
    expect(entities.errors).toBeUndefined();
    expect(entities.data!._entities).toEqual([{ id: loc.id, name: 'Test store', address: { city: loc.address.city } }, null, null]);
  });

  it('pages through a filtered connection by code', async () => {
    const city = uniq('Paged');
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const res = await gql(sg.url, CREATE, { input: input({ code: `${city.toUpperCase()}-${i}`, address: { line1: 'x', city, postalCode: 'P', countryCode: 'GB' } }) });
      codes.push(res.data!.createLocation.code);
    }
    const q = `query($f: LocationFilter, $after: String) { locations(filter: $f, first: 2, after: $after) { edges { node { code } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await gql(sg.url, q, { f: { city }, after });
      seen.push(...res.data.locations.edges.map((e: any) => e.node.code));
      if (!res.data.locations.pageInfo.hasNextPage) break;
      after = res.data.locations.pageInfo.endCursor;
    }
    expect(seen).toEqual(codes.sort());
  });

  it('finds nearby locations ordered by distance', async () => {
    const city = uniq('Near');
    const far = await gql(sg.url, CREATE, { input: input({ latitude: 10.05, longitude: 20.05, address: { line1: 'x', city, postalCode: 'P', countryCode: 'GB' } }) });
    const near = await gql(sg.url, CREATE, { input: input({ latitude: 10.001, longitude: 20.001, address: { line1: 'x', city, postalCode: 'P', countryCode: 'GB' } }) });
    const res = await gql(
      sg.url,
      `{ nearbyLocations(latitude: 10, longitude: 20, radiusKm: 10, filter: { city: "${city}" }) { distanceKm location { id } } }`,
    );
    expect(res.errors).toBeUndefined();
    const list = res.data!.nearbyLocations;
    expect(list.map((n: any) => n.location.id)).toEqual([near.data!.createLocation.id, far.data!.createLocation.id]);
    expect(list[0].distanceKm).toBeCloseTo(0.156, 2);
    expect(list[1].distanceKm).toBeGreaterThan(7);
    expect(list[1].distanceKm).toBeLessThan(8);
  });

  it('updates only the fields given and refuses unknown ids', async () => {
    const loc = (await gql(sg.url, CREATE, { input: input() })).data!.createLocation;
    const res = await gql(sg.url, `mutation($id: ID!) { updateLocation(id: $id, input: { status: OFFLINE }) { status name } }`, { id: loc.id });
    expect(res.data!.updateLocation).toEqual({ status: 'OFFLINE', name: 'Test store' });
    const missing = await gql(sg.url, `mutation { updateLocation(id: "00000000-0000-4000-8000-000000000000", input: { name: "x" }) { id } }`);
    expect(errorCode(missing)).toBe('NOT_FOUND');
  });

  describe('bad input writes nothing', () => {
    it.each([
      ['a lower-case code', { code: 'bad code' }],
      ['an unknown time zone', { timezone: 'Mars/Olympus' }],
      ['a latitude out of range', { latitude: 91 }],
      ['a latitude without longitude', { longitude: null }],
      ['a bad country code', { address: { line1: 'x', city: 'y', postalCode: 'z', countryCode: 'gbr' } }],
    ])('refuses %s', async (_name, overrides) => {
      const body = input(overrides);
      const res = await gql(sg.url, CREATE, { input: body });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await countByCode(body.code as string)).toBe(0);
    });

    it('refuses a duplicate code with CONFLICT', async () => {
      const body = input();
      await gql(sg.url, CREATE, { input: body });
      const res = await gql(sg.url, CREATE, { input: { ...body, name: 'Other' } });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(await countByCode(body.code)).toBe(1);
    });

    it.each([
      ['a negative radius', '{ nearbyLocations(latitude: 0, longitude: 0, radiusKm: -1) { distanceKm } }'],
      ['a page size over 100', '{ locations(first: 101) { edges { cursor } } }'],
      ['a malformed id', '{ location(id: "42") { id } }'],
      ['a forged cursor', '{ locations(after: "bm9wZQ") { edges { cursor } } }'],
    ])('answers %s with BAD_USER_INPUT', async (_name, query) => {
      expect(errorCode(await gql(sg.url, query))).toBe('BAD_USER_INPUT');
    });

    it('answers an unknown id with null', async () => {
      const res = await gql(sg.url, '{ location(id: "00000000-0000-4000-8000-000000000000") { id } }');
      expect(res.errors).toBeUndefined();
      expect(res.data!.location).toBeNull();
    });

    it('answers a malformed query with HTTP 400 GRAPHQL_PARSE_FAILED', async () => {
      const res = await gql(sg.url, '{ locations(');
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe('GRAPHQL_PARSE_FAILED');
    });
  });
});
