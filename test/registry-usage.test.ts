import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, uniq } from './client.js';
import { waitFor } from './events.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';
import { CHECK, registryClient, startRegistryStack, type RegistryStack } from './registry-helpers.js';
import { usageStore } from '../registry/data/usage.store.js';

let reg: RegistryStack;
let admin: ReturnType<typeof registryClient>;

beforeAll(async () => {
  reg = await startRegistryStack();
  admin = registryClient(reg.registryUrl, reg.adminToken);
});

afterAll(async () => {
  await reg?.close();
});

async function currentSdl(subgraph: string): Promise<string> {
  const res = await admin(`query($s: String!) { subgraph(name: $s) { currentSchema { sdl } } }`, { s: subgraph });
  return res.data!.subgraph.currentSchema.sdl;
}

function edit(sdl: string, from: string, to: string): string {
  expect(sdl).toContain(from);
  return sdl.replace(from, to);
}

/** Runs `query` through the gateway as `clientId` (errors past validation do not matter: usage is recorded once it validates). */
async function use(clientId: string, query: string): Promise<void> {
  await gql(reg.url, query, {}, { 'x-client-id': clientId });
}

type Change = { type: string; coordinate: string; criticality: string; usage: { clientId: string }[] };
const clientsOf = (changes: Change[], type: string, coordinate: string) => {
  const change = changes.find((c) => c.type === type && c.coordinate === coordinate);
  expect(change, `${type} ${coordinate}`).toBeDefined();
  return change!.usage.map((u) => u.clientId);
};

