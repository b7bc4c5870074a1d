import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { startGateway } from '../gateway/gateway.js';
import { limitSettings, RateLimiter, type LimitSettings } from '../gateway/limits/limits.js';
import { pino } from 'pino';
import { logger } from '../lib/logger.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { errorCode, gql } from './client.js';
import { dropKeys } from './events.js';
import { AVAILABILITY, InventoryFixture } from './inventory-fixture.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { startStack, type Stack } from './stack.js';
import { collect, wsClient, wsUrl } from './subscriptions-helpers.js';

const PER_MINUTE = 5;
const STOCK_CHANGED = `subscription($f: StockChangedFilter!) { stockChanged(filter: $f) { sku } }`;
const DEEP = `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }`;

let stack: Stack;
let proxy: CountingProxy;
let gateways: Awaited<ReturnType<typeof startGateway>>[] = [];
let settings: LimitSettings;
let ids: { loc: string; channel: string; sku: string };

beforeAll(async () => {
  stack = await startStack({
    env: {
      REDIS_KEY_PREFIX: `omnistock_test:limits-${randomUUID().slice(0, 8)}`,
      RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
      RATE_LIMITS: 'vip=1000',
      MAX_QUERY_COSTS: 'reporting=100000',
      MAX_QUERY_COST: '200',
      MAX_QUERY_DEPTH: '6',
    },
  });
  settings = limitSettings(stack.cfg);
  const inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  const loc = await inv.location();
  ids = { loc, channel: await inv.channel([loc]), sku: await inv.item() };
  await inv.receive(ids.sku, loc, 10);
  // Two replicas on the same Redis prefix; inventory reached through a proxy that counts calls.
  const inventoryUrl = (proxy = await startCountingProxy(stack.subgraphs.inventory.url)).url;
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  const urlOverrides = { ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, stack.subgraphs[n].url])), inventory: inventoryUrl };
  for (let i = 0; i < 2; i++) {
    gateways.push(
      await startGateway({
        supergraphSdl: composed.supergraphSdl,
        urlOverrides,
        subscriptionUrls: { inventory: wsUrl(stack.subgraphs.inventory.url) },
        limits: settings,
        host: '127.0.0.1',
        port: 0,
      }),
    );
  }
});

afterAll(async () => {
  for (const g of gateways) await g.close();
  await proxy?.close();
  if (settings) {
    const redis = createRedis(redisTarget(stack.cfg));
    await dropKeys(redis, settings.keyPrefix);
    await redis.quit();
  }
  await stack?.close();
});

const availability = (gateway: number, client: string, skus = [ids.sku]) =>
  gql(gateways[gateway]!.url, AVAILABILITY, { c: ids.channel, skus }, { 'x-client-id': client });

describe('rate limits', () => {
  it('two gateways share one client budget; the next request is 429 RATE_LIMITED with Retry-After; another client is unaffected', async () => {
    const client = `c-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < PER_MINUTE; i++) {
      const ok = await availability(i % 2, client);
      expect(ok.errors).toBeUndefined();
      expect(ok.status).toBe(200);
    }
    const refused = await availability(PER_MINUTE % 2, client);
    expect(refused.status).toBe(429);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.errors![0]!.extensions).toMatchObject({ retryAfterSeconds: retryAfter, limit: PER_MINUTE });
    expect(refused.data ?? null).toBeNull();
    // The other replica refuses it too.
    expect(errorCode(await availability((PER_MINUTE + 1) % 2, client))).toBe('RATE_LIMITED');

    const other = await availability(0, `c-${randomUUID().slice(0, 8)}`);
    expect(other.errors).toBeUndefined();
  });

  it('a client with an override in RATE_LIMITS gets its own limit', async () => {
    for (let i = 0; i < PER_MINUTE + 2; i++) expect((await availability(i % 2, 'vip')).errors).toBeUndefined();
  });

  it('applies to graphql-ws subscriptions', async () => {
    const client = `ws-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < PER_MINUTE; i++) expect((await availability(0, client)).errors).toBeUndefined();
    const ws = wsClient(wsUrl(gateways[1]!.url), { 'x-client-id': client });
    try {
      const sub = collect(ws, STOCK_CHANGED, { f: { skus: [ids.sku] } });
      await expect.poll(() => sub.errors.length, { timeout: 5000 }).toBe(1);
      expect(JSON.stringify(sub.errors[0])).toContain('RATE_LIMITED');
    } finally {
      await ws.dispose();
    }
  });
});

