import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketplaceOrderEntity } from '../subgraphs/marketplaces/data/intake.entity.js';
import { awsCredentialsFor, type MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { waitFor } from './events.js';
import { startMarketplaceWorld, type MarketplaceChannel, type MarketplaceWorld } from './marketplace-fixture.js';
import type { OrdersStack } from './orders-fixture.js';

/**
 * #17 Amazon's fast path: an order's ORDER_CHANGE notification reaches the seller's SQS queue within
 * moments, where getOrders shows it minutes later. Here getOrders shows nothing for ten minutes, so
 * only the notification can bring the order in time; the queue is read signed with the account's
 * AWS key, and a queue URL that may not receive signed requests is refused.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let world: Awaited<ReturnType<typeof startMarketplaceWorld>>;
let amazon: MarketplaceChannel;
let store: string;

const SET = `mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id marketplaceConnection { settings { notificationQueueUrl } } } }`;
const intakeRow = (orderId: string) => stack.subgraphs.marketplaces.dataSource.manager.findOne(MarketplaceOrderEntity, { where: { channelId: amazon.channelId, marketplaceOrderId: orderId } });

beforeAll(async () => {
  world = await startMarketplaceWorld({ MARKETPLACE_COALESCE_MS: '100', MARKETPLACE_INTAKE_POLL_MS: '300', MARKETPLACE_NOTIFICATION_WAIT_S: '1' }, { amazonVisibilityMs: 600_000, amazonNotificationMs: 50 });
  ({ stack, sim, w } = world);
  store = await w.location();
  const account = `amazon-notified-${Date.now()}`;
  amazon = await w.marketplaceChannel('AMAZON', [store], undefined, { settings: { notificationQueueUrl: sim.queueUrl(account) }, credentials: awsCredentialsFor(account), account });
  await w.replicated([store], [amazon.channelId]);
});

afterAll(() => world?.close());

describe('Amazon ORDER_CHANGE notifications', () => {
  it('takes an order in from its notification, long before getOrders shows it, once, and releases it on the cancellation', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 10);
    await w.converged(amazon, [sku]);
    const { orderId } = sim.placeOrder('AMAZON', amazon.account, [{ sku, quantity: 3 }]);
    await waitFor('the notification taken in and the order placed', async () => (await intakeRow(orderId))?.status === 'PLACED', 15_000);
    expect((await w.ats(amazon.channelId, [sku])).get(sku)).toBe(7);
    expect(await intakeRow(orderId)).toMatchObject({ lines: expect.stringContaining(`"marketplaceSku":"${sku}"`) });

    sim.cancelOrder('AMAZON', amazon.account, orderId);
    await waitFor('the cancellation releasing the units', async () => (await w.ats(amazon.channelId, [sku])).get(sku) === 10, 15_000);
    await waitFor('intake marking it cancelled', async () => (await intakeRow(orderId))?.status === 'CANCELLED');
    // Every message was deleted once handled.
    await waitFor('the queue empty', async () => sim.queueDepth(amazon.account) === 0);
  });

  it('refuses a notification queue on a host that may not receive signed requests, or on another marketplace', async () => {
    for (const url of ['https://attacker.example/000000000000/q', 'http://sqs.us-east-1.amazonaws.com/000000000000/q', 'https://sqs.us-east-1.amazonaws.com.attacker.example/1/q']) {
      const res = await w.gql(SET, {
        id: amazon.channelId,
        input: { accountId: amazon.account, baseUrl: sim.baseUrl('AMAZON', amazon.account), secretName: amazon.account, settings: { marketplaceIds: ['A1F83G8C2ARO7P'], notificationQueueUrl: url } },
      });
      expect(res.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
    }
    const ebay = await w.marketplaceChannel('EBAY', [store]);
    const res = await w.gql(SET, { id: ebay.channelId, input: { accountId: ebay.account, baseUrl: sim.baseUrl('EBAY', ebay.account), secretName: ebay.account, settings: { notificationQueueUrl: sim.queueUrl(ebay.account) } } });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // Nothing was written: the connection still reads the simulator's queue.
    const data = await w.ok(`query($c: ID!) { channel(id: $c) { marketplaceConnection { settings { notificationQueueUrl } } } }`, { c: amazon.channelId });
    expect(data.channel.marketplaceConnection.settings.notificationQueueUrl).toBe(sim.queueUrl(amazon.account));
  });

  it('answers a queue read not signed with the account key with 403', async () => {
    const body = JSON.stringify({ QueueUrl: sim.queueUrl(amazon.account), MaxNumberOfMessages: 10 });
    const unsigned = await fetch(`${sim.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ReceiveMessage' }, body });
    expect(unsigned.status).toBe(403);
    const forged = await fetch(`${sim.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.ReceiveMessage',
        'x-amz-date': '20261205T120000Z',
        authorization: `AWS4-HMAC-SHA256 Credential=${awsCredentialsFor(amazon.account).awsAccessKeyId}/20261205/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
      },
      body,
    });
    expect(forged.status).toBe(403);
  });
});