describe('registry checks judge each change against the operations it reaches', () => {
  it('names the clients every usage-dependent change type breaks, and only them', async () => {
    const c = Object.fromEntries(
      ['describes', 'damaged', 'pages', 'skus', 'omits', 'totals', 'status', 'plain'].map((k) => [k, uniq(`${k}-`).toLowerCase()]),
    );
    await use(c.describes!, 'query Describe { inventoryItems(skus: ["NOPE"]) { description } }');
    await use(c.damaged!, 'query Damaged { inventoryItems(skus: ["NOPE"]) { totals { damaged } } }');
    await use(c.pages!, 'query Page { location(id: "x") { stockLevels(after: "c") { pageInfo { hasNextPage } } } }');
    await use(c.skus!, 'query Skus { location(id: "x") { stockLevels(skus: ["A"]) { pageInfo { hasNextPage } } } }');
    await use(c.omits!, 'query Levels { inventoryItems(skus: ["NOPE"]) { stockLevels { available } } }');
    await use(c.totals!, 'query Totals { inventoryItems(skus: ["NOPE"]) { totals { onHand } } }');
    await use(c.status!, 'query Status { inventoryItems(skus: ["NOPE"]) { status } }');
    // Selects every field the changes touch but none of what breaks.
    await use(c.plain!, 'query Plain { inventoryItems(skus: ["NOPE"]) { sku stockLevels(locationIds: ["x"]) { onHand } } location(id: "x") { stockLevels { pageInfo { hasNextPage } } } }');
    await reg.gateway.usage.flush();

    let sdl = await currentSdl('inventory');
    sdl = edit(sdl, '  "Longer description, when there is one."\n  description: String\n', '');
    sdl = edit(sdl, '"Held but damaged; never sellable."\n  damaged: Int!\n  "Held but in quality control; never sellable."\n  qualityControl: Int!\n}\n\n"A sales channel', '"Held but damaged; never sellable."\n  damaged: Float!\n  "Held but in quality control; never sellable."\n  qualityControl: Int!\n}\n\n"A sales channel');
    sdl = edit(sdl, '    "The `endCursor` of the previous page."\n    after: String\n', '');
    sdl = edit(sdl, '    skus: [String!]\n    "Page size', '    skus: [Int!]\n    "Page size');
    sdl = edit(sdl, 'locationIds: [ID!]\n', 'locationIds: [ID!]!\n');
    sdl = edit(sdl, '  totals: StockTotals!', '  totals("As of." asOf: DateTime!): StockTotals!');
    sdl = edit(sdl, '  ACTIVE\n  DISCONTINUED\n', '  ACTIVE\n');
    const res = await admin(CHECK, { input: { subgraph: 'inventory', sdl } });
    expect(res.errors).toBeUndefined();
    const changes: Change[] = res.data!.check.changes;
    expect(changes.filter((ch) => ch.criticality === 'BREAKING').length).toBe(7);

    expect(clientsOf(changes, 'FIELD_REMOVED', 'InventoryItem.description')).toEqual([c.describes]);
    expect(clientsOf(changes, 'FIELD_TYPE_CHANGED', 'StockTotals.damaged')).toEqual([c.damaged]);
    expect(clientsOf(changes, 'FIELD_ARGUMENT_REMOVED', 'Location.stockLevels.after')).toEqual([c.pages]);
    expect(clientsOf(changes, 'FIELD_ARGUMENT_TYPE_CHANGED', 'Location.stockLevels.skus')).toEqual([c.skus]);
    // Made required: those that leave it out break (and those that pass it are counted too: a nullable variable would no longer validate).
    expect(clientsOf(changes, 'FIELD_ARGUMENT_TYPE_CHANGED', 'InventoryItem.stockLevels.locationIds').sort()).toEqual([c.omits, c.plain].sort());
    // A new required argument breaks every use of the field.
    expect(clientsOf(changes, 'FIELD_ARGUMENT_ADDED', 'InventoryItem.totals.asOf').sort()).toEqual([c.damaged, c.totals].sort());
    // What a document cannot show precisely (the enum values a field returns) falls back to any use of the type.
    expect(clientsOf(changes, 'ENUM_VALUE_REMOVED', 'ItemStatus.DISCONTINUED')).toEqual([c.status]);
    expect(res.data!.check.ok).toBe(false);
    expect(res.data!.check.text).toContain(c.omits);
  });

  it('counts what a graphql-ws subscription selects: making an argument it leaves out required is BREAKING for its client', async () => {
    const clienteling = uniq('clienteling-').toLowerCase();
    const other = uniq('http-only-').toLowerCase();
    await use(other, 'query Other { inventoryItems(skus: ["NOPE"]) { sku } }');
    const ws = wsClient(wsUrl(reg.url), { 'x-client-id': clienteling });
    const watching = collect(ws, 'subscription Watch { stockChanged(filter: { skus: ["NOPE"] }) { sku available } }');
    try {
      let sdl = await currentSdl('inventory');
      sdl = edit(sdl, '    "Resume after this `sequence`."\n    since: String\n', '    "Resume after this `sequence`."\n    since: String!\n');
      // Recorded once the subscription has started, and flushed to the registry.
      let change: Change | undefined;
      await waitFor('the subscription counted by the check', async () => {
        await reg.gateway.usage.flush();
        const res = await admin(CHECK, { input: { subgraph: 'inventory', sdl } });
        change = (res.data!.check.changes as Change[]).find((c) => c.coordinate === 'Subscription.stockChanged.since');
        return !!change?.usage.some((u) => u.clientId === clienteling);
      });
      expect(watching.errors).toEqual([]);
      expect(change!.criticality).toBe('BREAKING');
      expect(change!.usage.map((u) => u.clientId)).toEqual([clienteling]);
    } finally {
      watching.stop();
      await ws.dispose();
    }
  });

  it('counts usage recorded before omitted arguments were as leaving every argument out, until the operation is recorded again', async () => {
    const ds = reg.gateway.registry.dataSource;
    const legacy = uniq('legacy-').toLowerCase();
    const rerecorded = uniq('rerecorded-').toLowerCase();
    const today = new Date().toISOString().slice(0, 10);
    const hashOf = (n: number) => String(n).repeat(64);
    // As a gateway before the migration wrote them: the field, the argument if passed, no omissions.
    for (const [client, hash, coordinates] of [
      [legacy, hashOf(1), ['InventoryItem', 'InventoryItem.stockLevels']],
      [rerecorded, hashOf(2), ['InventoryItem', 'InventoryItem.stockLevels']],
    ] as const) {
      for (const coordinate of coordinates) {
        await ds.query(
          `INSERT INTO usage_records (coordinate, day, client_id, operation_hash, operation_name, count, last_seen) VALUES (?, DATE_SUB(?, INTERVAL 1 DAY), ?, ?, 'Old', 1, NOW(3))`,
          [coordinate, today, client, hash],
        );
      }
    }
    // rerecorded's operation ran again since, its omissions recorded: it passes the argument.
    await reg.gateway.registry.service.recordUsage(
      ['InventoryItem.stockLevels', 'InventoryItem.stockLevels.locationIds'].map((coordinate) => ({
        coordinate, day: today, clientId: rerecorded, operationHash: hashOf(2), operationName: 'Old', count: 1, lastSeen: new Date(),
      })),
    );
    const unsure = await usageStore.usageWithoutOmissions(ds.manager, ['InventoryItem.stockLevels'], '2000-01-01');
    expect(unsure.map((u) => u.clientId)).toContain(legacy);
    expect(unsure.map((u) => u.clientId)).not.toContain(rerecorded);

    const sdl = edit(await currentSdl('inventory'), 'locationIds: [ID!]\n', 'locationIds: [ID!]!\n');
    const res = await admin(CHECK, { input: { subgraph: 'inventory', sdl } });
    expect(res.errors).toBeUndefined();
    expect(clientsOf(res.data!.check.changes, 'FIELD_ARGUMENT_TYPE_CHANGED', 'InventoryItem.stockLevels.locationIds')).toContain(legacy);
  });
});
