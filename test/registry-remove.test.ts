import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../registry/index.js';
import { errorCode, gql, uniq } from './client.js';
import { runScript } from './process.js';
import { allowHost, PUBLISH, registryClient, servedVersion, startRegistryStack, waitForVersion, type RegistryStack } from './registry-helpers.js';

/** `registry remove`: a subgraph leaves the supergraph through the same checks as a publish, with a history entry. */

let reg: RegistryStack;
let admin: ReturnType<typeof registryClient>;

const REMOVE = `mutation($input: RemoveSubgraphInput!) {
  removeSubgraph(input: $input) {
    __typename
    ... on Published { created supergraphVersion check { id ok } }
    ... on PublishRejected { reasons check { ok changes { coordinate criticality fingerprint usage { clientId } } } }
  }
}`;

const partnerSdl = (field: string) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query {
  "A partner's ping."
  ${field}: Boolean
}`;

beforeAll(async () => {
  reg = await startRegistryStack();
  admin = registryClient(reg.registryUrl, reg.adminToken);
});
afterAll(async () => {
  await reg?.close();
});

async function publishPartner(name: string, field: string, token: string): Promise<number> {
  await allowHost(reg, name, 'http://127.0.0.1:9/graphql');
  const res = await registryClient(reg.registryUrl, token)(PUBLISH, { input: { subgraph: name, routingUrl: 'http://127.0.0.1:9/graphql', sdl: partnerSdl(field) } });
  expect(res.errors).toBeUndefined();
  expect(res.data!.publish.__typename).toBe('Published');
  return res.data!.publish.supergraphVersion;
}

describe('removing a subgraph', () => {
  it('takes a partner subgraph out with its own publish scope, as a new supergraph version in the history; the gateway drops its fields', async () => {
    const name = uniq('partner').toLowerCase();
    const field = `${name}Ping`;
    const { key } = await new ApiKeyService(reg.gateway.registry.dataSource).create({ clientId: name, team: name, scopes: [`registry:publish:${name}`], expiresInMs: 3_600_000, createdBy: 'registry-remove.test' });
    await waitForVersion(reg.url, await publishPartner(name, field, key));

    const res = await registryClient(reg.registryUrl, key)(REMOVE, { input: { subgraph: name } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.removeSubgraph).toMatchObject({ __typename: 'Published', created: true, check: { ok: true } });
    const version = res.data!.removeSubgraph.supergraphVersion;

    const history = await admin('query($v: Int!) { supergraphVersion(version: $v) { reason members { subgraph } } }', { v: version });
    expect(history.data!.supergraphVersion.reason).toBe(`remove ${name}`);
    expect(history.data!.supergraphVersion.members.map((m: { subgraph: string }) => m.subgraph)).not.toContain(name);
    const subgraphs = await admin('{ subgraphs { name } }');
    expect(subgraphs.data!.subgraphs.map((s: { name: string }) => s.name)).not.toContain(name);

    await waitForVersion(reg.url, version);
    const gone = await gql(reg.url, `{ ${field} }`);
    expect(errorCode(gone)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(servedVersion(gone)).toBe(version);

    // Gone already: nothing to remove.
    const again = await registryClient(reg.registryUrl, key)(REMOVE, { input: { subgraph: name } });
    expect(errorCode(again)).toBe('NOT_FOUND');
  });

  it('refuses a key without that subgraph\'s publish scope, and a core subgraph to anyone but an admin, changing nothing', async () => {
    const before = (await admin('{ supergraphVersion { version } }')).data!.supergraphVersion.version;
    const keys = new ApiKeyService(reg.gateway.registry.dataSource);
    const other = await keys.create({ clientId: uniq('other').toLowerCase(), scopes: ['registry:publish:someone-else'], expiresInMs: 3_600_000, createdBy: 'registry-remove.test' });
    const wide = await keys.create({ clientId: uniq('wide').toLowerCase(), scopes: ['registry:publish:*'], expiresInMs: 3_600_000, createdBy: 'registry-remove.test' });
    const refused = await registryClient(reg.registryUrl, other.key)(REMOVE, { input: { subgraph: 'orders' } });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    const core = await registryClient(reg.registryUrl, wide.key)(REMOVE, { input: { subgraph: 'inventory' } });
    expect(errorCode(core)).toBe('FORBIDDEN');
    expect(core.errors![0]!.extensions!.reason).toBe('CORE_SUBGRAPH');
    expect((await admin('{ supergraphVersion { version } }')).data!.supergraphVersion.version).toBe(before);
  });

  it('blocks removing a subgraph whose fields a client uses, naming the client, until the change is approved', async () => {
    const name = uniq('partner').toLowerCase();
    const field = `${name}Used`;
    await waitForVersion(reg.url, await publishPartner(name, field, reg.adminToken));
    const client = uniq('app-').toLowerCase();
    // The partner's server is not running: the call fails, but the gateway records the usage all the same.
    await gql(reg.url, `query PartnerPing { ${field} }`, {}, { 'x-client-id': client });
    await reg.gateway.usage.flush();

    const refused = await admin(REMOVE, { input: { subgraph: name } });
    expect(refused.errors).toBeUndefined();
    expect(refused.data!.removeSubgraph.__typename).toBe('PublishRejected');
    const change = refused.data!.removeSubgraph.check.changes.find((c: { coordinate: string }) => c.coordinate === `Query.${field}`);
    expect(change).toMatchObject({ criticality: 'BREAKING', usage: [{ clientId: client }] });
    expect(refused.data!.removeSubgraph.reasons.join('\n')).toContain(client);

    await admin('mutation($f: String!) { approve(input: { fingerprint: $f, reason: "the app moved off it" }) { fingerprint } }', { f: change.fingerprint });
    const removed = await admin(REMOVE, { input: { subgraph: name } });
    expect(removed.data!.removeSubgraph.__typename).toBe('Published');
  });

  it('removes with the CLI (npm run omnistock -- registry remove), refusing what a client uses and naming it', async () => {
    const cli = (args: string[]) =>
      runScript('scripts/cli.ts', ['registry', ...args], { DB_PREFIX: reg.cfg.DB_PREFIX, REDIS_KEY_PREFIX: reg.cfg.REDIS_KEY_PREFIX, LOG_LEVEL: 'warn' }, 50_000);
    const name = uniq('partner').toLowerCase();
    const field = `${name}Cli`;
    await waitForVersion(reg.url, await publishPartner(name, field, reg.adminToken));
    const client = uniq('kiosk-').toLowerCase();
    await gql(reg.url, `query KioskPing { ${field} }`, {}, { 'x-client-id': client });
    await reg.gateway.usage.flush();

    const refused = await cli(['remove', name, '--local']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(client);
    expect(refused.stdout).toContain('not removed');

    const fingerprint = (await admin(REMOVE, { input: { subgraph: name } })).data!.removeSubgraph.check.changes.find((c: { coordinate: string }) => c.coordinate === `Query.${field}`).fingerprint;
    expect((await cli(['approve', fingerprint, '--reason', 'kiosk retired', '--local'])).code).toBe(0);
    const removed = await cli(['remove', name, '--local', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    const version = (JSON.parse(removed.stdout) as { supergraphVersion: number }).supergraphVersion;
    const history = await cli(['history', '--local', '--json']);
    expect(history.stdout).toContain(`remove ${name}`);
    await waitForVersion(reg.url, version);
    expect(errorCode(await gql(reg.url, `{ ${field} }`))).toBe('GRAPHQL_VALIDATION_FAILED');
  }, 240_000); // four CLI runs that load the registry (--local): tens of seconds each on a loaded machine
});
