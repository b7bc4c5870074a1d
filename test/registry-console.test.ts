import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountRegistryConsole } from '../registry/index.js';
import { errorCode, gql } from './client.js';
import { CHECK, issueKey, PUBLISH, registryClient, startPartnerSubgraph, startRegistryStack, waitForVersion, type RegistryStack } from './registry-helpers.js';

/**
 * The registry console (/registry) in headless Chromium against a registry-backed gateway, and the
 * registry API fields it reads (schemaTypes, fieldUsage, checkRuns, apiKeys, createApiKey,
 * revokeApiKey) with the scope attacks on each. Usage is real: operations sent through the
 * gateway with a client id, then flushed. Then environments (staging and production: the
 * header's selector, promote) and contracts (their page, keys on a contract), each refused to a
 * key without the scope.
 */

const SHOTS = 'test-results/registry-console';

let reg: RegistryStack;
let admin: ReturnType<typeof registryClient>;
let consoleUrl: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
/** Keys: reads inventory only; reads orders only; checks a partner subgraph only (reads nothing of ours). */
let inventoryReader: string;
let ordersReader: string;
let outsider: string;
/** Clients that used InventoryItem.description: `storefront` twice, `pos` once. */
const storefront = `console-store-${randomUUID().slice(0, 6)}`;
const pos = `console-pos-${randomUUID().slice(0, 6)}`;
/** The failed check (removing InventoryItem.description, which both clients used). */
let failedCheckId: string;
let failedFingerprint: string;

function edit(sdl: string, from: string, to: string): string {
  expect(sdl).toContain(from);
  return sdl.replace(from, to);
}

beforeAll(async () => {
  reg = await startRegistryStack();
  admin = registryClient(reg.registryUrl, reg.adminToken);
  consoleUrl = reg.registryUrl.replace(/\/graphql$/, '');
  inventoryReader = await issueKey(reg, 'console-reader', ['registry:read:inventory']);
  ordersReader = await issueKey(reg, 'console-orders', ['registry:read:orders']);
  outsider = await issueKey(reg, 'console-outsider', ['registry:check:partnerx']);

  // Usage: real operations through the gateway, with client ids.
  const use = (client: string, query: string) => gql(reg.url, query, {}, { 'x-client-id': client });
  await use(storefront, 'query ConsoleDescribe { inventoryItems(skus: ["NOPE"]) { sku description } }');
  await use(storefront, 'query ConsoleDescribe { inventoryItems(skus: ["NOPE"]) { sku description } }');
  await use(pos, 'query PosDescribe { inventoryItems(skus: ["NOPE"]) { description } }');
  await reg.gateway.usage.flush();

  // Inventory v2: a new field and a deprecation with a removal date (of StockLevel.qualityControl; both safe).
  const v1 = (await admin(`{ subgraph(name: "inventory") { currentSchema { version sdl } } }`)).data!.subgraph.currentSchema;
  let sdl = edit(v1.sdl, '  "GTIN/EAN/UPC barcode, when known."\n', '  "A note shown by the registry console test."\n  consoleNote: String\n  "GTIN/EAN/UPC barcode, when known."\n');
  sdl = edit(sdl, '"Held but in quality control; never sellable."\n  qualityControl: Int!', '"Held but in quality control; never sellable."\n  qualityControl: Int! @deprecated(reason: "Use `damaged`. Removal: 2028-01-01")');
  const published = await admin(PUBLISH, { input: { subgraph: 'inventory', sdl, commit: 'console-v2' } });
  expect(published.errors).toBeUndefined();
  expect(published.data!.publish.__typename).toBe('Published');
  expect(published.data!.publish.schemaVersion.version).toBe(v1.version + 1);

  // A failed check: removing description breaks both clients.
  const check = await admin(CHECK, { input: { subgraph: 'inventory', sdl: edit(sdl, '  "Longer description, when there is one."\n  description: String\n', '') } });
  expect(check.errors).toBeUndefined();
  expect(check.data!.check.ok).toBe(false);
  failedCheckId = check.data!.check.id;
  failedFingerprint = check.data!.check.changes.find((c: { coordinate: string }) => c.coordinate === 'InventoryItem.description').fingerprint;

  await mkdir(SHOTS, { recursive: true });
  browser = await launchBrowser();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  await reg?.close();
});

// ── the API ─────────────────────────────────────────────────────────────────────────────────