describe('the rate limiter (GCRA on the Redis clock)', () => {
  it('allows the limit as a burst, then one request per emission interval: no second burst across a window boundary', async () => {
    const redis = createRedis(redisTarget(stack.cfg));
    try {
      // 5 per second: one request every 200 ms once the burst is spent.
      const limiter = new RateLimiter(redis, { ...settings, perMinute: 5, windowMs: 1000 }, logger());
      const client = `client:gcra-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 5; i++) expect((await limiter.take(client)).ok).toBe(true);
      const refused = await limiter.take(client);
      expect(refused.ok).toBe(false);
      if (refused.ok) return;
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(200);
      // Once the advertised wait has passed exactly one request fits, and the next is refused again:
      // a fixed window would have granted a whole new burst at its boundary.
      await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 20));
      expect((await limiter.take(client)).ok).toBe(true);
      expect((await limiter.take(client)).ok).toBe(false);
      // A batch takes all of its requests or none.
      expect((await limiter.take(client, 3)).ok).toBe(false);
      // A limit so high that one request is a sliver of a millisecond still counts (and keeps a valid expiry).
      // (Fail-open would also answer ok: the limiter must not have logged that it could not check.)
      const warnings: string[] = [];
      const generous = new RateLimiter(redis, { ...settings, perMinute: 1_000_000_000 }, pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }));
      for (let i = 0; i < 3; i++) expect(await generous.take(`${client}-generous`)).toEqual({ ok: true });
      expect(warnings).toEqual([]);
    } finally {
      await redis.quit();
    }
  });
});

describe('leases: a busy client taken from Redis several requests at a time', () => {
  /** A limiter as one gateway replica has it, with its own connection, counting its Redis steps. */
  const replica = (limit: number, leaseMs: number) => {
    const redis = createRedis(redisTarget(stack.cfg));
    const limiter = new RateLimiter(redis, { ...settings, perMinute: limit, perClient: {}, leaseMs }, logger());
    const counted = redis as unknown as { omnistockGcra: (...args: unknown[]) => Promise<unknown> };
    const gcra = counted.omnistockGcra.bind(redis);
    const replica = { limiter, redis, steps: 0 };
    counted.omnistockGcra = (...args) => {
      replica.steps++;
      return gcra(...args);
    };
    return replica;
  };

  it('never admits more than the limit across replicas, under a concurrent burst split between them', async () => {
    const replicas = [replica(1200, 1000), replica(1200, 1000)];
    try {
      const client = `client:lease-${randomUUID().slice(0, 8)}`;
      const started = Date.now();
      let admitted = 0;
      // 30 waves of 50 concurrent requests (1,500 in all) alternating between the replicas.
      for (let wave = 0; wave < 30; wave++) {
        const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => replicas[(wave + i) % 2]!.limiter.take(client)));
        admitted += decisions.filter((d) => d.ok).length;
      }
      // GCRA lets the whole budget pass as a burst, then 20 a second (1,200 a minute).
      const regained = Math.ceil(((Date.now() - started) / 60_000) * 1200);
      expect(admitted).toBeLessThanOrEqual(1200 + regained);
      // What the replicas hold unused (a lease each, at most 20 requests) is all that may go unadmitted.
      expect(admitted).toBeGreaterThanOrEqual(1200 - 2 * 20);
    } finally {
      await Promise.all(replicas.map((r) => r.redis.quit()));
    }
  });

  it('costs a busy client within its limit a round trip per lease, not per request', async () => {
    const replicas = [replica(1_000_000, 100), replica(1_000_000, 100)];
    try {
      const client = `client:busy-${randomUUID().slice(0, 8)}`;
      for (let wave = 0; wave < 30; wave++) {
        const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => replicas[(wave + i) % 2]!.limiter.take(client)));
        expect(decisions.every((d) => d.ok)).toBe(true);
      }
      expect(replicas[0]!.steps + replicas[1]!.steps).toBeLessThan(1500 / 10);
    } finally {
      await Promise.all(replicas.map((r) => r.redis.quit()));
    }
  });

  it('hands back what a replica did not use: Redis is charged exactly the requests admitted', async () => {
    const { limiter, redis } = replica(600, 1000); // one request per 100 ms; leases of up to 10
    try {
      const client = `client:handback-${randomUUID().slice(0, 8)}`;
      const [seconds, micros] = await redis.time();
      const before = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      for (let i = 0; i < 40; i++) expect((await limiter.take(client)).ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // the lease lapses with requests left in it
      expect((await limiter.take(client)).ok).toBe(true);
      const tat = Number(await redis.get(`${settings.keyPrefix}:ratelimit:${client}`));
      // The first 40 took leases of 1, 2, 4, 8, 10, 10 and 10 (45), 5 left when the last lapsed; the 41st
      // handed those back and took a lease of 10 (twice the 5 used of the last): 45 - 5 + 10. Without
      // the hand-back Redis would hold 55.
      expect(Math.round((tat - before) / 100)).toBe(50);
    } finally {
      await redis.quit();
    }
  });

  it('counts a client whose limit allows fewer than two requests in a lease time request by request, and refuses exactly at the limit', async () => {
    const small = replica(60, 1000); // one a second: no lease
    const busy = replica(1200, 1000);
    try {
      const client = `client:exact-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 60; i++) expect((await small.limiter.take(client)).ok).toBe(true);
      expect((await small.limiter.take(client)).ok).toBe(false);
      expect(small.steps).toBe(61);
      // A leased client near its limit: the lease that no longer fits is not taken, one request is.
      const other = `client:exact-busy-${randomUUID().slice(0, 8)}`;
      let admitted = 0;
      const started = Date.now();
      for (let i = 0; i < 1250; i++) if ((await busy.limiter.take(other)).ok) admitted++;
      const refused = await busy.limiter.take(other);
      expect(admitted).toBeGreaterThanOrEqual(1200);
      expect(admitted).toBeLessThanOrEqual(1200 + Math.ceil(((Date.now() - started) / 60_000) * 1200));
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.retryAfterMs).toBeLessThanOrEqual(50);
    } finally {
      await Promise.all([small.redis.quit(), busy.redis.quit()]);
    }
  });
});

