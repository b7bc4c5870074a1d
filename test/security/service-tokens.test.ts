import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SERVICE_KEYS_PATH, SERVICE_TOKEN_HEADER } from '../../lib/service-token.js';
import { errorCode, gql, serviceToken } from '../client.js';
import { InventoryFixture } from '../inventory-fixture.js';
import { startStack, type Stack } from '../stack.js';
import { wsUrl } from '../subscriptions-helpers.js';

/**
 * #16 item 2: subgraphs trust only the gateway. Each attack goes straight to a subgraph, past the
 * gateway and its rules, as anyone on the subgraphs' network could: no token, a forged one, an
 * expired one, one for another subgraph, one without the scope, a header naming another actor, and
 * introspection asked by a service that is not the gateway. Nothing they send may be written.
 */
let stack: Stack;
let inv: InventoryFixture;
let ids: { loc: string; sku: string };

const RECORD = `mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`;
const MOVEMENTS = `query($sku: String!, $loc: ID!) { stockMovements(sku: $sku, locationId: $loc, first: 50) { edges { node { quantity actor } } } }`;

const movement = () => ({ i: { idempotencyKey: randomUUID(), sku: ids.sku, locationId: ids.loc, type: 'RECEIPT', quantity: 5, reference: 'attack' } });
const withToken = (token: string | null, extra: Record<string, string> = {}) => ({ [SERVICE_TOKEN_HEADER]: token ?? '', ...extra });

async function movementsRecorded(): Promise<{ quantity: number; actor: string | null }[]> {
  const res = await gql(stack.subgraphs.inventory.url, MOVEMENTS, { sku: ids.sku, loc: ids.loc });
  expect(res.errors).toBeUndefined();
  return res.data!.stockMovements.edges.map((e: { node: { quantity: number; actor: string | null } }) => e.node);
}

