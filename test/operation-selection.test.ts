import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/**
 * Every request shape GraphQL over HTTP allows, through the gateway's shared-execution path: a
 * document whose operation cannot be chosen is the standard 400 with GraphQL's own message, never
 * a 500, and the shapes that name their operation are answered.
 */

const TWO_OPS = 'query First { locations(first: 1) { edges { node { id } } } } query Second { locations(first: 2) { edges { node { code } } } }';
const WITH_MUTATION =
  'query Read { locations(first: 1) { edges { node { id } } } } mutation Write($input: UpdateLocationInput!) { updateLocation(id: "00000000-0000-0000-0000-000000000000", input: $input) { id } }';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function post(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function get(params: Record<string, string>): Promise<{ status: number; json: any }> {
  const url = new URL(stack.gatewayUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  // A GET must say it is no simple cross-site request (Apollo's CSRF prevention).
  const res = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
  return { status: res.status, json: await res.json() };
}

describe('choosing the operation of a document', () => {
  it('answers 400 with GraphQL\'s message when a document has several operations and no operationName', async () => {
    const res = await post({ query: TWO_OPS });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].message).toBe('Must provide operation name if query contains multiple operations.');
    expect(res.json.errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(res.json.data).toBeUndefined();
  });

  it('answers 400 naming an unknown operationName, over POST and GET', async () => {
    for (const res of [await post({ query: TWO_OPS, operationName: 'Third' }), await get({ query: TWO_OPS, operationName: 'Third' })]) {
      expect(res.status).toBe(400);
      expect(res.json.errors[0].message).toBe('Unknown operation named "Third".');
      expect(res.json.errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
    }
  });

  it('answers the named operation of a several-operation document, over POST and GET, concurrent ones shared', async () => {
    const answers = await Promise.all([
      post({ query: TWO_OPS, operationName: 'First' }),
      post({ query: TWO_OPS, operationName: 'First' }),
      post({ query: TWO_OPS, operationName: 'Second', variables: {} }),
      get({ query: TWO_OPS, operationName: 'Second' }),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.json.errors).toBeUndefined();
    }
    expect(answers[0]!.json.data.locations.edges.length).toBeLessThanOrEqual(1);
    expect(answers[0]!.json).toEqual(answers[1]!.json);
    expect(answers[2]!.json).toEqual(answers[3]!.json);
  });

  it('answers an anonymous single operation and a batch mixing named, anonymous and unresolvable operations', async () => {
    expect((await post({ query: '{ locations(first: 1) { edges { node { id } } } }' })).status).toBe(200);
    const res = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: TWO_OPS, operationName: 'First' }, { query: TWO_OPS }, { query: '{ __typename }' }]),
    });
    const body = (await res.json()) as any[];
    expect(body).toHaveLength(3);
    expect(body[0].errors).toBeUndefined();
    expect(body[1].errors[0].message).toBe('Must provide operation name if query contains multiple operations.');
    expect(body[2].data).toEqual({ __typename: 'Query' });
  });

  it('refuses a mutation chosen over GET with 405 and runs nothing', async () => {
    const res = await get({ query: WITH_MUTATION, operationName: 'Write' });
    expect(res.status).toBe(405);
    expect(res.json.errors[0].message).toMatch(/GET requests only support query operations/);
  });

  it('answers 400 when a document mixing a query and a mutation names neither', async () => {
    const res = await post({ query: WITH_MUTATION });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
  });
});
