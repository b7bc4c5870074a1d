import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemSignalSchema } from '../contracts/events.js';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { ExceptionService } from '../subgraphs/exceptions/services/exception.service.js';
import { uniq } from './client.js';
import { OrdersWorld, startOrdersStack, type OrdersStack } from './orders-fixture.js';
import { runScript } from './process.js';

/**
 * #18 `omnistock exceptions …`: the inbox from a terminal, through the gateway as GATEWAY_TOKEN's
 * client with AUTH_MODE=enforce, so each command is allowed exactly what its key's scopes allow,
 * and a suggested fix runs with them (never with the inbox's).
 */
let stack: OrdersStack;
let w: OrdersWorld;
let gatewayDb: DataSource;
let keys: ApiKeyService;
let inbox: ExceptionService;
let store: string;
let channel: { id: string; code: string };

/** Anonymous callers may set the world up, and read nothing of the inbox. */
const PUBLIC_SCOPES = 'availability:read inventory:read inventory:write channels:admin locations:admin';

async function apiKey(scopes: string[], clientId = `cli-test-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await keys.create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'exceptions-cli.test' })).key;
}

/** `npm run omnistock -- exceptions <args>` as the key's client. */
const cli = (key: string, ...args: string[]) => runScript('scripts/cli.ts', ['exceptions', ...args], { GATEWAY_URL: stack.gatewayUrl, GATEWAY_TOKEN: key }, 60_000);
const json = <T>(out: string): T => JSON.parse(out) as T;

beforeAll(async () => {
  stack = await startOrdersStack({ AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: PUBLIC_SCOPES });
  w = new OrdersWorld(stack);
  gatewayDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(gatewayDb);
  inbox = new ExceptionService(stack.subgraphs.exceptions.dataSource);
  store = await w.location();
  const id = await w.channel([store]);
  channel = { id, code: (await w.ok(`query($id: ID!) { channel(id: $id) { code } }`, { id })).channel.code };
  await w.replicated([store], [id]);
});

afterAll(async () => {
  await gatewayDb?.destroy();
  await stack?.close();
});

/** Problems of the test's channel, appended through the exceptions service as its feed would. */
async function seed(signals: Record<string, unknown>[]): Promise<Record<string, string>> {
  const source = `cli-test-${randomUUID().slice(0, 8)}`;
  const at = new Date().toISOString();
  await inbox.apply(signals.map((s, i) => ({ source, seq: i + 1, signal: problemSignalSchema.parse({ state: 'RAISED', channelId: channel.id, at, ...s }) })));
  const rows = (await inbox.list({ channelId: channel.id, states: ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] }, 100)).edges.map((e) => e.node);
  return Object.fromEntries(rows.map((x) => [x.kind, x.id]));
}

describe('omnistock exceptions', () => {
  let ids: Record<string, string>;
  let reader: string;
  let writer: string;
  const desk = `cli-desk-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    ids = await seed([
      {
        kind: 'DEAD_LETTER',
        subject: `${channel.id}:SKU-A`,
        cause: 'ITEM_NOT_LISTED',
        explanation: 'The marketplace refused the quantity of SKU-A 5 times: Item is not listed on this site',
        sku: 'SKU-A',
        units: 4,
        evidence: [{ type: 'DEAD_LETTER', id: randomUUID() }],
        action: { kind: 'REPLAY_DEAD_LETTERS', channelId: channel.id },
      },
      { kind: 'STUCK_ORDER', subject: randomUUID(), cause: 'INVENTORY_UNREACHABLE', explanation: 'Inventory did not answer the reservation for 12 minutes' },
      {
        kind: 'UNMAPPED_LISTING',
        subject: `${channel.id}:MKT-1`,
        cause: 'UNMAPPED',
        explanation: '2 orders for MKT-1, which no listing maps',
        action: { kind: 'MAP_LISTING', channelId: channel.id, marketplaceSku: 'MKT-1' },
      },
    ]);
    reader = await apiKey(['exceptions:read', 'availability:read']);
    writer = await apiKey(['exceptions:read', 'exceptions:write'], desk);
  });

  it('lists and counts with filters (a channel by its code), as text and JSON', async () => {
    const [all, deadLetters, byCode, text, counts] = await Promise.all([
      cli(reader, 'list', '--json'),
      cli(reader, 'list', '--kind', 'dead_letter', '--json'),
      cli(reader, 'list', '--channel', channel.code, '--severity', 'high', '--json'),
      cli(reader, 'list', '--channel', channel.id),
      cli(reader, 'counts', '--channel', channel.id, '--json'),
    ]);
    expect(all.code, all.stderr).toBe(0);
    const listed = json<{ id: string; kind: string; state: string }[]>(all.stdout);
    expect(listed.map((x) => x.id)).toEqual(expect.arrayContaining([ids.DEAD_LETTER, ids.STUCK_ORDER, ids.UNMAPPED_LISTING]));
    expect(json<{ kind: string }[]>(deadLetters.stdout).every((x) => x.kind === 'DEAD_LETTER')).toBe(true);
    // HIGH and above of the channel: the stuck order (HIGH), not the dead letter or the listing (MEDIUM).
    expect(byCode.code, byCode.stderr).toBe(0);
    expect(json<{ id: string }[]>(byCode.stdout).map((x) => x.id)).toEqual([ids.STUCK_ORDER]);
    expect(text.stdout).toMatch(/^ID +SEVERITY +STATE +KIND +AGE +OPEN +UNITS +VALUE +TEAM +CAUSE +TITLE\n/);
    expect(text.stdout).toMatch(new RegExp(`${ids.DEAD_LETTER} +MEDIUM +OPEN +DEAD_LETTER +\\d+[smhd] +1 +4 +- +- +ITEM_NOT_LISTED +Marketplace refuses stock updates for 1 SKU \\(ITEM_NOT_LISTED\\)`));
    expect(json(counts.stdout)).toMatchObject({
      total: 3,
      byKind: expect.arrayContaining([{ key: 'DEAD_LETTER', count: 1 }, { key: 'STUCK_ORDER', count: 1 }]),
      bySeverity: expect.arrayContaining([{ key: 'HIGH', count: 1 }, { key: 'MEDIUM', count: 2 }]),
    });
    const noSuch = await cli(reader, 'list', '--channel', 'NO-SUCH-CHANNEL');
    expect(noSuch).toMatchObject({ code: 1, stderr: '✖ no channel has the code NO-SUCH-CHANNEL\n' });
  });

  it('shows one: why, its fix, evidence and history', async () => {
    const [shown, missing] = await Promise.all([cli(reader, 'show', ids.DEAD_LETTER!), cli(reader, 'show', randomUUID())]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('Marketplace refuses stock updates for 1 SKU (ITEM_NOT_LISTED)');
    expect(shown.stdout).toContain('The marketplace refused the quantity of SKU-A 5 times: Item is not listed on this site');
    expect(shown.stdout).toContain(`Suggested fix: Replay the dead letters (REPLAY_DEAD_LETTERS), run it with \`omnistock exceptions act ${ids.DEAD_LETTER}\``);
    expect(shown.stdout).toMatch(/Evidence \(1\):\n +\S+ +DEAD_LETTER /);
    expect(shown.stdout).toMatch(/History:\n +\S+ +RAISED → OPEN MEDIUM/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^✖ NOT_FOUND/);
  });

  it('acknowledges, assigns and resolves with the key\'s client as the actor; a key without exceptions:write is refused', async () => {
    const [refused, ack] = await Promise.all([cli(reader, 'ack', ids.DEAD_LETTER!), cli(writer, 'ack', ids.DEAD_LETTER!, '--note', 'on it')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^✖ FORBIDDEN: Mutation\.acknowledgeException requires the scope exceptions:write/);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toBe(`✔ ${ids.DEAD_LETTER} acknowledged: ACKNOWLEDGED  Marketplace refuses stock updates for 1 SKU (ITEM_NOT_LISTED)\n`);
    const assigned = await cli(writer, 'assign', ids.DEAD_LETTER!, 'marketplace-ops', '--json');
    expect(json(assigned.stdout)).toMatchObject({ team: 'marketplace-ops', state: 'ACKNOWLEDGED', acknowledgedBy: desk, note: 'on it' });
    expect((await cli(reader, 'list', '--state', 'acknowledged', '--team', 'marketplace-ops', '--json')).stdout).toContain(ids.DEAD_LETTER);

    const resolved = await cli(writer, 'resolve', ids.STUCK_ORDER!, '--note', 'order placed by hand', '--json');
    expect(json(resolved.stdout)).toMatchObject({ state: 'RESOLVED', resolution: 'MANUAL', resolvedBy: desk, note: 'order placed by hand' });
    const again = await cli(writer, 'ack', ids.STUCK_ORDER!);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^✖ CONFLICT: /);
  });

  it('refuses a fix while a variable it needs is missing, sending nothing', async () => {
    const [missing, unknown, none] = await Promise.all([
      cli(writer, 'act', ids.UNMAPPED_LISTING!),
      cli(writer, 'act', ids.UNMAPPED_LISTING!, '--var', 'skew=SKU-A'),
      cli(writer, 'act', ids.STUCK_ORDER!),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('✖ "Map the listing to one of our SKUs" needs sku: nothing was run. Run again with --var sku=<value>\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('✖ --var skew: the action takes no such variable (it takes channelId, sku, marketplaceSku)\n');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('suggests no fix');
  });

  it("runs a real exception's fix with the caller's own scopes; the exception then resolves itself", async () => {
    // An ERP count 3 below ours, recorded without applying it: inventory raises RECONCILIATION_DRIFT.
    const sku = await w.item();
    await w.receive(sku, store, 10);
    const erp = `erp:${uniq('cli-').toLowerCase()}`;
    await w.ok(`mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) { id } }`, {
      input: { idempotencyKey: randomUUID(), source: erp, lines: [{ sku, locationId: store, onHand: 7 }] },
    });
    let id: string | undefined;
    await expect.poll(async () => (id = (await inbox.list({ kinds: ['RECONCILIATION_DRIFT'], cause: erp }, 5)).edges[0]?.node.id), { timeout: 30_000 }).toBeDefined();

    // The desk may move exceptions but not write stock: inventory refuses the fix, stock is untouched.
    const refused = await cli(writer, 'act', id!);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^✖ FORBIDDEN: Mutation\.applyReconciliation requires the scope inventory:write/);
    expect((await w.level(sku, store)).onHand).toBe(10);

    const stockKeeper = await apiKey(['exceptions:read', 'inventory:write']);
    const applied = await cli(stockKeeper, 'act', id!, '--json');
    expect(applied.code, applied.stderr).toBe(0);
    expect(json(applied.stdout)).toMatchObject({ exception: id, action: 'APPLY_RECONCILIATION', data: { applyReconciliation: { applied: true } } });
    expect((await w.level(sku, store)).onHand).toBe(7);
    await expect
      .poll(async () => json<{ state: string; resolution: string | null }>((await cli(reader, 'show', id!, '--json')).stdout), { timeout: 30_000, interval: 1000 })
      .toMatchObject({ state: 'RESOLVED', resolution: 'AUTO' });
  });

  it('says an anomaly finding was not one (other kinds are refused), and runs detection with exceptions:admin only', async () => {
    const source = `cli-test-${randomUUID().slice(0, 8)}`;
    const sku = uniq('SPIKE-');
    // Anomaly findings come from detection, not from the problem topic: appended as detection would.
    await inbox.apply([
      {
        source,
        seq: 1,
        signal: {
          kind: 'MOVEMENT_SPIKE',
          state: 'RAISED',
          subject: `${sku}:${store}`,
          cause: 'MOVEMENT_SPIKE',
          explanation: `Movements of ${sku} at the store were 9x the usual for a Monday`,
          sku,
          locationId: store,
          channelId: null,
          units: 90,
          value: null,
          measure: 9,
          evidence: [],
          action: null,
          at: new Date().toISOString(),
        },
      },
    ]);
    const spike = (await inbox.list({ kinds: ['MOVEMENT_SPIKE'], sku }, 5)).edges[0]!.node.id;
    const admin = await apiKey(['exceptions:admin']);
    const [refused, dismissed, notAdmin, detected] = await Promise.all([
      cli(writer, 'not-anomaly', ids.DEAD_LETTER!),
      cli(writer, 'not-anomaly', spike, '--note', 'stock take', '--json'),
      cli(writer, 'detect'),
      cli(admin, 'detect'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^✖ BAD_USER_INPUT: .*not an anomaly finding/);
    expect(dismissed.code, dismissed.stderr).toBe(0);
    expect(json(dismissed.stdout)).toMatchObject({ state: 'RESOLVED', resolution: 'NOT_AN_ANOMALY', note: 'stock take' });
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toMatch(/^✖ FORBIDDEN: Mutation\.runAnomalyDetection requires the scope exceptions:admin/);
    expect(detected.code, detected.stderr).toBe(0);
    expect(detected.stdout).toMatch(/^✔ \d+ finding\(s\) raised or standing over \d+ series, in \d+ ms\n$/);
  });
});
