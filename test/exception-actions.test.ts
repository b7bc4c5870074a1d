import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemEvent, type ProblemSignalInput } from '../contracts/events.js';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { ExceptionService } from '../subgraphs/exceptions/services/exception.service.js';
import { gql, uniq } from './client.js';
import { waitFor } from './events.js';
import { InventoryFixture } from './inventory-fixture.js';
import { startStack, type Stack } from './stack.js';

/**
 * Each suggested action run as a person runs it: the exception's own operation and variables, sent
 * through the gateway with that person's key, reaching the owning service's API, which does the fix
 * (and, where the owner reports the cause cleared, the exception resolves itself).
 */
let stack: Stack;
let gatewayDb: DataSource;
let inv: InventoryFixture;
let exceptions: ExceptionService;
const keys = { operator: '', desk: '' };
let seq = 1;

const as = (key: string) => ({ 'x-api-key': key });
const EXCEPTION = `query($id: ID!) { exception(id: $id) { id kind state resolution openSubjects unitsAtRisk action { kind operation variables missing } } }`;
const BY_KIND = `query($f: ExceptionFilterInput) { exceptions(filter: $f) { edges { node { id kind state cause action { kind operation variables missing } } } } }`;

async function raise(s: Omit<ProblemSignalInput, 'state' | 'explanation' | 'at'>): Promise<Record<string, any>> {
  await exceptions.apply([{ source: 'test', seq: seq++, signal: problemEvent({ ...s, state: 'RAISED', explanation: 'raised by the test', at: new Date().toISOString() }).payload as never }]);
  const res = await gql(stack.gatewayUrl, BY_KIND, { f: { kinds: [s.kind], cause: s.cause } }, as(keys.operator));
  return res.data!.exceptions.edges[0].node;
}

/** Runs an exception's action as the person with `key` would: its operation, its variables and what they add. */
async function act(x: Record<string, any>, key: string, extra: Record<string, unknown> = {}) {
  return gql(stack.gatewayUrl, x.action.operation, { ...JSON.parse(x.action.variables), ...extra }, as(key));
}

beforeAll(async () => {
  stack = await startStack({ jobs: true, env: { AUTH_MODE: 'enforce' } });
  gatewayDb = await openRegistryDatabase(stack.cfg);
  const apiKeys = new ApiKeyService(gatewayDb);
  const issue = async (name: string, scopes: string[]) =>
    (await apiKeys.create({ clientId: `${name}-${randomUUID().slice(0, 6)}`, scopes, expiresInMs: 3_600_000, createdBy: 'exception-actions.test' })).key;
  keys.operator = await issue('operator', ['exceptions:read', 'exceptions:write', 'inventory:read', 'inventory:write', 'orders:read', 'orders:write', 'channels:admin', 'availability:read']);
  keys.desk = await issue('desk', ['exceptions:read', 'exceptions:write']);
  inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  exceptions = new ExceptionService(stack.subgraphs.exceptions.dataSource);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
});

