import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLError } from 'graphql';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubgraphTransport } from '../../gateway/subgraph-transport.js';
import { UpstreamPool, UpstreamSubscription } from '../../gateway/subscriptions/upstream.js';
import { guardLookup } from '../../lib/forbidden-addresses.js';

/**
 * #16 item 7 (connect time): the registry refuses a routing URL that names a metadata address, but a
 * partner can name a host it controls, have an admin allow it, and later point its DNS at
 * 169.254.169.254 (DNS rebinding), or name a metadata address in a spelling a check might miss. The
 * gateway's sockets to subgraphs resolve through a guard that drops forbidden addresses: here the
 * partner's DNS is a resolver the test controls.
 */
let listener: Server;
let port: number;
let received = 0;
/** What the partner's DNS answers for its host. */
let answers: LookupAddress[] = [];
const lookup = guardLookup((_host, _options, callback) => callback(null, answers));

beforeAll(async () => {
  listener = createServer((req, res) => {
    received++;
    req.resume();
    // One request per connection: every request resolves the name again.
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{"data":{"ok":true}}');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
});
afterAll(async () => {
  listener.closeAllConnections();
  await new Promise((resolve) => listener.close(resolve));
});

describe('the gateway never connects a subgraph socket to a metadata or link-local address', () => {
  it('refuses a host that resolves there, even after it resolved elsewhere, and uses only the allowed addresses of a mixed answer', async () => {
    const transport = new SubgraphTransport({ timeoutMs: 3_000, lookup });
    const url = `http://pricing.partner.test:${port}/graphql`;
    try {
      answers = [{ address: '127.0.0.1', family: 4 }];
      expect((await transport.post('pricing', url, '{}', {}, null)).status).toBe(200);
      expect(received).toBe(1);

      for (const address of ['169.254.169.254', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', 'fe80::1']) {
        answers = [{ address, family: address.includes(':') ? 6 : 4 }];
        await expect(transport.post('pricing', url, '{}', {}, null), address).rejects.toMatchObject({ name: 'SubgraphTransportError', reason: 'EFORBIDDENADDRESS' });
      }
      answers = [
        { address: '169.254.169.254', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
      expect((await transport.post('pricing', url, '{}', {}, null)).status).toBe(200);
      expect(received).toBe(2);
    } finally {
      await transport.close();
    }
  });

  it('refuses metadata addresses and names in a URL before any connection', async () => {
    const transport = new SubgraphTransport({ timeoutMs: 3_000 });
    try {
      for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[::ffff:169.254.169.254]/', 'http://2852039166/', 'http://metadata.google.internal./computeMetadata/v1/']) {
        await expect(transport.post('pricing', url, '{}', {}, null), url).rejects.toMatchObject({ reason: 'EFORBIDDENADDRESS' });
      }
    } finally {
      await transport.close();
    }
  });

  it('ends a subscription whose URL names one, without connecting', async () => {
    const settings = { keepAliveMs: 0, retryMaxMs: 100, log: pino({ level: 'silent' }) };
    const pool = new UpstreamPool(settings);
    try {
      for (const url of ['ws://169.254.169.254/graphql', 'ws://[::ffff:169.254.169.254]/graphql', 'ws://metadata.google.internal/graphql']) {
        const ended = await new Promise<readonly GraphQLError[] | null | 'event'>((resolve) => {
          const upstream = new UpstreamSubscription(pool, url, { subgraph: 'pricing', caller: { clientId: 'app', scopes: [] } }, { query: 'subscription { priceChanged { sku } }', variables: {} }, { onEvent: () => resolve('event'), onEnd: resolve }, settings);
          upstream.start();
        });
        expect(ended, url).toEqual([expect.objectContaining({ message: expect.stringMatching(/metadata or link-local/), extensions: { code: 'SUBGRAPH_UNAVAILABLE' } })]);
      }
    } finally {
      await pool.close();
    }
  });
});