/** The same request, unsigned: what a caller on the subgraphs' network sends today. */
async function raw(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

beforeAll(async () => {
  // AUTH_MODE=enforce on the subgraphs: they check the token's scopes again.
  stack = await startStack({ env: { AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: 'availability:read' } });
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  ids = { loc: await inv.location(), sku: await inv.item() };
  await inv.receive(ids.sku, ids.loc, 10);
});

afterAll(async () => {
  await stack?.close();
});

describe('a subgraph answers only requests the gateway or a service signed', () => {
  it('refuses a request without a token, with 401 before anything runs', async () => {
    const before = await movementsRecorded();
    const res = await raw(stack.subgraphs.inventory.url, RECORD, movement(), { 'x-client-id': 'storefront' });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SERVICE_TOKEN_MISSING' });
    expect(res.body.data).toBeUndefined();
    expect(await movementsRecorded()).toEqual(before);
  });

  it('refuses a token signed with another key, an expired one and one made for another subgraph', async () => {
    const before = await movementsRecorded();
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const forged = await new SignJWT({ scp: ['inventory:write'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'test-run', typ: 'omnistock-service+jwt' })
      .setIssuer('gateway')
      .setAudience('inventory')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    // Its lifetime ended a minute ago, beyond the verifier's 5 s of clock tolerance.
    const expired = await serviceToken({ scopes: ['inventory:write'], expiresAt: Math.floor(Date.now() / 1000) - 60 });
    const forLocations = await serviceToken({ audience: 'locations', scopes: ['inventory:write'] });
    const unsigned = `${forLocations.split('.').slice(0, 2).join('.')}.`;
    // Algorithm confusion: HS256 "signed" with the public key everyone may read.
    const published = (await (await fetch(new URL(SERVICE_KEYS_PATH, stack.gatewayUrl))).json()) as { keys: { x: string }[] };
    const hs256 = await new SignJWT({ scp: ['inventory:write'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'omnistock-service+jwt' })
      .setIssuer('gateway')
      .setAudience('inventory')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(published.keys[0]!.x));
    for (const token of [forged, expired, forLocations, unsigned, hs256, 'garbage']) {
      const res = await raw(stack.subgraphs.inventory.url, RECORD, movement(), withToken(token));
      expect(res.status, token).toBe(401);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SERVICE_TOKEN_INVALID' });
    }
    expect(await movementsRecorded()).toEqual(before);
  });

  it('checks the scopes before a storefront answer kept as JSON is sent: a token without availability:read gets none', async () => {
    const channel = await inv.channel([ids.loc]);
    const query = `query($c: ID!, $skus: [String!]!) { availability(channelId: $c, skus: $skus) { sku availableToSell locations { available location { id } } } }`;
    const storefront = await serviceToken({ clientId: 'storefront', scopes: ['availability:read'] });
    // Twice: the second is answered from the entry's kept JSON (subgraphs/inventory/api/availability-answers.ts).
    for (let i = 0; i < 2; i++) {
      const allowed = await raw(stack.subgraphs.inventory.url, query, { c: channel, skus: [ids.sku] }, withToken(storefront));
      expect(allowed.body.errors).toBeUndefined();
      expect(allowed.body.data).toMatchObject({ availability: [{ sku: ids.sku }] });
    }
    const wms = await serviceToken({ clientId: 'wms-feed', scopes: ['inventory:write'] });
    const res = await raw(stack.subgraphs.inventory.url, query, { c: channel, skus: [ids.sku] }, withToken(wms));
    expect(res.status).toBe(403);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'Query.availability' });
    expect(res.body.data ?? null).toBeNull();
  });

  it('checks the scopes again from the token: a storefront token cannot write stock', async () => {
    const before = await movementsRecorded();
    const storefront = await serviceToken({ clientId: 'storefront', scopes: ['availability:read', 'orders:write'] });
    const res = await raw(stack.subgraphs.inventory.url, RECORD, movement(), withToken(storefront));
    expect(res.status).toBe(403);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'Mutation.recordMovement' });
    expect(await movementsRecorded()).toEqual(before);
  });

  it('records the actor the token names, never the x-client-id header', async () => {
    const token = await serviceToken({ clientId: 'wms-feed', scopes: ['inventory:write'] });
    const res = await raw(stack.subgraphs.inventory.url, RECORD, movement(), withToken(token, { 'x-client-id': 'someone-else' }));
    expect(res.body.errors).toBeUndefined();
    const recorded = await movementsRecorded();
    expect(recorded.filter((m) => m.actor === 'someone-else')).toEqual([]);
    expect(recorded.filter((m) => m.actor === 'wms-feed')).toHaveLength(1);
  });

  it('answers introspection to the gateway and the registry only', async () => {
    const asOrders = await serviceToken({ issuer: 'orders' });
    for (const query of ['{ __schema { queryType { name } } }', '{ _service { sdl } }', '{ __type(name: "Reservation") { name } }']) {
      const refused = await raw(stack.subgraphs.inventory.url, query, {}, withToken(asOrders));
      expect(refused.status, query).toBe(403);
      expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'INTROSPECTION_DISABLED' });
    }
    const asRegistry = await serviceToken({ issuer: 'registry' });
    expect((await raw(stack.subgraphs.inventory.url, '{ _service { sdl } }', {}, withToken(asRegistry))).body.errors).toBeUndefined();
  });

  it("refuses a subscription socket without the gateway's token, and a subscription without its caller's", async () => {
    const url = wsUrl(stack.subgraphs.inventory.url);
    const query = `subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sku } }`;
    const variables = { f: { skus: [ids.sku] } };
    const attempt = (connectionParams: Record<string, unknown>, extensions?: Record<string, unknown>) =>
      new Promise<{ closed?: number; errors?: unknown }>((resolve) => {
        const client = createClient({ url, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true, on: { closed: (e) => resolve({ closed: (e as { code: number }).code }) } });
        client.subscribe(
          { query, variables, ...(extensions ? { extensions } : {}) },
          {
            next: () => {},
            error: (errors) => {
              if (Array.isArray(errors)) resolve({ errors });
            },
            complete: () => {},
          },
        );
        setTimeout(() => void client.dispose(), 3000).unref();
      });
    expect((await attempt({ 'x-client-id': 'gateway' })).closed).toBe(4403);
    const gatewayToken = await serviceToken({ clientId: 'gateway', scopes: [] });
    const unsigned = await attempt({ [SERVICE_TOKEN_HEADER]: gatewayToken });
    expect(unsigned.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED', reason: 'SERVICE_TOKEN_MISSING' } }]);
    const noScope = await attempt({ [SERVICE_TOKEN_HEADER]: gatewayToken }, { [SERVICE_TOKEN_HEADER]: await serviceToken({ scopes: ['orders:read'] }) });
    expect(noScope.errors).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
  });

  it('a request the gateway forwards passes: it signs for its caller, and serves only the public keys', async () => {
    const res = await gql(stack.gatewayUrl, `query($s: String!) { inventoryItem(sku: $s) { sku } }`, { s: ids.sku }, { [SERVICE_TOKEN_HEADER]: 'ignored-by-the-gateway' });
    expect(errorCode(res)).toBeUndefined();
    expect(res.data!.inventoryItem).toEqual({ sku: ids.sku });
    const published = (await (await fetch(new URL(SERVICE_KEYS_PATH, stack.gatewayUrl))).json()) as { keys: Record<string, unknown>[] };
    expect(published.keys.length).toBeGreaterThan(0);
    for (const key of published.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(key).not.toHaveProperty('d');
    }
  });
});
