import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketplaceSimulator } from '../../tools/marketplace-simulator/index.js';
import { errorCode } from '../client.js';
import { waitFor } from '../events.js';
import { marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator } from '../marketplace-fixture.js';
import { startOrdersStack, type OrdersStack } from '../orders-fixture.js';

/**
 * #16 item 6: a caller who may set marketplace connections (channels:admin) cannot have a
 * marketplace token sent to a host of its choosing, nor push with another channel's credentials.
 * A listener counts every request that reaches the attacker's host.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let store: string;
let trap: Server;
let trapped: { url: string; authorization: string | undefined }[] = [];
let trapUrl: string;

const HEALTH = `query($id: ID!) { channel(id: $id) { marketplaceSync { healthy problem { code message } } } }`;
const CONNECT = `mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`;

beforeAll(async () => {
  trap = createServer((req, res) => {
    trapped.push({ url: req.url ?? '', authorization: req.headers.authorization ?? (req.headers['x-shopify-access-token'] as string | undefined) });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  secrets = await secretsDir();
  sim = await startSimulator();
  // Only the simulator's own host:port may receive credentials here, not the rest of loopback.
  const simulatorHost = new URL(sim.baseUrl('EBAY', 'x')).host;
  stack = await startOrdersStack({ ...marketplaceEnv(secrets.dir), MARKETPLACE_ALLOWED_HOSTS: simulatorHost });
  w = new MarketplaceWorld(stack, sim, secrets.dir);
  store = await w.location();
});

afterAll(async () => {
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
  await new Promise((resolve) => trap?.close(resolve));
});

describe('marketplace credentials go only where they belong', () => {
  it('refuses a connection whose base URL is not the marketplace (a listener, cloud metadata, http)', async () => {
    const victim = await w.marketplaceChannel('EBAY', [store]);
    const attacker = await w.marketplaceChannel('EBAY', [store]);
    for (const baseUrl of [`${trapUrl}/ebay`, 'http://169.254.169.254/latest', 'http://api.ebay.com', 'https://api.ebay.com.evil.example']) {
      const res = await w.gql(CONNECT, { id: attacker.channelId, input: { accountId: victim.account, baseUrl, secretName: victim.account, settings: {} } });
      expect(errorCode(res), baseUrl).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.extensions!.issues).toEqual([expect.objectContaining({ path: 'baseUrl' })]);
    }
    // The attacker's connection is still the one it had: pushes keep going to the simulator.
    const sku = await w.item();
    await w.receive(sku, store, 3);
    await w.converged(attacker, [sku]);
    expect(trapped).toEqual([]);
  });

  it("does not send a secret to a base URL stored before the rule: the connection is unhealthy and its pushes wait", async () => {
    const channel = await w.marketplaceChannel('EBAY', [store]);
    // A row as an older version (or a hand-written UPDATE) may have left it.
    await stack.subgraphs.marketplaces.dataSource.query('UPDATE marketplace_connections SET base_url = ? WHERE channel_id = ?', [`${trapUrl}/ebay`, channel.channelId]);
    await waitFor('the connection to be unhealthy', async () => (await w.ok(HEALTH, { id: channel.channelId })).channel.marketplaceSync.problem?.code === 'BASE_URL_NOT_ALLOWED' || null);
    const sku = await w.item();
    await w.receive(sku, store, 5);
    await waitFor('the push to be pending', async () => (await w.sync(channel.channelId, [sku])).skus.edges[0]?.node.pending === true || null);
    expect(trapped).toEqual([]);
    expect((await w.sync(channel.channelId)).deadLetterCount).toBe(0);
  });

  it("does not push with another channel's secret, even to the same account", async () => {
    const victim = await w.marketplaceChannel('EBAY', [store]);
    const attacker = await w.marketplaceChannel('EBAY', [store], undefined, { secret: false });
    const res = await w.gql(CONNECT, { id: attacker.channelId, input: { accountId: victim.account, baseUrl: sim.baseUrl('EBAY', victim.account), secretName: victim.account, settings: {} } });
    expect(res.errors).toBeUndefined();
    await waitFor('the connection to be unhealthy', async () => (await w.ok(HEALTH, { id: attacker.channelId })).channel.marketplaceSync.problem?.code === 'SECRET_MISMATCH' || null);
    const problem = (await w.ok(HEALTH, { id: attacker.channelId })).channel.marketplaceSync.problem;
    expect(problem.message).toContain(`issued for channel ${victim.code}`);
    const sku = await w.item();
    await w.receive(sku, store, 9);
    // The victim's own channel pushes the SKU; the attacker's never does.
    await w.converged(victim, [sku]);
    await waitFor('the attacker push to be pending', async () => (await w.sync(attacker.channelId, [sku])).skus.edges[0]?.node.pending === true || null);
    expect((await w.sync(attacker.channelId, [sku])).skus.edges[0].node.lastPushedQuantity).toBeNull();
  });
});
