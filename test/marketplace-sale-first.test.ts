import { randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from './queues.js';
import { pushQueueName } from '../subgraphs/marketplaces/services/queues.js';
import { waitFor } from './events.js';
import { marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { startOrdersStack, type OrdersStack } from './orders-fixture.js';

/**
 * #17: a sale anywhere reaches every other channel first. With a coalescing window far longer than
 * the wait for it (a minute, the longest allowed), a store sale still reaches the marketplace at once, while a receipt waits
 * in the queue, delayed, for the rest of its burst.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;

beforeAll(async () => {
  secrets = await secretsDir();
  sim = await startSimulator();
  stack = await startOrdersStack({ ...marketplaceEnv(secrets.dir), MARKETPLACE_COALESCE_MS: '60000' });
  w = new MarketplaceWorld(stack, sim, secrets.dir);
});

afterAll(async () => {
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
});

describe('a sale crosses the marketplace queue at its head', () => {
  it('pushes a store sale at once, and lets a receipt wait out the coalescing window', async () => {
    const store = await w.location();
    const ebay = await w.marketplaceChannel('EBAY', [store]);
    await w.replicated([store], [ebay.channelId]);
    // A SKU never pushed to eBay goes at once too: what eBay shows of it is not ours.
    const sku = await w.item();
    await w.receive(sku, store, 40);
    await w.converged(ebay, [sku]);
    const shown = sim.quantity('EBAY', ebay.account, sku)!;

    await w.ok(`mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, {
      i: { idempotencyKey: randomUUID(), type: 'SALE', sku, locationId: store, quantity: 1 },
    });
    await w.converged(ebay, [sku]);
    expect(sim.quantity('EBAY', ebay.account, sku)).toBe(shown - 1);

    await w.receive(sku, store, 5);
    const queue = openQueue(stack.cfg, pushQueueName('EBAY', ebay.account));
    try {
      const job = await waitFor('the receipt queued for eBay', async () => {
        const id = await queue.getDeduplicationJobId(`${ebay.channelId}:${sku}`);
        return id ? ((await Job.fromId(queue, id)) ?? null) : null;
      });
      expect(await job.isDelayed()).toBe(true);
      expect(sim.quantity('EBAY', ebay.account, sku)).toBe(shown - 1);
    } finally {
      await queue.close();
    }
  });
});