describe('cost and depth limits', () => {
  it('a client with an override in MAX_QUERY_COSTS may run a query over the default cost limit', async () => {
    const skus = Array.from({ length: 100 }, (_, i) => `SKU-${i}`);
    const allowed = await availability(0, 'reporting', skus);
    expect(allowed.errors).toBeUndefined();
  });

  it('an over-cost query is refused with its computed cost, and no subgraph is called', async () => {
    const skus = Array.from({ length: 100 }, (_, i) => `SKU-${i}`);
    const before = proxy.calls;
    const refused = await availability(0, `c-${randomUUID().slice(0, 8)}`, skus);
    expect(errorCode(refused)).toBe('QUERY_TOO_COMPLEX');
    expect(refused.status).toBe(400);
    expect(refused.errors![0]!.extensions).toMatchObject({ reason: 'COST', cost: 900, maxCost: 200 });
    expect(refused.data ?? null).toBeNull();
    expect(proxy.calls).toBe(before);
  });

  it('an over-depth query is refused with its depth', async () => {
    const refused = await gql(gateways[1]!.url, DEEP, {}, { 'x-client-id': `c-${randomUUID().slice(0, 8)}` });
    expect(errorCode(refused)).toBe('QUERY_TOO_COMPLEX');
    expect(refused.errors![0]!.extensions).toMatchObject({ reason: 'DEPTH', depth: 9, maxDepth: 6 });
  });

  it('normal queries pass and reach the subgraph', async () => {
    const before = proxy.calls;
    const ok = await availability(1, `c-${randomUUID().slice(0, 8)}`, [ids.sku, 'NOPE-1', 'NOPE-2']);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.availability[0]).toMatchObject({ sku: ids.sku, availableToSell: 10 });
    expect(proxy.calls).toBeGreaterThan(before);
  });
});
