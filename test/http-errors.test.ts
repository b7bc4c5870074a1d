import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/** Refusals made by the HTTP layer, before GraphQL, still answer in GraphQL's error shape with a stable code. */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: await res.json() };
}

describe('HTTP-level refusals', () => {
  it('answers malformed JSON 400 with a GraphQL error body and BAD_REQUEST, at the gateway and at a subgraph', async () => {
    for (const url of [stack.gatewayUrl, stack.subgraphs.inventory.url]) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }"' });
      const json = (await res.json()) as any;
      expect(res.status).toBe(400);
      expect(json.errors).toHaveLength(1);
      expect(json.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(json.errors[0].message).toMatch(/^The request body is not valid JSON/);
      expect(json.statusCode).toBeUndefined(); // not Fastify's own { statusCode, code, error, message }
    }
  });

  it('answers 2 MB and 16 MB bodies sent with Node\'s fetch with the 413, every time, never a broken pipe', async () => {
    for (const mb of [2, 2, 2, 16, 16]) {
      const res = await post(JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(mb * 1024 * 1024) } }));
      expect(res.status).toBe(413);
      expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    }
    // The connection pool is still usable afterwards.
    expect((await post(JSON.stringify({ query: '{ __typename }' }))).status).toBe(200);
  });
});
