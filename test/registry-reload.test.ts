import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, uniq } from './client.js';
import { waitFor } from './events.js';
import { PUBLISH, registryClient, servedVersion, startRegistryStack, type RegistryStack } from './registry-helpers.js';

let reg: RegistryStack;
const skus = [uniq('RLD-A-'), uniq('RLD-B-')];

beforeAll(async () => {
  reg = await startRegistryStack();
  for (const sku of skus) {
    const res = await gql(reg.url, `mutation($input: CreateInventoryItemInput!) { createInventoryItem(input: $input) { sku } }`, { input: { sku, name: `Reload ${sku}` } });
    expect(res.errors).toBeUndefined();
  }
});

afterAll(async () => {
  await reg?.close();
});

interface Outcome {
  ok: boolean;
  version: number | null;
  detail?: string;
}

/**
 * Concurrent clients, each sending one query after another until told to stop (or a bound on the
 * count, so a broken gateway cannot keep the test running).
 */
function load(url: string, clients: number, maxPerClient: number) {
  const outcomes: Outcome[][] = Array.from({ length: clients }, () => []);
  let stop = false;
  const query = 'query Load($s: [String!]!) { inventoryItems(skus: $s) { sku name totals { onHand available } } }';
  const done = Promise.all(
    outcomes.map(async (mine) => {
      for (let i = 0; i < maxPerClient && !stop; i++) {
        try {
          const res = await gql(url, query, { s: skus }, { 'x-client-id': 'reload-load' });
          const ok = res.status === 200 && !res.errors && res.data?.inventoryItems?.length === skus.length;
          mine.push({ ok, version: servedVersion(res), ...(ok ? {} : { detail: JSON.stringify({ status: res.status, errors: res.errors }) }) });
        } catch (err) {
          mine.push({ ok: false, version: null, detail: (err as Error).message });
        }
      }
    }),
  );
  return {
    outcomes,
    count: () => outcomes.reduce((n, o) => n + o.length, 0),
    seen: (version: number) => outcomes.reduce((n, o) => n + o.filter((x) => x.version === version).length, 0),
    async finish() {
      stop = true;
      await done;
      return outcomes;
    },
  };
}

describe('hot reload', () => {
  it('serves a newly published supergraph while under load, failing no request', async () => {
    const admin = registryClient(reg.registryUrl, reg.adminToken);
    const running = load(reg.url, 8, 5000);
    await waitFor('load on version 1', async () => running.seen(1) >= 50);

    // Two publishes in a row, each a new description of a field the load queries.
    const sdl = (await admin('{ subgraph(name: "inventory") { currentSchema { sdl } } }')).data!.subgraph.currentSchema.sdl as string;
    const versions: number[] = [];
    for (const text of ['Display name (v2).', 'Display name (v3).']) {
      const next = sdl.replace('"Display name."\n  name: String!', `"${text}"\n  name: String!`);
      expect(next).not.toBe(sdl);
      const res = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl: next } });
      expect(res.errors).toBeUndefined();
      expect(res.data!.publish.__typename).toBe('Published');
      const version = res.data!.publish.supergraphVersion as number;
      versions.push(version);
      await waitFor(`load on version ${version}`, async () => running.seen(version) >= 50);
    }
    const outcomes = await running.finish();

    const all = outcomes.flat();
    const failed = all.filter((o) => !o.ok);
    expect(failed.slice(0, 3), `${failed.length} of ${all.length} requests failed`).toEqual([]);
    expect(new Set(all.map((o) => o.version))).toEqual(new Set([1, ...versions]));
    // Every client sees the versions in order: once a gateway serves a version it never goes back.
    for (const mine of outcomes) {
      const seen = mine.map((o) => o.version!);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    }
  });
});
