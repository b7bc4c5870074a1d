import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { errorCode, uniq } from './client.js';
import { marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator, type MarketplaceChannel } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { startOrdersStack, type OrdersStack } from './orders-fixture.js';

/**
 * The gateway's operator page, /ops, in headless Chromium against the whole stack with its jobs
 * process and a marketplace channel connected to the simulator. Auth is enforced: anonymous
 * callers hold every scope the set-up needs except ops:read, so the page needs a key.
 */

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PUBLIC_SCOPES = 'availability:read inventory:read inventory:write channels:admin locations:admin orders:read orders:write';

let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let gatewayDb: DataSource;
let keys: ApiKeyService;
let profile: string;
let context: BrowserContext;
let opsUrl: string;

async function apiKey(scopes: string[]): Promise<string> {
  return (await keys.create({ clientId: `ops-test-${randomUUID().slice(0, 8)}`, scopes, expiresInMs: 3_600_000, createdBy: 'ops-page.test' })).key;
}

beforeAll(async () => {
  secrets = await secretsDir();
  sim = await startSimulator();
  stack = await startOrdersStack({
    ...marketplaceEnv(secrets.dir),
    MARKETPLACE_COALESCE_MS: '200',
    AUTH_MODE: 'enforce',
    AUTH_PUBLIC_SCOPES: PUBLIC_SCOPES,
    OPS_REFRESH_MS: '500',
  });
  w = new MarketplaceWorld(stack, sim, secrets.dir);
  gatewayDb = await openRegistryDatabase(stack.cfg);
  keys = new ApiKeyService(gatewayDb);
  opsUrl = stack.gatewayUrl.replace(/\/graphql$/, '/ops');
  // A fresh profile of the test's own; without the background-networking flags Chromium calls out to Google's services.
  profile = await mkdtemp(join(tmpdir(), 'omnistock-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  // Closing the persistent context closes the browser.
  await context?.close();
  await gatewayDb?.destroy();
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
  if (profile) await rm(profile, { recursive: true, force: true });
});

const text = (page: Page, selector: string) => page.locator(selector).first().textContent({ timeout: 30_000 }).then((t) => (t ?? '').trim());
const number = async (page: Page, selector: string) => Number((await text(page, selector)).replace(/,/g, ''));
/** A reason's total on the page; a reason not refused yet has no row. */
async function refusedTotal(page: Page, reason: string): Promise<number> {
  const row = page.locator(`tr[data-reason="${reason}"] td[data-field="total"]`);
  return (await row.count()) ? Number(((await row.textContent()) ?? '0').replace(/,/g, '')) : 0;
}

describe('/ops data endpoints', () => {
  it('serves the page itself to anyone, the figures only to callers with ops:read', async () => {
    const page = await fetch(opsUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('/ops/page.js');

    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${opsUrl}${path}`, { headers });
    const anonymous = await get('/data');
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'CREDENTIALS_REQUIRED', requiredScopes: ['ops:read', 'admin'] });

    const unknown = await get('/data', { 'x-api-key': 'osk_not-a-key-of-this-gateway' });
    expect(unknown.status).toBe(401);
    expect((await unknown.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const storefront = await apiKey(['availability:read', 'inventory:read']);
    const forbidden = await get('/data', { 'x-api-key': storefront });
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredScopes: ['ops:read', 'admin'] });
    const forbiddenStream = await get('/stream', { authorization: `Bearer ${storefront}` });
    expect(forbiddenStream.status).toBe(403);
    expect(forbiddenStream.headers.get('content-type')).toMatch(/json/);

    const operator = await apiKey(['ops:read']);
    const allowed = await get('/data', { 'x-api-key': operator });
    expect(allowed.status).toBe(200);
    const snapshot = await allowed.json();
    expect(snapshot).toMatchObject({ stock: { ok: true }, channels: { ok: true }, reconciliation: { ok: true }, refusals: { ok: true } });
    expect(snapshot.stock.data).toMatchObject({ last10s: expect.any(Number), lastMinute: expect.any(Number), streamLength: expect.any(Number) });

    // The stream answers with events over fetch (headers carry the key; nothing goes in the URL).
    const controller = new AbortController();
    const stream = await fetch(`${opsUrl}/stream`, { headers: { authorization: `Bearer ${operator}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    while (!received.includes('event: snapshot\ndata: ')) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value;
    }
    expect(received).toMatch(/^retry: 500\n\nevent: snapshot\ndata: \{"at":/);
    controller.abort();
    await reader.cancel().catch(() => {});
  });
});

describe('/ops in a browser', () => {
  let channel: MarketplaceChannel;
  let store: string;
  let sku: string;
  let refusedSku: string;

  it('shows stock changes, marketplace sync, reconciliation drift and refusals moving without a reload', async () => {
    store = await w.location();
    channel = await w.marketplaceChannel('EBAY', [store]);
    await w.replicated([store], [channel.channelId]);
    sku = await w.item();
    refusedSku = await w.item();

    const page = await context.newPage();
    await page.goto(opsUrl);
    // No key yet: the gateway refuses the figures and the page says so.
    await expect.poll(() => text(page, '#access')).toContain('UNAUTHENTICATED');
    await page.fill('#key', await apiKey(['ops:read']));
    await page.click('#use-key');
    await expect.poll(() => page.getAttribute('#status', 'data-state')).toBe('live');
    expect(await page.evaluate(() => sessionStorage.getItem('omnistock.ops.key'))).toMatch(/^osk_/);
    // Marks this document: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { opsTestMark: string }).opsTestMark = 'same document'));

    const row = `tr[data-channel-id="${channel.channelId}"]`;
    const field = (name: string) => `${row} td[data-field="${name}"]`;
    await page.locator(row).waitFor({ timeout: 30_000 });
    const before = {
      lastMinute: await number(page, '#stock-count-60s'),
      throttles: await text(page, field('throttles')),
      deadLetters: await text(page, field('deadLetters')),
      lastPushAt: await page.locator(field('lastPush')).getAttribute('data-at'),
      forbidden: await refusedTotal(page, 'FORBIDDEN'),
    };
    expect(await text(page, field('backlog'))).toMatch(/^\d+$/);
    // Nothing has failed towards this fresh account yet.
    expect(before.throttles).toBe('0');
    expect(before.deadLetters).toBe('0');

    // The marketplace throttles the next call and refuses one of the two SKUs for good.
    sim.inject('EBAY', channel.account, { type: 'throttle', count: 1, retryAfterMs: 200 });
    sim.rejectSku('EBAY', channel.account, refusedSku, 'Item is not listed on this site');

    // Stock changes through the gateway: receipts, then 30 counts of the channel's only source.
    await w.receive(sku, store, 100);
    await w.receive(refusedSku, store, 10);
    await w.cycleCounts(sku, store, Array.from({ length: 30 }, (_, i) => 50 + i));
    await expect.poll(() => number(page, '#stock-count-60s'), { timeout: 30_000 }).toBeGreaterThanOrEqual(32);
    expect(await number(page, '#stock-count-60s')).toBeGreaterThan(before.lastMinute);
    await expect.poll(() => number(page, '#stock-rate-60s')).toBeGreaterThan(0);

    // The marketplace receives the channel's available-to-sell of the SKU it accepts; the row shows
    // the push, its lag, the throttle and the dead letter of the refused SKU.
    await w.converged(channel, [sku]);
    await expect.poll(() => page.locator(field('lastPush')).getAttribute('data-at'), { timeout: 30_000 }).not.toBe(before.lastPushAt);
    expect(await page.locator(field('lastPush')).getAttribute('data-at')).toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect.poll(() => text(page, field('lagP95')), { timeout: 30_000 }).toMatch(/^\d[\d,.]* m?s$/);
    await expect.poll(() => text(page, field('throttles')), { timeout: 30_000 }).toMatch(/^[1-9]\d* \(last /);
    await expect.poll(() => number(page, field('deadLetters')), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);

    // A drift-repair run shows in the channel's row.
    expect(await text(page, field('lastDrift'))).toBe('–');
    await w.ok(`mutation($id: ID!) { requestDriftRepair(channelId: $id) }`, { id: channel.channelId });
    await expect.poll(() => text(page, field('lastDrift')), { timeout: 30_000 }).toMatch(/: \d+ of \d+ drifted$/);

    // Inventory's reconciliation: a snapshot 7 units off ours is one drifting line.
    const source = `erp:${uniq('ops-').toLowerCase()}`;
    const run = await w.ok(`mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) { id driftCount } }`, {
      input: { idempotencyKey: randomUUID(), source, lines: [{ sku, locationId: store, onHand: 86 }] },
    });
    expect(run.reconcileSnapshot.driftCount).toBe(1);
    const runRow = `tr[data-run="${run.reconcileSnapshot.id}"]`;
    await expect.poll(() => page.locator(runRow).count(), { timeout: 30_000 }).toBe(1);
    expect(await text(page, `${runRow} td[data-field="source"]`)).toBe(source);
    expect(await text(page, `${runRow} td[data-field="driftCount"]`)).toBe('1');

    // A refused request: a storefront key selecting a field that needs inventory:read.
    const refusedRes = await w.gql(`{ reconciliationRuns(first: 1) { edges { node { id } } } }`, {}, { 'x-api-key': await apiKey(['availability:read']) });
    expect(errorCode(refusedRes)).toBe('FORBIDDEN');
    await expect.poll(() => refusedTotal(page, 'FORBIDDEN'), { timeout: 30_000 }).toBeGreaterThan(before.forbidden);

    expect(await page.evaluate(() => (window as unknown as { opsTestMark?: string }).opsTestMark)).toBe('same document');
    await page.close();
  });

  it('shows a connection whose secret is missing as unhealthy, without dead letters, and healthy once the secret is there', async () => {
    const shop = await w.location();
    const amazon = await w.marketplaceChannel('AMAZON', [shop], undefined, { secret: false });
    const page = await context.newPage();
    await page.goto(opsUrl);
    await page.fill('#key', await apiKey(['ops:read']));
    await page.click('#use-key');
    const row = `tr[data-channel-id="${amazon.channelId}"]`;
    const health = `${row} td[data-field="health"]`;
    await expect.poll(() => page.locator(row).getAttribute('data-health', { timeout: 30_000 }), { timeout: 30_000 }).toBe('unhealthy');
    expect(await text(page, health)).toMatch(new RegExp(`^SECRET_MISSING since .+: marketplace secret "${amazon.account}" unavailable: ENOENT; pushes wait$`));
    expect(await text(page, `${row} td[data-field="deadLetters"]`)).toBe('0');

    await w.writeSecret(amazon);
    await expect.poll(() => page.locator(row).getAttribute('data-health'), { timeout: 30_000 }).toBe('ok');
    expect(await text(page, health)).toBe('ok');
    expect(await text(page, `${row} td[data-field="deadLetters"]`)).toBe('0');
    await page.close();
  });
});
