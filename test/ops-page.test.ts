import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from './browser.js';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemSignalSchema } from '../contracts/events.js';
import { ApiKeyService, openRegistryDatabase } from '../registry/index.js';
import { ExceptionService } from '../subgraphs/exceptions/services/exception.service.js';
import { errorCode, uniq } from './client.js';
import { marketplaceEnv, MarketplaceWorld, secretsDir, startSimulator, type MarketplaceChannel } from './marketplace-fixture.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { startOrdersStack, type OrdersStack } from './orders-fixture.js';

/**
 * The gateway's operator page, /ops, in headless Chromium against the whole stack with its jobs
 * process and a marketplace channel connected to the simulator. Auth is enforced: anonymous
 * callers hold every scope the set-up needs except ops:read and the exceptions scopes, so the page
 * needs a key.
 */

const PUBLIC_SCOPES = 'availability:read inventory:read inventory:write channels:admin locations:admin orders:read orders:write';

let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let secrets: Awaited<ReturnType<typeof secretsDir>>;
let gatewayDb: DataSource;
let keys: ApiKeyService;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let opsUrl: string;

async function apiKey(scopes: string[], clientId = `ops-test-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await keys.create({ clientId, scopes, expiresInMs: 3_600_000, createdBy: 'ops-page.test' })).key;
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
  browser = await launchBrowser();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  await gatewayDb?.destroy();
  await stack?.close();
  await sim?.close();
  await secrets?.remove();
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

describe('/ops exceptions inbox in a browser', () => {
  /** Where the inbox's screenshot goes: logs/ is git-ignored and holds what test runs leave behind. */
  const SCREENSHOT = join('logs', 'ops-exceptions-inbox.png');
  const RECONCILE = `mutation($input: ReconcileSnapshotInput!) { reconcileSnapshot(input: $input) { id driftCount } }`;
  const EXCEPTION = `query($id: ID!) { exception(id: $id) { state resolution note acknowledgedBy resolvedBy history { event actor note } } }`;
  const LISTINGS = `query($id: ID!, $skus: [String!]!) { channel(id: $id) { marketplaceSync { listings(skus: $skus) { sku marketplaceSku } } } }`;

  it('counts and lists what needs a person; acknowledges, resolves and runs a fix with the viewer\'s own rights', async () => {
    const store = await w.location();
    const channel = await w.marketplaceChannel('EBAY', [store]);
    await w.replicated([store], [channel.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 10);

    // Raised for real: an ERP count 3 below ours, recorded without applying it (inventory's
    // RECONCILIATION_DRIFT, relayed to the exceptions feed by the jobs process).
    const erp = `erp:${uniq('inbox-').toLowerCase()}`;
    const run = (await w.ok(RECONCILE, { input: { idempotencyKey: randomUUID(), source: erp, lines: [{ sku, locationId: store, onHand: 7 }] } })).reconcileSnapshot;
    expect(run.driftCount).toBe(1);

    // Appended through the exceptions service as its feed would: three problems of the channel.
    const inbox = new ExceptionService(stack.subgraphs.exceptions.dataSource);
    const marketplaceSku = uniq('EBAY-');
    const at = new Date().toISOString();
    const signals = [
      {
        kind: 'DEAD_LETTER',
        subject: `${channel.channelId}:${sku}`,
        cause: 'ITEM_NOT_LISTED',
        explanation: `eBay refused the quantity of ${sku} 5 times: Item is not listed on this site`,
        sku,
        units: 4,
        value: 79.96,
        evidence: [{ type: 'DEAD_LETTER', id: randomUUID() }],
        action: { kind: 'REPLAY_DEAD_LETTERS', channelId: channel.channelId },
      },
      {
        kind: 'UNMAPPED_LISTING',
        subject: `${channel.channelId}:${marketplaceSku}`,
        cause: 'UNMAPPED',
        explanation: `2 eBay orders for ${marketplaceSku}, which no listing of the channel maps to one of our SKUs`,
        units: 2,
        evidence: [{ type: 'MARKETPLACE_ORDER', id: uniq('MO-') }],
        action: { kind: 'MAP_LISTING', channelId: channel.channelId, marketplaceSku },
      },
      { kind: 'STUCK_ORDER', subject: randomUUID(), cause: 'INVENTORY_UNREACHABLE', explanation: 'Inventory did not answer the reservation for 12 minutes' },
    ].map((s, i) => ({ source: `ops-test-${channel.channelId.slice(0, 8)}`, seq: i + 1, signal: problemSignalSchema.parse({ state: 'RAISED', channelId: channel.channelId, at, ...s }) }));
    await inbox.apply(signals);
    const seeded = (await inbox.list({ channelId: channel.channelId }, 10)).edges.map((e) => e.node);
    const idOf = (kind: string) => seeded.find((x) => x.kind === kind)!.id;
    const [deadLetter, unmapped, stuck] = [idOf('DEAD_LETTER'), idOf('UNMAPPED_LISTING'), idOf('STUCK_ORDER')];

    // A desk that may read and move exceptions but holds neither channels:admin nor inventory:write.
    const desk = `ops-desk-${randomUUID().slice(0, 8)}`;
    const deskKey = await apiKey(['ops:read', 'exceptions:read', 'exceptions:write'], desk);
    const operatorKey = await apiKey(['ops:read', 'exceptions:read', 'exceptions:write', 'channels:admin', 'inventory:write']);

    const page = await context.newPage();
    await page.setViewportSize({ width: 1440, height: 1000 });
    // The page runs nothing inline and loads nothing from elsewhere: a CSP refusal would show here.
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    await page.goto(opsUrl);
    // Anonymous callers hold no exceptions scope here: the inbox says why, like the other panels.
    await expect.poll(() => text(page, '[data-panel="exceptions"] .unavailable')).toMatch(/^unavailable: UNAUTHENTICATED: Query\.exception/);

    await page.fill('#key', deskKey);
    await page.click('#use-key');
    const row = (id: string) => `#exception-rows tr[data-exception-id="${id}"]`;
    const field = (id: string, name: string) => `${row(id)} td[data-field="${name}"]`;
    await page.locator(row(deadLetter)).waitFor({ timeout: 30_000 });
    expect(await page.getAttribute('[data-panel="exceptions"]', 'data-available')).toBe('true');

    // Counts by severity and kind, and each unresolved exception's row.
    expect(await number(page, '#exception-total')).toBeGreaterThanOrEqual(3);
    expect(await number(page, '#exception-severities [data-severity="HIGH"] dd')).toBeGreaterThanOrEqual(1);
    for (const kind of ['DEAD_LETTER', 'UNMAPPED_LISTING', 'STUCK_ORDER']) expect(await number(page, `#exception-kinds li[data-kind="${kind}"] strong`)).toBeGreaterThanOrEqual(1);
    expect(await text(page, field(deadLetter, 'title'))).toBe('Marketplace refuses stock updates for 1 SKU (ITEM_NOT_LISTED)');
    expect(await text(page, field(deadLetter, 'severity'))).toBe('medium');
    expect(await text(page, field(deadLetter, 'state'))).toBe('OPEN');
    expect(await text(page, field(deadLetter, 'kind'))).toBe('dead letter');
    expect(await text(page, field(deadLetter, 'cause'))).toBe('ITEM_NOT_LISTED');
    expect(await text(page, field(deadLetter, 'openSubjects'))).toBe('1');
    expect(await text(page, field(deadLetter, 'unitsAtRisk'))).toBe('4');
    expect(await text(page, field(deadLetter, 'valueAtRisk'))).toBe('79.96');
    expect(await text(page, field(deadLetter, 'age'))).toMatch(/^\d+ (s|min)$/);
    expect(await text(page, field(deadLetter, 'team'))).toBe('–');
    expect(await text(page, field(stuck, 'severity'))).toBe('high');

    // The filter narrows the list to a kind (offered from the counts).
    await page.selectOption('#filter-kind', 'STUCK_ORDER');
    await expect.poll(() => page.locator(row(deadLetter)).count()).toBe(0);
    expect(await page.locator(row(stuck)).count()).toBe(1);
    await page.selectOption('#filter-kind', '');
    await page.locator(row(deadLetter)).waitFor({ timeout: 30_000 });

    // By keyboard: focus the row, Enter selects it, and its explanation, evidence, history and fix show.
    await page.focus(`${row(deadLetter)} button`);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getAttribute('#exception-detail', 'data-exception-id')).toBe(deadLetter);
    expect(await page.getAttribute(row(deadLetter), 'aria-current')).toBe('true');
    expect(await text(page, '#detail-explanation')).toBe(`eBay refused the quantity of ${sku} 5 times: Item is not listed on this site`);
    expect(await text(page, '#detail-facts [data-field="sku"] dd')).toBe(sku);
    expect(await text(page, '#detail-facts [data-field="channel"] dd')).toContain(channel.code);
    expect(await page.locator('#detail-evidence tr').count()).toBe(1);
    expect(await text(page, '#detail-evidence td[data-field="type"]')).toBe('dead letter');
    expect(await page.locator('#detail-history li[data-event="RAISED"]').count()).toBe(1);
    expect(await text(page, '#exception-act')).toBe('Replay the dead letters');
    expect(await text(page, '#detail-operation')).toContain('replayDeadLetters(channelId: $channelId');

    // Acknowledge with a note, by keyboard: the row moves to ACKNOWLEDGED, the history names the desk.
    await page.fill('#exception-note', 'on it: checking the eBay listing');
    await page.focus('#exception-ack');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getAttribute(row(deadLetter), 'data-state'), { timeout: 30_000 }).toBe('ACKNOWLEDGED');
    expect(await text(page, field(deadLetter, 'state'))).toBe('ACKNOWLEDGED');
    expect(await page.getAttribute('#exception-detail', 'data-state')).toBe('ACKNOWLEDGED');
    expect(await text(page, '#detail-history li[data-event="ACKNOWLEDGED"]')).toContain(`by ${desk}: on it: checking the eBay listing`);
    expect(await page.isDisabled('#exception-ack')).toBe(true);
    expect(await page.getAttribute('#exception-result', 'data-outcome')).toBe('ok');
    const acknowledged = (await w.ok(EXCEPTION, { id: deadLetter }, { 'x-api-key': operatorKey })).exception;
    expect(acknowledged).toMatchObject({ state: 'ACKNOWLEDGED', acknowledgedBy: desk, note: 'on it: checking the eBay listing' });

    // Resolve another with a note: it leaves the unresolved list.
    await page.click(`${row(stuck)} button`);
    await expect.poll(() => page.getAttribute('#exception-detail', 'data-exception-id')).toBe(stuck);
    expect(await text(page, '#detail-no-action')).toContain('None');
    await page.fill('#exception-note', 'inventory is back; the order went through by hand');
    await page.click('#exception-resolve');
    await expect.poll(() => page.getAttribute('#exception-detail', 'data-state'), { timeout: 30_000 }).toBe('RESOLVED');
    await expect.poll(() => page.locator(row(stuck)).count(), { timeout: 30_000 }).toBe(0);
    expect(await page.isDisabled('#exception-resolve')).toBe(true);
    expect((await w.ok(EXCEPTION, { id: stuck }, { 'x-api-key': operatorKey })).exception).toMatchObject({
      state: 'RESOLVED',
      resolution: 'MANUAL',
      resolvedBy: desk,
      note: 'inventory is back; the order went through by hand',
    });

    // The fix of an unmapped listing needs the SKU: the page asks for it before anything is sent...
    await page.click(`${row(unmapped)} button`);
    await expect.poll(() => page.getAttribute('#exception-detail', 'data-exception-id')).toBe(unmapped);
    expect(await text(page, '#exception-act')).toBe('Map the listing to one of our SKUs');
    await page.click('#exception-act');
    await expect.poll(() => text(page, '#exception-result')).toBe('Enter sku first: "Map the listing to one of our SKUs" needs it.');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('action-var-sku');
    // ...and runs with the desk's own scopes: without channels:admin the marketplaces service refuses it.
    await page.fill('#action-var-sku', sku);
    await page.click('#exception-act');
    await expect.poll(() => text(page, '#exception-result')).toMatch(/^Map the listing to one of our SKUs: FORBIDDEN: .*channels:admin/);
    expect(await page.getAttribute('#exception-result', 'data-outcome')).toBe('refused');
    expect((await w.ok(LISTINGS, { id: channel.channelId, skus: [sku] })).channel.marketplaceSync.listings).toEqual([]);

    // An operator holding channels:admin runs the same fix: the listing now maps the marketplace SKU.
    await page.fill('#key', operatorKey);
    await page.click('#use-key');
    await page.click('#exception-act');
    await expect.poll(() => page.getAttribute('#exception-result', 'data-outcome'), { timeout: 30_000 }).toBe('ok');
    expect(await text(page, '#exception-result')).toContain('Map the listing to one of our SKUs: done');
    expect((await w.ok(LISTINGS, { id: channel.channelId, skus: [sku] })).channel.marketplaceSync.listings).toEqual([{ sku, marketplaceSku }]);

    // The real one: applying the count through the page moves our stock, and once inventory
    // reports the drift cleared the exception resolves itself and leaves the list.
    let drift: string | undefined;
    await expect
      .poll(async () => (drift = (await inbox.list({ kinds: ['RECONCILIATION_DRIFT'], cause: erp }, 5)).edges[0]?.node.id), { timeout: 30_000 })
      .toBeDefined();
    await page.locator(row(drift!)).waitFor({ timeout: 30_000 });
    expect(await text(page, field(drift!, 'unitsAtRisk'))).toBe('3');
    await page.click(`${row(drift!)} button`);
    await expect.poll(() => page.getAttribute('#exception-detail', 'data-exception-id')).toBe(drift);
    expect(await text(page, '#exception-act')).toBe('Apply the count');
    await page.click('#exception-act');
    await expect.poll(() => page.getAttribute('#exception-result', 'data-outcome'), { timeout: 30_000 }).toBe('ok');
    expect((await w.level(sku, store)).onHand).toBe(7);
    await expect.poll(() => page.locator(row(drift!)).count(), { timeout: 30_000 }).toBe(0);
    expect((await w.ok(EXCEPTION, { id: drift }, { 'x-api-key': operatorKey })).exception).toMatchObject({ state: 'RESOLVED', resolution: 'AUTO' });

    // The acknowledged one, selected, for the record.
    await page.click(`${row(deadLetter)} button`);
    await expect.poll(() => page.getAttribute('#exception-detail', 'data-exception-id')).toBe(deadLetter);
    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
