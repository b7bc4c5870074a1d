import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './events.js';
import { PUBLISH, registryClient, startRegistryStack, type RegistryStack } from './registry-helpers.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver that records what it gets; it answers 500 to the first `failFirst` deliveries. */
async function receiver(failFirst = 0): Promise<{ url: string; deliveries: Delivery[]; attempts: () => number; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  let attempts = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      attempts++;
      if (attempts <= failFirst) {
        res.writeHead(500).end('try again');
        return;
      }
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/hooks/registry`,
    deliveries,
    attempts: () => attempts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** What a partner's receiver does, written here from the documented scheme rather than with our helper. */
function verified(secret: string, delivery: Delivery): boolean {
  const header = String(delivery.headers['x-omnistock-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${delivery.body}`).digest();
  return Math.abs(Date.now() / 1000 - Number(match[1])) < 300 && timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

let reg: RegistryStack;
let admin: ReturnType<typeof registryClient>;

beforeAll(async () => {
  // Short backoff so that a retried delivery arrives within the test.
  reg = await startRegistryStack({ REGISTRY_WEBHOOK_BACKOFF_MS: '50' });
  admin = registryClient(reg.registryUrl, reg.adminToken);
});

afterAll(async () => {
  await reg?.close();
});

async function inventorySdl(): Promise<string> {
  return (await admin('{ subgraph(name: "inventory") { currentSchema { sdl } } }')).data!.subgraph.currentSchema.sdl;
}

describe('registry webhooks', () => {
  it('delivers a signed SCHEMA_PUBLISHED on publish, retrying a failed delivery', async () => {
    const hook = await receiver(1);
    const secret = 'whsec_test_0123456789abcdef';
    try {
      const added = await admin(`mutation($url: String!, $secret: String!) { addWebhook(input: { url: $url, secret: $secret, events: [SCHEMA_PUBLISHED] }) { webhook { id events } secret } }`, {
        url: hook.url,
        secret,
      });
      expect(added.errors).toBeUndefined();
      expect(added.data!.addWebhook.secret).toBe(secret);

      const sdl = (await inventorySdl()).replace('"Display name."\n  name: String!', '"Display name (webhook test)."\n  name: String!');
      const published = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl, commit: 'abc123' } });
      expect(published.data!.publish.__typename).toBe('Published');

      await waitFor('the delivery', async () => hook.deliveries.length > 0);
      expect(hook.attempts()).toBe(2);
      const [delivery] = hook.deliveries;
      expect(verified(secret, delivery!)).toBe(true);
      expect(verified('another secret', delivery!)).toBe(false);
      expect(verified(secret, { ...delivery!, body: delivery!.body.replace('inventory', 'inventorx') })).toBe(false);
      expect(delivery!.headers['x-omnistock-event']).toBe('SCHEMA_PUBLISHED');
      const body = JSON.parse(delivery!.body);
      expect(body).toMatchObject({
        event: 'SCHEMA_PUBLISHED',
        id: delivery!.headers['x-omnistock-delivery'],
        data: { subgraph: 'inventory', schemaVersion: 2, supergraphVersion: published.data!.publish.supergraphVersion, commit: 'abc123' },
      });
      expect(body.data.changes).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'FIELD_DESCRIPTION_CHANGED', coordinate: 'InventoryItem.name' })]));

      await admin(`mutation($id: ID!) { removeWebhook(id: $id) }`, { id: added.data!.addWebhook.webhook.id });
    } finally {
      await hook.close();
    }
  });

  it('announces a deprecation once when its removal date is near', async () => {
    const hook = await receiver();
    try {
      const added = await admin(`mutation($url: String!) { addWebhook(input: { url: $url, events: [DEPRECATION_REMOVAL_DUE] }) { secret } }`, { url: hook.url });
      const secret = added.data!.addWebhook.secret as string;
      const removal = new Date(Date.now() + 100 * 86_400_000).toISOString().slice(0, 10);
      const sdl = (await inventorySdl()).replace('  barcode: String', `  barcode: String @deprecated(reason: "Use \`gtin\`. Removal: ${removal}")`);
      const published = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl } });
      expect(published.data!.publish.__typename, JSON.stringify(published.data!.publish.reasons)).toBe('Published');

      const service = reg.gateway.registry.service;
      // Today the removal is 100 days away: no notice.
      expect(await service.webhooks.notifyDueDeprecations()).toBe(0);
      // The daily check run 10 days before the removal date sends one, and only one.
      const tenDaysBefore = new Date(new Date(`${removal}T00:00:00Z`).getTime() - 10 * 86_400_000);
      expect(await service.webhooks.notifyDueDeprecations(tenDaysBefore)).toBe(1);
      expect(await service.webhooks.notifyDueDeprecations(tenDaysBefore)).toBe(0);

      await waitFor('the notice', async () => hook.deliveries.length > 0);
      const [notice] = hook.deliveries;
      expect(verified(secret, notice!)).toBe(true);
      expect(JSON.parse(notice!.body)).toMatchObject({
        event: 'DEPRECATION_REMOVAL_DUE',
        data: { subgraph: 'inventory', coordinate: 'InventoryItem.barcode', removalDate: removal, daysLeft: 10 },
      });
    } finally {
      await hook.close();
    }
  });
});
