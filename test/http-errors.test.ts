import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_TOKEN_HEADER } from '../lib/service-token.js';
import { serviceToken } from './client.js';
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

  it('refuses a body whose keys would poison a prototype, spelt out or escaped, at the gateway and at a subgraph, and reads the rest', async () => {
    const poisoned = [
      '{"query": "{ __typename }", "__proto__": {"admin": true}}',
      '{"query": "{ __typename }", "\\u005f_proto__": {"admin": true}}',
      '{"query": "{ __typename }", "variables": {"constructor": {"prototype": {"admin": true}}}}',
      '{"query": "{ __typename }", "\\u0063onstructor": {"prototype": {"admin": true}}}',
    ];
    const fine = [
      '{"query": "{ __typename }"}',
      '\ufeff{"query": "{ __typename }"}',
      '{"query": "{ __typename }", "variables": {"name": "__proto__ and constructor, \\u00e9"}}',
    ];
    for (const url of [stack.gatewayUrl, stack.subgraphs.inventory.url]) {
      const headers = { [SERVICE_TOKEN_HEADER]: await serviceToken() };
      for (const body of poisoned) {
        for (const type of ['application/json', 'application/json; charset=utf-8']) {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
          const json = (await res.json()) as any;
          expect([body, type, res.status, json.errors?.[0]?.extensions?.code]).toEqual([body, type, 400, 'BAD_REQUEST']);
        }
      }
      for (const body of fine) {
        for (const type of ['application/json', 'application/json; charset=utf-8']) {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
          const json = (await res.json()) as any;
          expect([body, type, res.status, json.data]).toEqual([body, type, 200, { __typename: 'Query' }]);
        }
      }
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