const TYPES = `{ schemaTypes { name kind subgraphs fields { name coordinate type description subgraphs deprecationReason removalDate } } }`;
const USAGE = `query($c: String!) { fieldUsage(coordinate: $c) { coordinate windowDays since total subgraphs clients { clientId operations { name hash count lastSeen } } } }`;
const RUNS = `query($s: String) { checkRuns(subgraph: $s, first: 50) { id subgraph kind ok actor blockers breakingChanges compositionErrors clients } }`;
const KEYS = `{ apiKeys { id clientId team scopes prefix createdBy revokedAt } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id clientId team scopes prefix createdBy expiresAt revokedAt } } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;

describe('registry API for the console', () => {
  it('schemaTypes: types and fields with their owners, descriptions and deprecations; a subgraph reader sees its own fields only', async () => {
    const all = await admin(TYPES);
    expect(all.errors).toBeUndefined();
    const item = all.data!.schemaTypes.find((t: { name: string }) => t.name === 'InventoryItem');
    expect(item).toMatchObject({ kind: 'OBJECT', subgraphs: expect.arrayContaining(['inventory']) });
    expect(item.fields.find((f: { name: string }) => f.name === 'consoleNote')).toMatchObject({
      coordinate: 'InventoryItem.consoleNote',
      type: 'String',
      description: 'A note shown by the registry console test.',
      subgraphs: ['inventory'],
      deprecationReason: null,
    });
    const level = all.data!.schemaTypes.find((t: { name: string }) => t.name === 'StockLevel');
    expect(level.fields.find((f: { name: string }) => f.name === 'qualityControl')).toMatchObject({ deprecationReason: 'Use `damaged`. Removal: 2028-01-01', removalDate: '2028-01-01' });
    const order = all.data!.schemaTypes.find((t: { name: string }) => t.name === 'Order');
    expect(order.subgraphs).toContain('orders');

    const orders = await registryClient(reg.registryUrl, ordersReader)(TYPES);
    expect(orders.errors).toBeUndefined();
    const names = orders.data!.schemaTypes.map((t: { name: string }) => t.name);
    expect(names).toContain('Order');
    const coordinates = orders.data!.schemaTypes.flatMap((t: { fields: { coordinate: string }[] }) => t.fields.map((f) => f.coordinate));
    expect(coordinates).not.toContain('InventoryItem.description');
    expect(coordinates.length).toBeGreaterThan(0);
    for (const t of orders.data!.schemaTypes) for (const f of t.fields) expect(f.subgraphs).toContain('orders');

    const none = await registryClient(reg.registryUrl, outsider)(TYPES);
    expect(none.data!.schemaTypes).toEqual([]);
  });

  it('fieldUsage: executions of the usage window by client and operation, only for a reader of the owning subgraph', async () => {
    const res = await admin(USAGE, { c: 'InventoryItem.description' });
    expect(res.errors).toBeUndefined();
    const usage = res.data!.fieldUsage;
    expect(usage).toMatchObject({ coordinate: 'InventoryItem.description', windowDays: reg.cfg.REGISTRY_USAGE_WINDOW_DAYS, subgraphs: ['inventory'] });
    const ours = usage.clients.filter((c: { clientId: string }) => [storefront, pos].includes(c.clientId));
    expect(ours.map((c: { clientId: string }) => c.clientId)).toEqual([storefront, pos]);
    expect(ours[0].operations).toEqual([expect.objectContaining({ name: 'ConsoleDescribe', count: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    expect(ours[1].operations).toEqual([expect.objectContaining({ name: 'PosDescribe', count: 1 })]);
    expect(usage.total).toBeGreaterThanOrEqual(3);
    // A field nobody used.
    expect((await admin(USAGE, { c: 'InventoryItem.consoleNote' })).data!.fieldUsage).toMatchObject({ total: 0, clients: [] });

    const reader = await registryClient(reg.registryUrl, inventoryReader)(USAGE, { c: 'InventoryItem.description' });
    expect(reader.data!.fieldUsage.clients.map((c: { clientId: string }) => c.clientId)).toEqual(expect.arrayContaining([storefront, pos]));
    for (const key of [ordersReader, outsider]) {
      const refused = await registryClient(reg.registryUrl, key)(USAGE, { c: 'InventoryItem.description' });
      expect(errorCode(refused)).toBe('FORBIDDEN');
      expect(refused.data).toBeNull();
    }
    expect(errorCode(await admin(USAGE, { c: 'InventoryItem.nope' }))).toBe('NOT_FOUND');
    expect(errorCode(await admin(USAGE, { c: 'not a coordinate' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await registryClient(reg.registryUrl, null)(USAGE, { c: 'InventoryItem.description' }))).toBe('UNAUTHENTICATED');
  });

  it('checkRuns: newest first with verdicts and the clients affected, only of subgraphs the caller may read', async () => {
    const res = await admin(RUNS, { s: 'inventory' });
    expect(res.errors).toBeUndefined();
    const [newest] = res.data!.checkRuns;
    expect(newest).toMatchObject({ id: failedCheckId, subgraph: 'inventory', kind: 'CHECK', ok: false, breakingChanges: 1, compositionErrors: 0 });
    expect(newest.clients).toEqual(expect.arrayContaining([storefront, pos]));
    expect(newest.blockers.join(' ')).toContain('InventoryItem.description');
    // The publish's own check run is listed too.
    expect(res.data!.checkRuns.some((r: { kind: string; ok: boolean }) => r.kind === 'PUBLISH' && r.ok)).toBe(true);

    const reader = await registryClient(reg.registryUrl, inventoryReader)(RUNS, {});
    expect(reader.data!.checkRuns.map((r: { id: string }) => r.id)).toContain(failedCheckId);
    const orders = await registryClient(reg.registryUrl, ordersReader)(RUNS, {});
    expect(orders.errors).toBeUndefined();
    expect(orders.data!.checkRuns.map((r: { id: string }) => r.id)).not.toContain(failedCheckId);
    expect(errorCode(await registryClient(reg.registryUrl, outsider)(RUNS, { s: 'inventory' }))).toBe('FORBIDDEN');
  });

  it('apiKeys, createApiKey and revokeApiKey: admins only, nothing written for anyone else, no scope escalation, the secret shown once', async () => {
    const before = (await admin(KEYS)).data!.apiKeys;
    const victim = before.find((k: { clientId: string }) => k.clientId.startsWith('console-reader-'));
    expect(victim).toBeDefined();
    for (const key of [inventoryReader, outsider]) {
      const client = registryClient(reg.registryUrl, key);
      const list = await client(KEYS);
      expect(errorCode(list)).toBe('FORBIDDEN');
      expect(list.data).toBeNull();
      const created = await client(CREATE_KEY, { input: { clientId: 'sneaky', scopes: ['registry:admin'] } });
      expect(errorCode(created)).toBe('FORBIDDEN');
      const revoked = await client(REVOKE_KEY, { id: victim.id });
      expect(errorCode(revoked)).toBe('FORBIDDEN');
    }
    const after = (await admin(KEYS)).data!.apiKeys;
    expect(after.length).toBe(before.length);
    expect(after.find((k: { id: string }) => k.id === victim.id).revokedAt).toBeNull();
    expect(after.some((k: { clientId: string }) => k.clientId === 'sneaky')).toBe(false);
    // The victim still works.
    expect((await registryClient(reg.registryUrl, inventoryReader)('{ whoami { name } }')).errors).toBeUndefined();

    // A registry admin grants registry scopes, not gateway scopes it does not hold.
    const escalation = await admin(CREATE_KEY, { input: { clientId: 'escalate', scopes: ['registry:read:*', 'inventory:write'] } });
    expect(errorCode(escalation)).toBe('FORBIDDEN');
    expect(escalation.errors![0]!.extensions!.reason).toBe('SCOPE_ESCALATION');
    expect((await admin(KEYS)).data!.apiKeys.length).toBe(before.length);
    expect(errorCode(await admin(CREATE_KEY, { input: { clientId: 'bad client id!', scopes: ['registry:read:*'] } }))).toBe('BAD_USER_INPUT');

    const created = await admin(CREATE_KEY, { input: { clientId: 'console-api-made', team: 'pricing', scopes: ['registry:read:inventory'], expiresInDays: 7 } });
    expect(created.errors).toBeUndefined();
    const { key, apiKey } = created.data!.createApiKey;
    expect(key).toMatch(/^osk_/);
    expect(apiKey).toMatchObject({ clientId: 'console-api-made', team: 'pricing', scopes: ['registry:read:inventory'], prefix: key.slice(0, 12), revokedAt: null });
    expect(apiKey.createdBy).toMatch(/^operators\//);
    expect(JSON.stringify((await admin(KEYS)).data)).not.toContain(key);
    expect((await registryClient(reg.registryUrl, key)('{ whoami { clientId } }')).data!.whoami.clientId).toBe('console-api-made');

    const revoked = await admin(REVOKE_KEY, { id: apiKey.id });
    expect(revoked.data!.revokeApiKey.revokedAt).toBeTruthy();
    expect(errorCode(await registryClient(reg.registryUrl, key)('{ whoami { clientId } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await admin(REVOKE_KEY, { id: randomUUID() }))).toBe('NOT_FOUND');
  });
});

// ── serving ─────────────────────────────────────────────────────────────────────────────────

describe('/registry', () => {
  it('serves the page and its bundle from the gateway under a strict CSP, with no inline script or style', async () => {
    const page = await fetch(consoleUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/registry/assets/console.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);

    const js = await fetch(`${consoleUrl}/assets/console.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await js.text()).length).toBeGreaterThan(1000);
    expect((await fetch(`${consoleUrl}/assets/console.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetch(`${consoleUrl}/assets/..%2F..%2Froutes.ts`)).status).toBe(404);
    expect((await fetch(`${consoleUrl}/assets/other.js`)).status).toBe(404);
  });

  it('answers 503 naming npm run build:console when the bundle was not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'omnistock-console-'));
    const app = Fastify();
    mountRegistryConsole(app, { dist: pathToFileURL(`${empty}/`) });
    try {
      for (const url of ['/registry', '/registry/assets/console.js']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(503);
        expect(res.body).toContain('npm run build:console');
      }
    } finally {
      await app.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

// ── the console in Chromium ─────────────────────────────────────────────────────────────────

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel('API key or JWT').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Registry sections' }).waitFor();
}

/** Goes to a console route in the signed-in tab (the credential stays in sessionStorage). */
async function go(page: Page, route: string): Promise<void> {
  await page.evaluate(
    (r) =>
      new Promise<void>((resolve) => {
        // Resolves once the page has rendered the new route (its old content is gone).
        addEventListener('hashchange', () => setTimeout(resolve, 50), { once: true });
        location.hash = r;
      }),
    route,
  );
}

async function refusal(page: Page): Promise<string> {
  const alert = page.locator('[role="alert"][data-code]').first();
  await alert.waitFor();
  return (await alert.getAttribute('data-code')) ?? '';
}

describe('the registry console in Chromium', () => {
  it('signs in with a key (refusing an unknown one), keeps it for the tab only, and signs out', async () => {
    const page = await context.newPage();
    try {
      await page.goto(consoleUrl);
      // Keyboard only: the field has focus order, Enter submits.
      await page.getByLabel('API key or JWT').focus();
      await page.keyboard.type('osk_not-a-key-of-this-registry');
      await page.keyboard.press('Enter');
      expect(await refusal(page)).toBe('UNAUTHENTICATED');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      await page.screenshot({ path: `${SHOTS}/sign-in-refused.png`, fullPage: true });

      await signIn(page, reg.adminToken);
      await expect.poll(() => page.getByTestId('who').textContent()).toMatch(/^operators\//);
      const nav = page.getByRole('navigation', { name: 'Registry sections' });
      for (const name of ['Schema explorer', 'Subgraphs', 'Checks', 'API keys', 'Trusted documents', 'First steps']) await nav.getByRole('link', { name }).waitFor();
      expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([reg.adminToken]);
      expect(page.url()).not.toContain(reg.adminToken);
      await page.screenshot({ path: `${SHOTS}/signed-in.png`, fullPage: true });

      // A reload keeps the tab signed in; signing out forgets the key.
      await page.reload();
      await nav.waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API key or JWT').waitFor();
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('browses a field: its owner, deprecations with removal dates, and its usage by client and operation', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await go(page, '#/explorer/StockLevel');
      const deprecated = page.locator('tr[data-coordinate="StockLevel.qualityControl"]');
      await expect.poll(() => deprecated.textContent()).toContain('removal 2028-01-01');

      await go(page, '#/explorer');
      await page.getByLabel('Find a type or field').fill('InventoryItem');
      await page.getByRole('navigation', { name: 'Types' }).getByRole('link', { name: 'InventoryItem', exact: true }).click();
      const row = page.locator('tr[data-coordinate="InventoryItem.description"]');
      await expect.poll(() => row.textContent()).toContain('inventory');
      // Keyboard: focus the usage link and follow it with Enter.
      await row.getByRole('link', { name: 'Usage of InventoryItem.description' }).focus();
      await page.keyboard.press('Enter');
      const usage = page.getByTestId('field-usage');
      const store = usage.locator(`tr[data-client="${storefront}"]`);
      await expect.poll(() => store.textContent()).toContain('ConsoleDescribe');
      expect(await store.locator('td.num').textContent()).toBe('2');
      expect(await usage.locator(`tr[data-client="${pos}"]`).textContent()).toContain('PosDescribe');
      await page.screenshot({ path: `${SHOTS}/field-usage.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('opens a failed check, sees the clients it would break, and approves the change as admin', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await go(page, '#/checks');
      const listed = page.locator(`tr[data-check="${failedCheckId}"]`);
      await expect.poll(() => listed.textContent()).toContain('failed');
      expect(await listed.textContent()).toContain(storefront);
      await listed.getByRole('link').click();
      await expect.poll(() => page.getByTestId('verdict').textContent()).toContain('Failed');
      const change = page.locator(`tr[data-change="${failedFingerprint}"]`);
      expect(await change.getAttribute('data-criticality')).toBe('BREAKING');
      expect(await change.locator(`li[data-client="${storefront}"]`).textContent()).toContain('ConsoleDescribe (2)');
      expect(await change.locator(`li[data-client="${pos}"]`).textContent()).toContain('PosDescribe (1)');
      await page.screenshot({ path: `${SHOTS}/failed-check.png`, fullPage: true });

      await change.getByLabel('Reason').fill('storefront moved to name');
      await change.getByRole('button', { name: 'Approve the change to InventoryItem.description' }).click();
      await expect.poll(() => change.getByTestId('approval').textContent()).toMatch(/Approved by operators\/.*\(pending\)/);
      // The subgraph's approvals, by fingerprint.
      await expect.poll(() => page.locator(`tr[data-approval="${failedFingerprint}"]`).textContent()).toContain('storefront moved to name');
      const approvals = await admin(`{ approvals(subgraph: "inventory") { fingerprint approvedBy reason } }`);
      expect(approvals.data!.approvals).toContainEqual(expect.objectContaining({ fingerprint: failedFingerprint, reason: 'storefront moved to name' }));
      await page.screenshot({ path: `${SHOTS}/approved.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('reads a version diff side by side', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await go(page, '#/subgraphs');
      await page.getByRole('link', { name: 'inventory', exact: true }).click();
      const versions = (await admin(`{ schemaVersions(subgraph: "inventory", first: 2) { version } }`)).data!.schemaVersions.map((v: { version: number }) => v.version);
      await page.locator(`tr[data-version="${versions[0]}"]`).waitFor();
      await page.getByLabel('From', { exact: true }).selectOption(String(versions[1]));
      await page.getByLabel('To', { exact: true }).selectOption(String(versions[0]));
      await page.getByRole('button', { name: 'Show diff' }).click();
      const diff = page.getByTestId('version-diff');
      await diff.locator('td.code.add').first().waitFor();
      const added = (await diff.locator('td.code.add').allTextContents()).join('\n');
      expect(added).toContain('consoleNote: String');
      expect(added).toContain('Removal: 2028-01-01');
      const removed = (await diff.locator('td.code.del').allTextContents()).join('\n');
      expect(removed).toContain('qualityControl: Int!');
      expect(await diff.textContent()).toContain('FIELD_ADDED');
      await page.screenshot({ path: `${SHOTS}/version-diff.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('creates a key (its secret shown once) and revokes it', async () => {
    const page = await context.newPage();
    const client = `console-ui-${randomUUID().slice(0, 6)}`;
    try {
      await signIn(page, reg.adminToken);
      await go(page, '#/keys');
      await page.getByLabel('Client id').fill(client);
      await page.getByLabel('Team (owns what it publishes)').fill('pricing');
      await page.getByLabel('Scopes (space or comma separated)').fill('registry:check:pricing registry:publish:pricing');
      await page.getByLabel('Expires in days (empty: never)').fill('30');
      await page.getByRole('button', { name: 'Issue key' }).click();
      const secret = (await page.getByTestId('new-key').textContent({ timeout: 30_000 }))!.trim();
      expect(secret).toMatch(/^osk_/);
      const whoami = await registryClient(reg.registryUrl, secret)('{ whoami { clientId team scopes } }');
      expect(whoami.data!.whoami).toEqual({ clientId: client, team: 'pricing', scopes: ['registry:check:pricing', 'registry:publish:pricing'] });
      const row = page.locator(`tr[data-client="${client}"]`);
      await row.waitFor();
      await page.screenshot({ path: `${SHOTS}/key-created.png`, fullPage: true });

      await row.getByRole('button', { name: /^Revoke key osk_/ }).click();
      await expect.poll(() => row.getAttribute('data-revoked')).toBe('true');
      expect(errorCode(await registryClient(reg.registryUrl, secret)('{ whoami { clientId } }'))).toBe('UNAUTHENTICATED');
      // Shown once: back on the page, only its prefix is left.
      await go(page, '#/start');
      await go(page, '#/keys');
      await row.waitFor();
      expect(await page.content()).not.toContain(secret.slice(12));
      await page.screenshot({ path: `${SHOTS}/key-revoked.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('rolls a subgraph back as admin, through the checks of a publish', async () => {
    const page = await context.newPage();
    try {
      const [current] = (await admin(`{ schemaVersions(subgraph: "inventory", first: 1) { version } }`)).data!.schemaVersions;
      await signIn(page, reg.adminToken);
      await go(page, '#/subgraphs/inventory');
      await page.getByRole('button', { name: `Roll back inventory to version ${current.version - 1}` }).click();
      await page.getByRole('button', { name: `Confirm rollback to v${current.version - 1}` }).click();
      await page.getByText(`Rolled back: published as v${current.version + 1}`).waitFor();
      const [newest] = (await admin(`{ schemaVersions(subgraph: "inventory", first: 1) { version commit } }`)).data!.schemaVersions;
      expect(newest).toEqual({ version: current.version + 1, commit: `rollback to v${current.version - 1} (supergraph.yaml)` });
      await page.locator(`tr[data-version="${current.version + 1}"]`).waitFor();
      await page.screenshot({ path: `${SHOTS}/rolled-back.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('registers and removes a client\'s trusted documents with its documents scope; refuses another key', async () => {
    const client = `console-docs-${randomUUID().slice(0, 6)}`;
    const manager = await issueKey(reg, 'console-docs', [`registry:documents:${client}`]);
    const page = await context.newPage();
    try {
      await signIn(page, manager);
      const nav = page.getByRole('navigation', { name: 'Registry sections' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Trusted documents', 'First steps']);
      await go(page, '#/documents');
      await page.getByLabel('Document (exactly as the client sends it)').fill('query ConsoleDoc { inventoryItems(skus: ["A"]) { sku } }');
      await page.getByLabel('App version or list name').fill('1.0.0');
      await page.getByRole('button', { name: 'Register' }).click();
      const row = page.locator('tbody tr', { hasText: 'ConsoleDoc' });
      await row.waitFor();
      expect(await row.textContent()).toContain('1.0.0');
      const listed = await registryClient(reg.registryUrl, manager)(`query($c: String) { trustedDocuments(client: $c) { id operationNames } }`, { c: client });
      expect(listed.data!.trustedDocuments).toEqual([expect.objectContaining({ operationNames: ['ConsoleDoc'] })]);
      await page.screenshot({ path: `${SHOTS}/documents.png`, fullPage: true });
      await row.getByRole('button', { name: /^Remove document sha256:/ }).click();
      await expect.poll(() => row.count()).toBe(0);
      expect((await registryClient(reg.registryUrl, manager)(`query($c: String) { trustedDocuments(client: $c) { id } }`, { c: client })).data!.trustedDocuments).toEqual([]);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, outsider);
      await go(page, `#/documents?client=${client}`);
      expect(await refusal(page)).toBe('FORBIDDEN');
      const refused = await registryClient(reg.registryUrl, outsider)(`mutation($i: PublishDocumentsInput!) { publishDocuments(input: $i) { created } }`, {
        i: { client, documents: [{ body: 'query Sneaky { inventoryItems(skus: ["A"]) { sku } }' }] },
      });
      expect(errorCode(refused)).toBe('FORBIDDEN');
    } finally {
      await page.close();
    }
  });

  it('refuses each of them to a key without the scope: the page shows the refusal, the API answers FORBIDDEN', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, outsider);
      const nav = page.getByRole('navigation', { name: 'Registry sections' });
      // Its check scope on a partner subgraph lets it read that subgraph: no keys, no documents.
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Schema explorer', 'Subgraphs', 'Checks', 'First steps']);

      await go(page, '#/explorer/InventoryItem/description');
      expect(await refusal(page)).toBe('FORBIDDEN');
      expect(await page.getByTestId('field-usage').textContent()).toContain('registry:read:inventory');
      await page.screenshot({ path: `${SHOTS}/refused-usage.png`, fullPage: true });

      await go(page, '#/checks?subgraph=inventory');
      expect(await refusal(page)).toBe('FORBIDDEN');
      await go(page, `#/checks/${failedCheckId}`);
      await page.getByText(`No check run ${failedCheckId} that you may read.`).waitFor();

      await go(page, '#/subgraphs/inventory');
      expect(await refusal(page)).toBe('FORBIDDEN');
      await page.screenshot({ path: `${SHOTS}/refused-diff.png`, fullPage: true });

      await go(page, '#/keys');
      expect(await refusal(page)).toBe('FORBIDDEN');
      expect(await page.locator('[role="alert"]').first().textContent()).toContain('registry:admin');
      await page.screenshot({ path: `${SHOTS}/refused-keys.png`, fullPage: true });

      const api = registryClient(reg.registryUrl, outsider);
      expect(errorCode(await api(`query($s: String!) { schemaVersions(subgraph: $s) { version } }`, { s: 'inventory' }))).toBe('FORBIDDEN');
      expect(errorCode(await api(`{ diff(subgraph: "inventory", from: 1, to: 2) { changes { type } } }`))).toBe('FORBIDDEN');
      expect(errorCode(await api(`mutation($f: String!) { approve(input: { fingerprint: $f }) { fingerprint } }`, { f: failedFingerprint }))).toBe('FORBIDDEN');

      // A reader of inventory sees the failed check but may not approve it.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, inventoryReader);
      await go(page, `#/checks/${failedCheckId}`);
      const change = page.locator(`tr[data-change="${failedFingerprint}"]`);
      await change.waitFor();
      expect(await change.locator(`li[data-client="${storefront}"]`).count()).toBe(1);
      expect(await change.getByRole('button', { name: /Approve/ }).count()).toBe(0);
      await page.screenshot({ path: `${SHOTS}/reader-check.png`, fullPage: true });
      const readerApprove = await registryClient(reg.registryUrl, inventoryReader)(`mutation($f: String!) { approve(input: { fingerprint: $f }) { fingerprint } }`, { f: failedFingerprint });
      expect(errorCode(readerApprove)).toBe('FORBIDDEN');
      // Nor roll back: no rollback column for a non-admin.
      await go(page, '#/subgraphs/inventory');
      await page.getByRole('button', { name: 'Show diff' }).waitFor();
      expect(await page.getByRole('button', { name: /Roll back/ }).count()).toBe(0);
    } finally {
      await page.close();
    }
  });
});

// ── environments and contracts ──────────────────────────────────────────────────────────────

const CONSOLE_PARTNER = `consolep${randomUUID().slice(0, 6)}`;
const PING_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
"The console partner's root fields."
type Query {
  "Answers true."
  consolePing: Boolean
}
`;
const PONG_SDL = PING_SDL.replace('  consolePing: Boolean\n', '  consolePing: Boolean\n  "Answers pong."\n  consolePong: String\n');
const PONG_ONLY_SDL = PONG_SDL.replace('  "Answers true."\n  consolePing: Boolean\n', '');
const CONTRACT_NAME = `console-${randomUUID().slice(0, 6)}`;

async function currentIn(subgraph: string, environment: string): Promise<number | null> {
  const res = await admin('query($s: String!, $e: String) { subgraph(name: $s, environment: $e) { currentVersion } }', { s: subgraph, e: environment });
  expect(res.errors).toBeUndefined();
  return res.data!.subgraph?.currentVersion ?? null;
}

describe('environments and contracts in the console', () => {
  let partner: Awaited<ReturnType<typeof startPartnerSubgraph>>;
  /** The check run of the publish to staging. */
  let stagingCheckId: string;
  /** A client that used consolePing through production's gateway. */
  const pingClient = `console-prod-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    partner = await startPartnerSubgraph(PONG_SDL, { Query: { consolePing: () => true, consolePong: () => 'pong' } });
    const v1 = await admin(PUBLISH, { input: { subgraph: CONSOLE_PARTNER, sdl: PING_SDL, routingUrl: partner.url, commit: 'console-env-v1' } });
    expect(v1.data!.publish).toMatchObject({ __typename: 'Published', schemaVersion: { version: 1 } });
    await waitForVersion(reg.url, v1.data!.publish.supergraphVersion);
    const v2 = await admin(PUBLISH, { input: { subgraph: CONSOLE_PARTNER, sdl: PONG_SDL, routingUrl: partner.url, commit: 'console-env-v2', environment: 'staging' } });
    expect(v2.errors).toBeUndefined();
    expect(v2.data!.publish).toMatchObject({ __typename: 'Published', schemaVersion: { version: 2 } });
    stagingCheckId = v2.data!.publish.check.id;
  });

  afterAll(async () => {
    await partner?.close();
  });

  it('checkRuns: of one environment when named, each naming its environment; an unknown one is BAD_USER_INPUT', async () => {
    const res = await admin(`query($s: String, $e: String) { checkRuns(subgraph: $s, environment: $e) { id environment kind } }`, { s: CONSOLE_PARTNER, e: 'staging' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.checkRuns).toEqual([{ id: stagingCheckId, environment: 'staging', kind: 'PUBLISH' }]);
    const production = await admin(`query($s: String) { checkRuns(subgraph: $s, environment: "production") { id environment } }`, { s: CONSOLE_PARTNER });
    expect(production.data!.checkRuns.map((r: { id: string }) => r.id)).not.toContain(stagingCheckId);
    expect(production.data!.checkRuns.every((r: { environment: string }) => r.environment === 'production')).toBe(true);
    const all = await admin(`query($s: String) { checkRuns(subgraph: $s) { id environment } }`, { s: CONSOLE_PARTNER });
    expect(all.data!.checkRuns.map((r: { environment: string }) => r.environment).sort()).toEqual(['production', 'staging']);
    expect(errorCode(await admin(`{ checkRuns(environment: "nope") { id } }`))).toBe('BAD_USER_INPUT');
  });

  it('switches environment in the header: staging shows the version published there, its checks; the choice is kept for the tab', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await go(page, `#/subgraphs/${CONSOLE_PARTNER}`);
      // Waits for the text (a reload renders the page again: a poll of textContent could read it mid-render).
      const current = page.getByTestId('current-version');
      await current.filter({ hasText: 'current version v1' }).waitFor();
      expect(await current.textContent()).toContain('In production');
      const picker = page.getByLabel('Environment', { exact: true });
      expect(await picker.inputValue()).toBe('production');
      expect(await picker.locator('option').allTextContents()).toEqual(['staging', 'production']);
      // Keyboard: focus the selector and pick staging.
      await picker.focus();
      await picker.selectOption('staging');
      await current.filter({ hasText: 'current version v2' }).waitFor();
      expect(await current.textContent()).toContain('In staging');
      expect(await page.evaluate(() => sessionStorage.getItem('omnistock.registry.environment'))).toBe('staging');
      await page.screenshot({ path: `${SHOTS}/environment-staging.png`, fullPage: true });

      // Checks follow it: the publish to staging is listed in staging only.
      await go(page, `#/checks?subgraph=${CONSOLE_PARTNER}`);
      await page.locator(`tr[data-check="${stagingCheckId}"]`).waitFor();
      await page.locator(`tr[data-check="${stagingCheckId}"]`).getByRole('link').click();
      await expect.poll(() => page.getByTestId('check-environment').textContent()).toBe('staging');

      // Kept across a reload; production again shows v1 and no staging check.
      await page.reload();
      await go(page, `#/subgraphs/${CONSOLE_PARTNER}`);
      await current.filter({ hasText: 'current version v2' }).waitFor();
      await picker.selectOption('production');
      await current.filter({ hasText: 'current version v1' }).waitFor();
      await go(page, `#/checks?subgraph=${CONSOLE_PARTNER}`);
      await page.getByRole('table', { name: 'Check runs in production' }).waitFor();
      expect(await page.locator(`tr[data-check="${stagingCheckId}"]`).count()).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('promotes from staging to production as admin: production\'s gateway then serves it; a promotion its check refuses shows that check', async () => {
    expect(errorCode(await gql(reg.url, '{ consolePong }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await page.getByLabel('Environment', { exact: true }).selectOption('staging');
      await go(page, `#/subgraphs/${CONSOLE_PARTNER}`);
      await expect.poll(() => page.getByTestId('current-version').textContent()).toContain('current version v2');
      expect(await page.getByLabel('Promote to').inputValue()).toBe('production');
      await page.getByRole('button', { name: 'Promote to production' }).click();
      await page.getByText('Promoted to production: v2').waitFor();
      expect(await currentIn(CONSOLE_PARTNER, 'production')).toBe(2);
      const [latest] = (await admin('{ supergraphVersions(first: 1) { version reason } }')).data!.supergraphVersions;
      expect(latest.reason).toContain(`promote ${CONSOLE_PARTNER} v2`);
      await waitForVersion(reg.url, latest.version);
      const served = await gql(reg.url, '{ consolePong }');
      expect(served.errors).toBeUndefined();
      expect(served.data).toEqual({ consolePong: 'pong' });
      await page.screenshot({ path: `${SHOTS}/promoted.png`, fullPage: true });

      // A production client uses consolePing; staging drops it (approved in staging only): production's check refuses the promotion.
      const client = pingClient;
      expect((await gql(reg.url, 'query ConsolePing { consolePing }', {}, { 'x-client-id': client })).errors).toBeUndefined();
      await reg.gateway.usage.flush();
      const check = await admin(CHECK, { input: { subgraph: CONSOLE_PARTNER, sdl: PONG_ONLY_SDL, environment: 'staging' } });
      const change = check.data!.check.changes.find((c: { coordinate: string }) => c.coordinate === 'Query.consolePing');
      expect(change).toMatchObject({ criticality: 'BREAKING' });
      expect((await admin('mutation($f: String!) { approve(input: { fingerprint: $f, environment: "staging" }) { environment } }', { f: change.fingerprint })).errors).toBeUndefined();
      const v3 = await admin(PUBLISH, { input: { subgraph: CONSOLE_PARTNER, sdl: PONG_ONLY_SDL, environment: 'staging' } });
      expect(v3.data!.publish).toMatchObject({ __typename: 'Published', schemaVersion: { version: 3 } });

      await go(page, '#/subgraphs');
      await go(page, `#/subgraphs/${CONSOLE_PARTNER}`);
      await expect.poll(() => page.getByTestId('current-version').textContent()).toContain('current version v3');
      await page.getByRole('button', { name: 'Promote to production' }).click();
      const refused = page.getByTestId('publish-refused');
      await expect.poll(() => refused.textContent()).toContain('Promotion refused by its check');
      expect(await refused.textContent()).toContain('consolePing');
      expect(await currentIn(CONSOLE_PARTNER, 'production')).toBe(2);
      await page.screenshot({ path: `${SHOTS}/promotion-refused.png`, fullPage: true });
      // Its check: production's, naming the client it would break.
      await refused.getByRole('link').click();
      await expect.poll(() => page.getByTestId('check-environment').textContent()).toBe('production');
      expect(await page.locator(`tr[data-change="${change.fingerprint}"] li[data-client="${client}"]`).textContent()).toContain('ConsolePing (1)');
    } finally {
      await page.close();
    }
  });

  it('creates a contract on the Contracts page and shows its schema and history; one that does not compose is refused with its errors', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await page.getByRole('navigation', { name: 'Registry sections' }).getByRole('link', { name: 'Contracts' }).click();
      await page.getByLabel('Name (lower-case letters, digits, _ and -)').fill('console-empty');
      await page.getByLabel(/^Include tags/).fill('nothing-has-this');
      await page.getByRole('button', { name: 'Create contract' }).click();
      const rejected = page.getByTestId('contract-rejected');
      await expect.poll(() => rejected.textContent()).toContain('does not compose');
      expect((await admin('{ contract(name: "console-empty") { name } }')).data!.contract).toBeNull();
      await page.screenshot({ path: `${SHOTS}/contract-rejected.png`, fullPage: true });

      await page.getByLabel('Name (lower-case letters, digits, _ and -)').fill(CONTRACT_NAME);
      await page.getByLabel(/^Include tags/).fill('');
      await page.getByLabel(/^Exclude tags/).fill('internal');
      await page.getByLabel('Description').fill('Partner apps');
      await page.getByRole('button', { name: 'Create contract' }).click();
      const sdl = page.getByTestId('contract-sdl');
      await expect.poll(() => sdl.textContent(), { timeout: 30_000 }).toContain('consolePong: String');
      const stored = (await admin('query($n: String!) { contract(name: $n) { excludeTags description history(first: 1) { supergraphVersion hash sdl } } }', { n: CONTRACT_NAME })).data!.contract;
      expect(stored).toMatchObject({ excludeTags: ['internal'], description: 'Partner apps' });
      expect(await page.getByTestId('contract-sdl-hash').textContent()).toBe(stored.history[0].hash);
      expect(await page.locator(`tr[data-supergraph-version="${stored.history[0].supergraphVersion}"]`).count()).toBe(1);
      await page.screenshot({ path: `${SHOTS}/contract.png`, fullPage: true });

      await go(page, '#/contracts');
      const row = page.locator(`tr[data-contract="${CONTRACT_NAME}"]`);
      await expect.poll(() => row.textContent()).toContain('internal');
      expect(await row.getByTestId('contract-hash').textContent()).toContain(stored.history[0].hash.slice(0, 12));
      expect(await row.textContent()).toContain('Partner apps');

      // A check shows each contract's composition and changes beside the supergraph's: removing consolePing breaks its client in the contract too.
      const check = await admin(CHECK, { input: { subgraph: CONSOLE_PARTNER, sdl: PONG_ONLY_SDL } });
      expect(check.data!.check.ok).toBe(false);
      const fingerprint = check.data!.check.changes.find((c: { coordinate: string }) => c.coordinate === 'Query.consolePing').fingerprint;
      await go(page, `#/checks/${check.data!.check.id}`);
      const inContract = page.locator(`section[data-contract="${CONTRACT_NAME}"]`);
      await expect.poll(() => inContract.textContent()).toContain(`Contract ${CONTRACT_NAME} still composes.`);
      const contractChange = inContract.locator(`tr[data-contract-change="${fingerprint}"]`);
      expect(await contractChange.getAttribute('data-criticality')).toBe('BREAKING');
      expect(await contractChange.locator(`li[data-client="${pingClient}"]`).textContent()).toContain('ConsolePing (1)');
      expect(await page.locator(`tr[data-change="${fingerprint}"]`).getAttribute('data-criticality')).toBe('BREAKING');
      await page.screenshot({ path: `${SHOTS}/check-contracts.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('issues a key on a contract, listed with it', async () => {
    const page = await context.newPage();
    const client = `console-contract-${randomUUID().slice(0, 6)}`;
    try {
      await signIn(page, reg.adminToken);
      await go(page, '#/keys');
      await page.getByLabel('Client id').fill(client);
      await page.getByLabel('Scopes (space or comma separated)').fill('registry:read:inventory');
      await page.getByLabel('Contract (the schema its caller sees)').selectOption(CONTRACT_NAME);
      await page.getByRole('button', { name: 'Issue key' }).click();
      const secret = (await page.getByTestId('new-key').textContent({ timeout: 30_000 }))!.trim();
      expect(secret).toMatch(/^osk_/);
      const row = page.locator(`tr[data-client="${client}"]`);
      await expect.poll(() => row.getByTestId('key-contract').textContent()).toBe(CONTRACT_NAME);
      const listed = (await admin(KEYS.replace('scopes', 'scopes contract'))).data!.apiKeys.find((k: { clientId: string }) => k.clientId === client);
      expect(listed.contract).toBe(CONTRACT_NAME);
      // Keys without one say so.
      expect(await page.locator('tr[data-client^="console-reader-"]').first().getByTestId('key-contract').textContent()).toBe('whole schema');
      await page.screenshot({ path: `${SHOTS}/key-contract.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('refuses promoting, contracts and keys on a contract to a key without the scope: the page shows the refusal, the API answers FORBIDDEN', async () => {
    const publisher = await issueKey(reg, 'console-publisher', [`registry:publish:${CONSOLE_PARTNER}`]);
    const page = await context.newPage();
    try {
      // May publish the subgraph, not promote it.
      await signIn(page, publisher);
      await page.getByLabel('Environment', { exact: true }).selectOption('staging');
      await go(page, `#/subgraphs/${CONSOLE_PARTNER}`);
      await expect.poll(() => page.getByTestId('promote-needs').textContent()).toContain(`registry:promote:${CONSOLE_PARTNER}`);
      expect(await page.getByRole('button', { name: /^Promote/ }).count()).toBe(0);
      await page.screenshot({ path: `${SHOTS}/refused-promote.png`, fullPage: true });
      const promote = `mutation($i: PromoteInput!) { promote(input: $i) { __typename } }`;
      const input = { i: { subgraph: CONSOLE_PARTNER, from: 'staging', to: 'production' } };
      for (const key of [publisher, outsider, inventoryReader]) expect(errorCode(await registryClient(reg.registryUrl, key)(promote, input))).toBe('FORBIDDEN');
      expect(await currentIn(CONSOLE_PARTNER, 'production')).toBe(2);

      // Contracts: not in its navigation; opened anyway, the API's refusal.
      expect(await page.getByRole('navigation', { name: 'Registry sections' }).getByRole('link', { name: 'Contracts' }).count()).toBe(0);
      await go(page, '#/contracts');
      expect(await refusal(page)).toBe('FORBIDDEN');
      await page.screenshot({ path: `${SHOTS}/refused-contracts.png`, fullPage: true });
      await go(page, `#/contracts/${CONTRACT_NAME}`);
      expect(await refusal(page)).toBe('FORBIDDEN');
      await go(page, '#/keys');
      expect(await refusal(page)).toBe('FORBIDDEN');

      const setContract = `mutation($i: SetContractInput!) { setContract(input: $i) { __typename } }`;
      for (const key of [publisher, outsider]) {
        const api = registryClient(reg.registryUrl, key);
        expect(errorCode(await api('{ contracts { name } }'))).toBe('FORBIDDEN');
        expect(errorCode(await api(setContract, { i: { name: CONTRACT_NAME, excludeTags: [] } }))).toBe('FORBIDDEN');
        expect(errorCode(await api('mutation($n: String!) { removeContract(name: $n) }', { n: CONTRACT_NAME }))).toBe('FORBIDDEN');
        expect(errorCode(await api(CREATE_KEY, { input: { clientId: 'sneaky-contract', scopes: ['registry:read:inventory'], contract: CONTRACT_NAME } }))).toBe('FORBIDDEN');
      }
      expect((await admin('query($n: String!) { contract(name: $n) { excludeTags } }', { n: CONTRACT_NAME })).data!.contract.excludeTags).toEqual(['internal']);
      expect((await admin(KEYS)).data!.apiKeys.some((k: { clientId: string }) => k.clientId === 'sneaky-contract')).toBe(false);

      // A reader of every subgraph reads contracts but may not change them: no form, and setContract is refused.
      const reader = await issueKey(reg, 'console-all-reader', ['registry:read:*']);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, reader);
      await go(page, `#/contracts/${CONTRACT_NAME}`);
      await page.getByTestId('contract-sdl').waitFor();
      expect(await page.getByRole('button', { name: /Save contract|Remove contract/ }).count()).toBe(0);
      expect(errorCode(await registryClient(reg.registryUrl, reader)(setContract, { i: { name: CONTRACT_NAME, excludeTags: [] } }))).toBe('FORBIDDEN');
    } finally {
      await page.close();
    }
  });

  it('removes a contract as admin', async () => {
    const page = await context.newPage();
    try {
      await signIn(page, reg.adminToken);
      await go(page, `#/contracts/${CONTRACT_NAME}`);
      await page.getByRole('button', { name: `Remove contract ${CONTRACT_NAME}` }).click();
      await page.getByRole('button', { name: `Confirm removing ${CONTRACT_NAME}` }).click();
      await page.getByRole('table', { name: 'Contracts, with their current schema' }).or(page.getByText('No contracts yet')).waitFor();
      expect(await page.locator(`tr[data-contract="${CONTRACT_NAME}"]`).count()).toBe(0);
      expect((await admin('query($n: String!) { contract(name: $n) { name } }', { n: CONTRACT_NAME })).data!.contract).toBeNull();
    } finally {
      await page.close();
    }
  });
});
