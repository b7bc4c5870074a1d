import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSupergraphConfig, type SubgraphSource } from '../contracts/composition.js';
import { OPERATOR, openRegistry, type Registry } from '../registry/index.js';
import { configWith, registryDatabaseName } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { dropKeys } from './events.js';

const cfg = configWith({ DB_PREFIX: `omnistock_reg_${randomUUID().slice(0, 8)}`, REDIS_KEY_PREFIX: `omnistock_test:reg${randomUUID().slice(0, 8)}` });
/** Two registries on one database: two gateways (or a gateway and a CLI) starting and publishing at once. */
let a: Registry;
let b: Registry;
let sources: SubgraphSource[];

beforeAll(async () => {
  a = await openRegistry(cfg, { deliverWebhooks: false });
  b = await openRegistry(cfg, { deliverWebhooks: false });
  sources = await readSupergraphConfig('supergraph.yaml');
});

afterAll(async () => {
  await a?.dataSource.query(`DROP DATABASE IF EXISTS \`${registryDatabaseName(cfg)}\``);
  await a?.close();
  await b?.close();
  const redis = createRedis(redisTarget(cfg));
  await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
  await redis.quit();
});

const partnerSdl = (name: string) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
"A stock-keeping unit; ${name} adds a field."
type InventoryItem @key(fields: "sku") {
  "The stock-keeping unit code: letters, digits, '.', '_' or '-', up to 64 characters."
  sku: String!
  "Added by ${name}."
  ${name}Note: String
}
`;

describe('registry races', () => {
  it('refuses publishing into a registry that was never seeded', async () => {
    await expect(a.service.publish(OPERATOR, { subgraph: 'early', sdl: partnerSdl('early'), routingUrl: 'http://127.0.0.1:9/graphql' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('seeds once when several processes start together', async () => {
    const results = await Promise.all([a.service.seed(sources), b.service.seed(sources), a.service.seed(sources), b.service.seed(sources)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await a.service.history.latestSupergraphVersion()).toBe(1);
    expect((await a.service.history.subgraphs()).map((s) => s.currentVersion)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('serialises concurrent publishes: every one lands in the final supergraph', async () => {
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const outcomes = await Promise.all(
      names.map((name, i) => (i % 2 ? a : b).service.publish(OPERATOR, { subgraph: name, sdl: partnerSdl(name), routingUrl: `http://127.0.0.1:9/${name}` })),
    );
    expect(outcomes.every((o) => o.published)).toBe(true);
    const versions = outcomes.map((o) => (o.published ? o.supergraphVersion : 0)).sort((x, y) => x - y);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7]);
    const latest = await a.service.history.supergraph();
    expect(latest!.id).toBe(7);
    expect(latest!.members.map((m) => m.subgraph).sort()).toEqual([...names, 'channels', 'exceptions', 'inventory', 'locations', 'marketplaces', 'orders'].sort());
    for (const name of names) expect(latest!.sdl).toContain(`${name}Note`);
  });

  it("publishes the schema files a developer changed (npm start's sync) through the checks", async () => {
    const edited = sources.map((s) =>
      s.name === 'locations' ? { ...s, sdl: s.sdl.replace('"Display name."\n  name: String!', '"Display name, as shown to shoppers."\n  name: String!') } : s,
    );
    expect(edited.find((s) => s.name === 'locations')!.sdl).not.toBe(sources.find((s) => s.name === 'locations')!.sdl);
    const outcomes = await a.service.syncFromSources(OPERATOR, edited);
    expect(Object.fromEntries(outcomes.map((o) => [o.subgraph, o.outcome]))).toEqual({
      inventory: 'unchanged',
      orders: 'unchanged',
      locations: 'published',
      channels: 'unchanged',
      marketplaces: 'unchanged',
      exceptions: 'unchanged',
    });
    expect((await a.service.history.subgraph('locations'))!.currentVersion).toBe(2);
  });
});
