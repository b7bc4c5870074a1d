import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger, setLogDestination } from '../lib/logger.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { gql } from './client.js';
import { startStack, type Stack } from './stack.js';

// Every log line of this process (the gateway and the subgraphs run in it), parsed.
const lines: Record<string, unknown>[] = [];
setLogDestination(
  new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  }),
  'debug',
);

// A real resolver of inventory, wrapped to write a log line while it resolves (this file's module instance only).
const query = SUBGRAPHS.inventory.resolvers.Query as Record<string, (...args: unknown[]) => unknown>;
const inventoryItem = query.inventoryItem!;
query.inventoryItem = (...args: unknown[]) => {
  logger().info({ probe: (args[1] as { sku: string }).sku }, 'resolving inventoryItem');
  return inventoryItem(...args);
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('log lines', () => {
  it('carry the request id, client and operation, in the gateway and in a subgraph resolver', async () => {
    const requestId = `log-${randomUUID()}`;
    const sku = `LOG-${randomUUID().slice(0, 8)}`;
    const res = await gql(stack.gatewayUrl, `query LogProbe($sku: String!) { inventoryItem(sku: $sku) { sku } }`, { sku }, { 'x-request-id': requestId, 'x-client-id': 'log-client' });
    expect(res.errors).toBeUndefined();

    const resolverLine = lines.find((l) => l.probe === sku);
    expect(resolverLine).toMatchObject({ service: expect.any(String), reqId: requestId, client: 'log-client', msg: 'resolving inventoryItem' });
    // The gateway names the subgraph's operation after the client's.
    expect(resolverLine!.operation).toMatch(/^LogProbe__inventory__\d+$/);

    const gatewayLine = lines.find((l) => l.reqId === requestId && l.server === 'gateway');
    expect(gatewayLine).toMatchObject({ client: 'log-client', operation: 'LogProbe' });
    // Every line of the request, on every hop, names it and its client.
    const ofRequest = lines.filter((l) => l.reqId === requestId);
    expect(new Set(ofRequest.map((l) => l.server ?? 'resolver'))).toEqual(new Set(['gateway', 'inventory', 'resolver']));
    for (const line of ofRequest) expect(line.client, JSON.stringify(line)).toBe('log-client');
  });

  it('names an anonymous operation and an unnamed client by leaving the client out', async () => {
    const requestId = `log-${randomUUID()}`;
    const res = await gql(stack.gatewayUrl, `{ inventoryItem(sku: "LOG-NONE") { sku } }`, {}, { 'x-request-id': requestId });
    expect(res.errors).toBeUndefined();
    const gatewayLine = lines.find((l) => l.reqId === requestId && l.server === 'gateway');
    expect(gatewayLine).toMatchObject({ operation: 'anonymous' });
    expect(gatewayLine).not.toHaveProperty('client');
  });
});