describe('suggested actions, each through the API it calls', () => {
  it('APPLY_RECONCILIATION: a count left unapplied is raised, applied from its exception, and the exception resolves itself', async () => {
    const loc = await inv.location();
    const sku = await inv.item();
    await inv.receive(sku, loc, 10);
    const source = uniq('wms:');
    const run = await gql(
      stack.gatewayUrl,
      `mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) { id driftCount } }`,
      { input: { idempotencyKey: randomUUID(), source, lines: [{ sku, locationId: loc, onHand: 7 }] } },
      as(keys.operator),
    );
    expect(run.data!.reconcileSnapshot.driftCount).toBe(1);
    const x = await waitFor('the drift exception', async () => {
      const res = await gql(stack.gatewayUrl, BY_KIND, { f: { kinds: ['RECONCILIATION_DRIFT'], cause: source } }, as(keys.desk));
      return res.data!.exceptions.edges[0]?.node ?? null;
    });
    expect(x.action).toMatchObject({ kind: 'APPLY_RECONCILIATION', missing: [] });
    // The desk may work the inbox but not move stock: inventory refuses it, and nothing changes.
    const refused = await act(x, keys.desk);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['inventory:write'] });
    expect(await inv.level(sku, loc)).toMatchObject({ on_hand: 10 });
    const applied = await act(x, keys.operator);
    expect(applied.errors).toBeUndefined();
    expect(applied.data!.applyReconciliation).toMatchObject({ id: run.data!.reconcileSnapshot.id, applied: true });
    expect(await inv.level(sku, loc)).toMatchObject({ on_hand: 7 });
    const resolved = await waitFor('auto-resolution', async () => {
      const res = await gql(stack.gatewayUrl, EXCEPTION, { id: x.id }, as(keys.desk));
      return res.data!.exception.state === 'RESOLVED' ? res.data!.exception : null;
    });
    expect(resolved).toMatchObject({ resolution: 'AUTO', openSubjects: 0, unitsAtRisk: 0 });
  });

  it('SET_BUFFER: sets the channel\'s buffer through channels, leaving the rest of its rule', async () => {
    const loc = randomUUID();
    const created = await gql(
      stack.gatewayUrl,
      `mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`,
      { input: { code: uniq('EX-'), name: 'Exceptions web', type: 'WEB_STOREFRONT', allocationRule: { sources: [{ locationId: loc, priority: 1 }], cap: 50 } } },
      as(keys.operator),
    );
    const channelId = created.data!.createChannel.id;
    const x = await raise({ kind: 'OVERSOLD', subject: `${channelId}:MO-${randomUUID()}`, channelId, cause: uniq('TOLD_LATE_'), units: 3, action: { kind: 'SET_BUFFER', channelId, units: 3 } });
    const ran = await act(x, keys.operator);
    expect(ran.errors).toBeUndefined();
    const rule = await gql(stack.gatewayUrl, `query($id: ID!) { channel(id: $id) { allocationRule { buffer { kind value } cap sources { location { id } } } } }`, { id: channelId }, as(keys.operator));
    expect(rule.data!.channel.allocationRule).toEqual({ buffer: { kind: 'UNITS', value: 3 }, cap: 50, sources: [{ location: { id: loc } }] });
  });

  it('CANCEL_ORDER and RETRY_ORDER: reach orders with the order of the exception; cancelling twice cancels once', async () => {
    const loc = await inv.location();
    const channelId = await inv.channel([loc]);
    const sku = await inv.item();
    await inv.receive(sku, loc, 5);
    const placed = await gql(
      stack.gatewayUrl,
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`,
      { input: { idempotencyKey: randomUUID(), channelId, lines: [{ sku, quantity: 2 }], fulfilment: { method: 'SHIP' } } },
      as(keys.operator),
    );
    const orderId = placed.data!.placeOrder.id;
    expect(placed.data!.placeOrder.status).toBe('CONFIRMED');

    const stuck = await raise({ kind: 'STUCK_ORDER', subject: orderId, channelId, cause: uniq('INVENTORY_UNREACHABLE_'), action: { kind: 'RETRY_ORDER', orderId } });
    const retried = await act(stuck, keys.operator);
    expect(retried.data!.retryOrder).toEqual({ id: orderId, status: 'CONFIRMED' });

    const oversold = await raise({ kind: 'OVERSOLD', subject: `${channelId}:${orderId}`, channelId, cause: uniq('NO_STOCK_'), units: 2, action: { kind: 'CANCEL_ORDER', orderId } });
    const first = await act(oversold, keys.operator);
    expect(first.errors).toBeUndefined();
    expect(first.data!.cancelOrder).toEqual({ id: orderId, status: 'CANCELLED' });
    const again = await act(oversold, keys.operator);
    expect(again.data!.cancelOrder).toEqual({ id: orderId, status: 'CANCELLED' });
    expect(await inv.level(sku, loc)).toMatchObject({ on_hand: 5, reserved: 0 });
  });
});
