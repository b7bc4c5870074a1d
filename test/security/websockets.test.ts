import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiKeyService, openRegistryDatabase } from '../../registry/index.js';
import { startStack, type Stack } from '../stack.js';
import { wsUrl } from '../subscriptions-helpers.js';

/**
 * #16 item 4: the gateway's WebSocket endpoint. Each attack is sent over a raw socket speaking
 * graphql-transport-ws, as any client could.
 */
const MAX_BODY = 65_536;
const PER_ADDRESS = 4;
let stack: Stack;
let registryDb: DataSource;
let keys: ApiKeyService;

beforeAll(async () => {
  stack = await startStack({
    env: {
      AUTH_MODE: 'enforce',
      AUTH_PUBLIC_SCOPES: '',
      // Every check reads the key as it is now: a revocation takes effect at once.
      AUTH_KEY_CACHE_MS: '0',
      WS_AUTH_RECHECK_MS: '300',
      WS_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
      MAX_BODY_BYTES: String(MAX_BODY),
    },
  });
  registryDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(registryDb);
});

afterAll(async () => {
  await registryDb?.destroy();
  await stack?.close();
});

interface Socket {
  ws: WebSocket;
  messages: { type: string; id?: string; payload?: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(stack.gatewayUrl), 'graphql-transport-ws');
    const messages: Socket['messages'] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) => ws.once('close', (code, reason) => done({ code, reason: reason.toString() })));
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

const until = async (what: string, check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('the gateway WebSocket', () => {
  it('closes a socket that sends a frame larger than MAX_BODY_BYTES, before any connection_init (1009)', async () => {
    const s = await open();
    s.ws.send('x'.repeat(MAX_BODY + 1));
    expect((await s.closed).code).toBe(1009);
  });

  it('closes a socket that never sends connection_init (4408)', async () => {
    const s = await open();
    const started = Date.now();
    expect((await s.closed).code).toBe(4408);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses more than WS_CONNECTIONS_PER_ADDRESS open sockets from one address at the upgrade (429)', async () => {
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => open()));
    try {
      await expect(open()).rejects.toMatchObject({ status: 429 });
    } finally {
      for (const s of held) s.ws.close();
      await Promise.all(held.map((s) => s.closed));
    }
    // Freed: a new socket is accepted again.
    const again = await open();
    again.ws.close();
    await again.closed;
  });

  it('closes the socket of a key revoked while it is open (4403), without waiting for a new operation', async () => {
    const { key, record } = await keys.create({ clientId: `ws-${randomUUID().slice(0, 8)}`, scopes: ['availability:read'], expiresInMs: 3_600_000, createdBy: 'websockets.test' });
    const s = await open();
    s.ws.send(JSON.stringify({ type: 'connection_init', payload: { 'x-api-key': key } }));
    await until('connection_ack', () => s.messages.some((m) => m.type === 'connection_ack'));
    s.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { stockChanged(filter: { skus: ["SKU-1"] }) { sku } }' } }));
    await new Promise((r) => setTimeout(r, 100));
    expect(s.messages.filter((m) => m.type === 'error')).toEqual([]);

    await keys.revoke(record.id);
    const closed = await s.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toContain('revoked');
  });
});
