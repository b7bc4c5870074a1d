import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../client.js';
import { allowHost, CHECK, issueKey, PUBLISH, registryClient, startPartnerSubgraph, startRegistryStack, type RegistryStack } from '../registry-helpers.js';

/**
 * #16 item 7 (routing): the gateway sends every caller of a subgraph's fields, with a service token,
 * to the URLs the registry holds for it. The attack: a partner key that may publish `pricing`
 * points it at a cloud metadata address, at a host of its choosing (a counting listener shows
 * whether anything was sent there), at a URL with credentials, or allows itself a host.
 */
let reg: RegistryStack;
let partner: ReturnType<typeof registryClient>;
let admin: ReturnType<typeof registryClient>;
let pricing: { url: string; close(): Promise<void> };
let listener: Server;
let listenerUrl: string;
let received = 0;

const SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
"A stock-keeping unit; the pricing team adds its price."
type InventoryItem @key(fields: "sku") {
  "The SKU."
  sku: String!
  "The price in minor units."
  priceMinor: Int
}
`;

beforeAll(async () => {
  reg = await startRegistryStack();
  partner = registryClient(reg.registryUrl, await issueKey(reg, 'pricing', ['registry:check:pricing', 'registry:publish:pricing'], 'pricing'));
  admin = registryClient(reg.registryUrl, reg.adminToken);
  pricing = await startPartnerSubgraph(SDL, { InventoryItem: { __resolveReference: (ref: { sku: string }) => ({ sku: ref.sku, priceMinor: 999 }) } });
  listener = createServer((req, res) => {
    received++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://localhost:${(listener.address() as AddressInfo).port}/graphql`;
});

afterAll(async () => {
  await pricing?.close();
  await new Promise((resolve) => listener?.close(resolve));
  await reg?.close();
});

const publish = (client: typeof partner, routingUrl: string, subscriptionUrl?: string) => client(PUBLISH, { input: { subgraph: 'pricing', sdl: SDL, routingUrl, ...(subscriptionUrl ? { subscriptionUrl } : {}) } });

describe("a subgraph's URLs name only hosts an admin allowed", () => {
  it('refuses a partner a host nobody allowed, a metadata address and credentials in the URL, and stores nothing', async () => {
    for (const [routingUrl, code] of [
      [listenerUrl, 'HOST_NOT_ALLOWED'],
      ['http://169.254.169.254/latest/meta-data', 'FORBIDDEN_ADDRESS'],
      // The same metadata service spelled otherwise: IPv4-mapped IPv6, NAT64, decimal, a trailing dot.
      ['http://[::ffff:169.254.169.254]/latest/meta-data', 'FORBIDDEN_ADDRESS'],
      ['http://[64:ff9b::169.254.169.254]/latest/meta-data', 'FORBIDDEN_ADDRESS'],
      ['http://2852039166/latest/meta-data', 'FORBIDDEN_ADDRESS'],
      ['http://metadata.google.internal./computeMetadata/v1/', 'FORBIDDEN_ADDRESS'],
      ['http://user:secret@localhost:4020/graphql', 'URL_CREDENTIALS'],
    ] as const) {
      const checked = await partner(CHECK, { input: { subgraph: 'pricing', sdl: SDL, routingUrl } });
      expect(checked.errors, routingUrl).toBeUndefined();
      expect(checked.data!.check.ok, routingUrl).toBe(false);
      expect(checked.data!.check.endpointProblems.map((p: { code: string }) => p.code), routingUrl).toContain(code);
      expect(checked.data!.check.endpointProblems[0].kind, routingUrl).toBe('routing');
      const refused = await publish(partner, routingUrl);
      expect(refused.data!.publish.__typename, routingUrl).toBe('PublishRejected');
    }
    expect((await admin(`{ subgraph(name: "pricing") { name } }`)).data!.subgraph).toBeNull();
  });

  it('refuses a partner allowing itself a host', async () => {
    const res = await partner(`mutation { allowSubgraphHosts(subgraph: "pricing", hosts: ["localhost"]) }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await admin(`{ subgraphHosts(subgraph: "pricing") }`)).data!.subgraphHosts).toEqual([]);
  });

  it('publishes once an admin allowed the host, and never routes a caller to the listener', async () => {
    await allowHost(reg, 'pricing', pricing.url);
    const published = await publish(partner, pricing.url);
    expect(published.data!.publish.__typename).toBe('Published');
    // Moving to the listener's host (allowed for no one) is refused, so callers keep reaching the real subgraph.
    expect((await publish(partner, listenerUrl)).data!.publish.__typename).toBe('PublishRejected');
    expect((await publish(partner, pricing.url, 'ws://169.254.169.254/graphql')).data!.publish.__typename).toBe('PublishRejected');
    const answer = await gql(reg.url, `{ inventoryItems(skus: ["SKU-000001"]) { sku } }`);
    expect(answer.errors).toBeUndefined();
    expect(received).toBe(0);
  });

  it('refuses the next publish that keeps a URL whose host an admin disallowed since', async () => {
    const host = new URL(pricing.url).host;
    expect((await admin(`mutation($h: [String!]!) { disallowSubgraphHosts(subgraph: "pricing", hosts: $h) }`, { h: [host] })).errors).toBeUndefined();
    // The routing URL does not change: the partner only publishes a new schema on the same URL.
    const checked = await partner(CHECK, { input: { subgraph: 'pricing', sdl: `${SDL}\n"A note."\ntype PriceNote { "Text." text: String }\n` } });
    expect(checked.data!.check.endpointProblems).toEqual([expect.objectContaining({ kind: 'routing', code: 'HOST_NOT_ALLOWED' })]);
    expect((await partner(PUBLISH, { input: { subgraph: 'pricing', sdl: SDL.replace('The price in minor units.', 'The price, in minor units.') } })).data!.publish.__typename).toBe('PublishRejected');
    await allowHost(reg, 'pricing', pricing.url);
  });

  it("an admin's publish allows the hosts it names, but not a metadata address", async () => {
    expect((await publish(admin, 'http://169.254.169.254/graphql')).data!.publish.__typename).toBe('PublishRejected');
    expect((await admin(`{ subgraphHosts(subgraph: "pricing") }`)).data!.subgraphHosts).toEqual([new URL(pricing.url).host]);
  });
});
