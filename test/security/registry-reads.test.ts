import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK, issueKey, registryClient, repoSdl, startRegistryStack, type RegistryStack } from '../registry-helpers.js';

/**
 * #16 item 7 (reading): a partner key may read only what its scopes name. The attack: the pricing
 * team's key (check and publish `pricing`) asks for the composed supergraph, other teams' subgraphs
 * with their routing URLs (internal addresses), another team's check run, and every client's
 * trusted-document policy.
 */
let reg: RegistryStack;
let partner: ReturnType<typeof registryClient>;
let admin: ReturnType<typeof registryClient>;

const SUBGRAPHS = `{ subgraphs { name routingUrl } }`;

beforeAll(async () => {
  reg = await startRegistryStack();
  partner = registryClient(reg.registryUrl, await issueKey(reg, 'pricing', ['registry:check:pricing', 'registry:publish:pricing'], 'pricing'));
  admin = registryClient(reg.registryUrl, reg.adminToken);
});

afterAll(async () => {
  await reg?.close();
});

describe('reading the registry needs registry:read', () => {
  it("refuses a partner the supergraph and other teams' subgraphs, and lists only what it may read", async () => {
    for (const query of [
      `{ supergraphVersion { version sdl } }`,
      `{ supergraphVersions(first: 5) { version } }`,
      `{ subgraph(name: "orders") { name routingUrl } }`,
      `{ schemaVersions(subgraph: "inventory", first: 1) { version sdl } }`,
      `{ diff(from: 1, to: 1) { changes { message } } }`,
    ]) {
      const res = await partner(query);
      expect(res.errors?.[0]?.extensions, query).toMatchObject({ code: 'FORBIDDEN', action: 'READ' });
      expect(JSON.stringify(res.data ?? {}), query).not.toContain('http://');
    }
    const listed = await partner(SUBGRAPHS);
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.subgraphs).toEqual([]);
    expect((await admin(SUBGRAPHS)).data!.subgraphs.length).toBeGreaterThanOrEqual(5);
  });

  it("answers another team's check run as an unknown id, and shows only the partner's own", async () => {
    const theirs = await admin(CHECK, { input: { subgraph: 'orders', sdl: repoSdl('orders') } });
    expect(theirs.errors).toBeUndefined();
    const id = theirs.data!.check.id as string;
    expect((await partner(`query($id: ID!) { checkRun(id: $id) { id } }`, { id })).data!.checkRun).toBeNull();
    expect((await admin(`query($id: ID!) { checkRun(id: $id) { id } }`, { id })).data!.checkRun).toEqual({ id });
  });

  it('shows client policies only to those who manage that client', async () => {
    expect((await admin(`mutation { setClientPolicy(input: { client: "web-secret-app", policy: ALLOW }) { client } }`)).errors).toBeUndefined();
    expect((await admin(`{ clientPolicies { client } }`)).data!.clientPolicies).toContainEqual({ client: 'web-secret-app' });
    expect((await partner(`{ clientPolicies { client } }`)).data!.clientPolicies).toEqual([]);
  });

  it('lets registry:read:<subgraph> read that subgraph, and registry:read:* the supergraph', async () => {
    const issue = async (scopes: string[]) => registryClient(reg.registryUrl, await issueKey(reg, 'reader', scopes));
    const ordersReader = await issue(['registry:read:orders']);
    expect((await ordersReader(`{ subgraph(name: "orders") { name } }`)).data!.subgraph).toEqual({ name: 'orders' });
    expect((await ordersReader(SUBGRAPHS)).data!.subgraphs.map((s: { name: string }) => s.name)).toEqual(['orders']);
    expect((await ordersReader(`{ supergraphVersion { version } }`)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const everything = await issue(['registry:read:*']);
    expect((await everything(`{ supergraphVersion { version } }`)).errors).toBeUndefined();
  });
});
