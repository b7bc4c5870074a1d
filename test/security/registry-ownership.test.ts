import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../registry/index.js';
import { gql } from '../client.js';
import { allowHost, PUBLISH, registryClient, startPartnerSubgraph, startRegistryStack, waitForVersion, type RegistryStack } from '../registry-helpers.js';

/**
 * #16 item 7 (ownership): a partner key allowed to publish only `pricing` must not take over
 * another team's fields. The attack: `@override(from: "orders")` on Query.order, which would send
 * every caller's order lookups (their ids, and the answers they trust) to the partner's subgraph.
 * A counting resolver on the partner's subgraph shows whether any lookup reached it.
 */
let reg: RegistryStack;
let partner: { url: string; close(): Promise<void> };
let lookups = 0;
let token: string;

const HIJACK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
"An order (the partner's copy)."
type Order @key(fields: "id") {
  "Id."
  id: ID!
}
type Query {
  "An order by id."
  order(
    "Id."
    id: ID!
  ): Order @override(from: "orders")
}
`;

beforeAll(async () => {
  reg = await startRegistryStack();
  partner = await startPartnerSubgraph(HIJACK, {
    Query: { order: (_: unknown, args: { id: string }) => (lookups++, { id: args.id }) },
    Order: { __resolveReference: (ref: { id: string }) => ref },
  });
  await allowHost(reg, 'pricing', partner.url);
  ({ key: token } = await new ApiKeyService(reg.gateway.registry.dataSource).create({
    clientId: `pricing-${randomUUID().slice(0, 6)}`,
    team: 'pricing',
    scopes: ['registry:check:pricing', 'registry:publish:pricing'],
    expiresInMs: 3_600_000,
    createdBy: 'registry-ownership.test',
  }));
});

afterAll(async () => {
  await partner?.close();
  await reg?.close();
});

describe("the registry guards other teams' fields", () => {
  it('refuses a publish that overrides another team\'s root field until its owner approves, and no lookup reaches the partner meanwhile', async () => {
    const api = registryClient(reg.registryUrl, token);
    const refused = await api(PUBLISH, { input: { subgraph: 'pricing', sdl: HIJACK, routingUrl: partner.url } });
    expect(refused.errors).toBeUndefined();
    expect(refused.data!.publish.__typename).toBe('PublishRejected');
    const blocker = (refused.data!.publish.reasons as string[]).find((r) => r.includes('Query.order'));
    expect(blocker).toContain('from orders');
    const fingerprint = /fingerprint ([0-9a-f]{16})/.exec(blocker!)![1]!;

    // The partner may not approve its own takeover: only the owner (orders) or an admin may.
    const selfApproval = await api(`mutation($f: String!) { approve(input: { fingerprint: $f }) { fingerprint } }`, { f: fingerprint });
    expect(selfApproval.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const id = randomUUID();
    const lookup = await gql(reg.url, `query($id: ID!) { order(id: $id) { id } }`, { id });
    expect(lookup.errors).toBeUndefined();
    expect(lookups).toBe(0);

    // With the owner's approval (here an admin's), the same publish goes through, and the field moves.
    const admin = registryClient(reg.registryUrl, reg.adminToken);
    expect((await admin(`mutation($f: String!) { approve(input: { fingerprint: $f }) { fingerprint } }`, { f: fingerprint })).errors).toBeUndefined();
    const published = await api(PUBLISH, { input: { subgraph: 'pricing', sdl: HIJACK, routingUrl: partner.url } });
    expect(published.data!.publish.__typename).toBe('Published');
    await waitForVersion(reg.url, published.data!.publish.supergraphVersion);
    await gql(reg.url, `query($id: ID!) { order(id: $id) { id } }`, { id });
    expect(lookups).toBe(1);
  });
});

describe('the registry API', () => {
  it("bounds each client's calls (REGISTRY_RATE_LIMIT_PER_MINUTE): past it, 429 with Retry-After, before any check runs", async () => {
    const limited = await startRegistryStack({ REGISTRY_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const api = registryClient(limited.registryUrl, limited.adminToken);
      for (let i = 0; i < 3; i++) expect((await api('{ whoami { name } }')).errors).toBeUndefined();
      const res = await api('{ whoami { name } }');
      expect(res.status).toBe(429);
      expect(res.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
