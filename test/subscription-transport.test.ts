import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryFixture } from './inventory-fixture.js';
import { serviceToken } from './client.js';

/**
 * Our subgraphs serve subscriptions over graphql-ws only. A peer gateway (Hive Gateway, Apollo
 * Router) that tries another transport is told which one to use, not refused with an unrelated
 * message.
 */

let f: InventoryFixture;
const SUBSCRIPTION = 'subscription { stockChanged(filter: { skus: ["X"] }) { sequence } }';

beforeAll(async () => {
  f = await InventoryFixture.start();
});
afterAll(async () => {
  await f?.close();
});

function expectTransportAdvice(status: number, body: any): void {
  expect(status).toBe(400);
  expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
  expect(body.errors[0].extensions.reason).toBe('SUBSCRIPTION_TRANSPORT_UNSUPPORTED');
  expect(body.errors[0].message).toContain('graphql-ws');
  expect(body.errors[0].message).toContain(f.url.replace(/^http/, 'ws'));
  expect(body.errors[0].message).not.toMatch(/CSRF|preflight/i);
}

describe('subscription transports other than graphql-ws', () => {
  it('answers a subscription POSTed over HTTP (multipart or plain) naming graphql-ws and its URL', async () => {
    for (const accept of ['multipart/mixed;subscriptionSpec="1.0", application/json', 'application/json']) {
      const res = await fetch(f.url, { method: 'POST', headers: { 'content-type': 'application/json', accept, 'x-service-token': await serviceToken() }, body: JSON.stringify({ query: SUBSCRIPTION }) });
      expectTransportAdvice(res.status, await res.json());
    }
  });

  it('answers a server-sent events request naming graphql-ws and its URL', async () => {
    const url = new URL(f.url);
    url.searchParams.set('query', SUBSCRIPTION);
    const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
    expectTransportAdvice(res.status, await res.json());
  });
});
