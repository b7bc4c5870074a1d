import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, gql } from './client.js';
import { startGatewayProcess, stopAllGatewayProcesses, subgraphEnv, type GatewayProcess } from './gateway-process.js';
import { AVAILABILITY, InventoryFixture } from './inventory-fixture.js';
import { startStack, type Stack } from './stack.js';

/**
 * Rate limits across gateway processes: two `gateway/main.ts` processes, as in production (each with
 * its registry, on one registry database and one Redis prefix), in front of the same subgraphs.
 */
const PER_MINUTE = 4;
const id = randomUUID().slice(0, 8);
const env = {
  DB_PREFIX: `omnistock_t${id}`,
  REDIS_KEY_PREFIX: `omnistock_test:limits-proc-${id}`,
  RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
  AUTH_MODE: 'off',
  DEMO_MARKETPLACES: 'false',
};

let stack: Stack;
const gateways: GatewayProcess[] = [];
let ids: { channel: string; sku: string };

beforeAll(async () => {
  stack = await startStack();
  const inv = new InventoryFixture(stack.subgraphs.inventory.url, stack.subgraphs.inventory.dataSource);
  const loc = await inv.location();
  ids = { channel: await inv.channel([loc]), sku: await inv.item() };
  await inv.receive(ids.sku, loc, 10);
  // One after the other: the first seeds the registry database, the second finds it seeded.
  for (let i = 0; i < 2; i++) gateways.push(await startGatewayProcess({ ...env, ...subgraphEnv(stack) }));
});

afterAll(async () => {
  await stopAllGatewayProcesses(stack, env);
  await stack?.close();
});

describe('rate limits across gateway processes', () => {
  it('one client has one budget across two gateway processes; past it both answer 429 RATE_LIMITED', async () => {
    const client = `proc-${randomUUID().slice(0, 8)}`;
    const ask = (i: number) => gql(gateways[i % 2]!.url, AVAILABILITY, { c: ids.channel, skus: [ids.sku] }, { 'x-client-id': client });
    for (let i = 0; i < PER_MINUTE; i++) expect((await ask(i)).errors).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const refused = await ask(i);
      expect(refused.status).toBe(429);
      expect(errorCode(refused)).toBe('RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Another client's budget is its own.
    expect((await gql(gateways[1]!.url, AVAILABILITY, { c: ids.channel, skus: [ids.sku] }, { 'x-client-id': `${client}-other` })).errors).toBeUndefined();
  });
});
