import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { problemSignalSchema, type ProblemKind, type ProblemSignal } from '../contracts/events.js';
import { operationOf } from '../subgraphs/exceptions/domain/exception-rules.js';
import { MarketplaceOrderEntity } from '../subgraphs/marketplaces/data/intake.entity.js';
import type { MarketplaceSimulator } from '../tools/marketplace-simulator/index.js';
import { uniq } from './client.js';
import { waitFor } from './events.js';
import { startMarketplaceWorld, type MarketplaceChannel, type MarketplaceWorld } from './marketplace-fixture.js';
import type { OrdersStack } from './orders-fixture.js';

/**
 * #18 the marketplaces subgraph's problem signals, provoked against the real stack and the
 * marketplace simulator: each RAISED written with what it records (a dead letter, a drift run, an
 * order taken in, a lag crossing its threshold), and CLEARED once its cause is gone, read back from
 * the subgraph's outbox as the exceptions inbox will read them.
 */
let stack: OrdersStack;
let sim: MarketplaceSimulator;
let w: MarketplaceWorld;
let world: Awaited<ReturnType<typeof startMarketplaceWorld>>;
let store: string;
const THRESHOLD_MS = 2500;

beforeAll(async () => {
  world = await startMarketplaceWorld({ MARKETPLACE_COALESCE_MS: '100', MARKETPLACE_INTAKE_POLL_MS: '300', SYNC_LAG_THRESHOLD_MS: String(THRESHOLD_MS) });
  ({ stack, sim, w } = world);
  store = await w.location();
  // Inventory learns of the store from its event: stock may be received there once it has.
  await w.replicated([store], []);
});
afterEach(() => sim.clearFaults());
afterAll(() => world?.close());

const db = () => stack.subgraphs.marketplaces.dataSource;

/** The subject's problem signals, in the order they were written. */
async function signals(kind: ProblemKind, subject: string): Promise<ProblemSignal[]> {
  const rows: { payload: string }[] = await db().query(`SELECT payload FROM outbox_events WHERE topic = 'problem' AND event_key = ? ORDER BY seq`, [`${kind}:${subject}`]);
  return rows.map((r) => problemSignalSchema.parse(JSON.parse(r.payload)));
}

/** Waits until the subject has `n` signals, the last in `state` (a drift run and its correction take seconds of their own on a loaded machine). */
const signalled = (kind: ProblemKind, subject: string, n: number, state: 'RAISED' | 'CLEARED', timeoutMs = 60_000) =>
  waitFor(`${n} ${kind} signal(s) of ${subject}, the last ${state}`, async () => {
    const all = await signals(kind, subject);
    return all.length >= n && all[n - 1]!.state === state ? all : null;
  }, timeoutMs);

/** Every problem signal of a kind about the channel's subjects. */
async function channelSignals(kind: ProblemKind, channelId: string): Promise<ProblemSignal[]> {
  const rows: { payload: string }[] = await db().query(`SELECT payload FROM outbox_events WHERE topic = 'problem' AND event_key LIKE ? ORDER BY seq`, [`${kind}:${channelId}%`]);
  return rows.map((r) => problemSignalSchema.parse(JSON.parse(r.payload)));
}

/** Open problems of the kind for the channel, as marketplaces keeps them. */
async function openSubjects(kind: ProblemKind, channelId: string): Promise<string[]> {
  const rows: { subject: string }[] = await db().query('SELECT subject FROM marketplace_problems WHERE kind = ? AND channel_id = ? ORDER BY subject', [kind, channelId]);
  return rows.map((r) => r.subject);
}

/**
 * An eBay channel on the store, its connection's first resync done (nothing else waits to be
 * pushed): a SKU in stock before it was connected reached it (a LISTED channel lists none yet).
 */
async function quietChannel(opts: Parameters<MarketplaceWorld['marketplaceChannel']>[3] = {}): Promise<MarketplaceChannel> {
  const probe = await w.item();
  await w.receive(probe, store, 1);
  const channel = await w.marketplaceChannel('EBAY', [store], undefined, opts);
  await w.replicated([store], [channel.channelId]);
  if (opts.catalogue !== 'LISTED') await w.converged(channel, [probe]);
  await waitFor('the first resync done', async () => (await w.sync(channel.channelId)).backlog === 0, 30_000);
  return channel;
}

const deadLettersOf = async (channelId: string, sku: string): Promise<{ id: string; code: string | null; replayedAt: string | null }[]> =>
  (await w.sync(channelId)).deadLetters.edges.map((e: { node: { id: string; sku: string; code: string | null; replayedAt: string | null } }) => e.node).filter((n: { sku: string }) => n.sku === sku);

const REPLAY = `mutation($c: ID!) { replayDeadLetters(channelId: $c) { replayed { id sku } } }`;
/** Runs a signal's suggested action as the exceptions inbox hands it to a person: its operation and variables, and what the person adds. */
const runAction = (signal: ProblemSignal, extra: Record<string, unknown> = {}) => {
  const op = operationOf(signal.action!, 'test');
  return w.ok(op.operation, { ...op.variables, ...extra });
};
const DRIFT_REPAIR = `mutation($c: ID!) { requestDriftRepair(channelId: $c) }`;
const SET_LISTING = `mutation($c: ID!, $i: MarketplaceListingInput!) { setMarketplaceListing(channelId: $c, input: $i) { sku marketplaceSku } }`;
const CONNECT = `mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`;

describe('DEAD_LETTER', { timeout: 180_000 }, () => {
  it("raises a (channel, SKU) whose push is dead-lettered under the marketplace's code, raises it again (one subject) while it keeps failing, and clears it once a replay succeeds", async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    const subject = `${ebay.channelId}:${sku}`;
    sim.rejectSku('EBAY', ebay.account, sku, 'The listing is under review');
    await w.receive(sku, store, 5);
    const [first] = await signalled('DEAD_LETTER', subject, 1, 'RAISED');
    const [letter] = await deadLettersOf(ebay.channelId, sku);
    expect(first).toMatchObject({
      kind: 'DEAD_LETTER',
      state: 'RAISED',
      subject,
      // eBay's errorId for the item, not its message.
      cause: 'EBAY_25019',
      sku,
      channelId: ebay.channelId,
      units: 5,
      evidence: [{ type: 'DEAD_LETTER', id: letter!.id }],
      action: { kind: 'REPLAY_DEAD_LETTERS', channelId: ebay.channelId },
    });
    expect(first!.explanation).toContain('under review');

    // A later change of the SKU is refused the same way: the same subject raised again, with both letters.
    await w.receive(sku, store, 2);
    const again = await signalled('DEAD_LETTER', subject, 2, 'RAISED');
    expect(again[1]).toMatchObject({ subject, cause: 'EBAY_25019', units: 7 });
    expect(again[1]!.evidence.map((e) => e.id).sort()).toEqual((await deadLettersOf(ebay.channelId, sku)).map((d) => d.id).sort());
    expect(await openSubjects('DEAD_LETTER', ebay.channelId)).toEqual([subject]);

    // Replayed before the cause is fixed: the replay dead-letters again, and the problem stays open.
    expect((await w.ok(REPLAY, { c: ebay.channelId })).replayDeadLetters.replayed).toHaveLength(2);
    await signalled('DEAD_LETTER', subject, 3, 'RAISED');
    expect(await openSubjects('DEAD_LETTER', ebay.channelId)).toEqual([subject]);

    // Fixed at the marketplace and replayed: the push goes through and the problem ends.
    sim.acceptSku('EBAY', ebay.account, sku);
    await runAction(again[1]!);
    const all = await signalled('DEAD_LETTER', subject, 4, 'CLEARED');
    expect(sim.quantity('EBAY', ebay.account, sku)).toBe(7);
    expect(all[3]).toMatchObject({ kind: 'DEAD_LETTER', state: 'CLEARED', subject, cause: 'EBAY_25019', sku, channelId: ebay.channelId, action: null });
    expect(all.map((s) => s.state)).toEqual(['RAISED', 'RAISED', 'RAISED', 'CLEARED']);
    expect(await openSubjects('DEAD_LETTER', ebay.channelId)).toEqual([]);
  });

  it('names a refused call by the marketplace\'s code and a push that ran out of tries by its last failure; the latter is sent again by itself once the marketplace accepts a push, the refused one waits for a replay', async () => {
    const ebay = await quietChannel();
    const [refused, failing] = [await w.item(), await w.item()];
    // Every call of the account (intake polls too) answered 400 until the dead letter is there.
    sim.inject('EBAY', ebay.account, { type: 'error', status: 400, count: 1000 });
    // And the SKU refused by itself after that: a later push of it (a second job of the same change,
    // run under the 503s below and then replayed by itself) must not end its problem by being accepted.
    sim.rejectSku('EBAY', ebay.account, refused, 'The listing is under review');
    await w.receive(refused, store, 4);
    const [rejected] = await signalled('DEAD_LETTER', `${ebay.channelId}:${refused}`, 1, 'RAISED');
    expect(rejected).toMatchObject({ cause: 'EBAY_25709', units: 4 });
    sim.clearFaults();

    // 503s until MARKETPLACE_PUSH_ATTEMPTS (3) are spent: a dead letter grouped by the status, not by "gave up after".
    sim.inject('EBAY', ebay.account, { type: 'error', status: 503, count: 1000 });
    await w.receive(failing, store, 6);
    const [exhausted] = await signalled('DEAD_LETTER', `${ebay.channelId}:${failing}`, 1, 'RAISED');
    sim.clearFaults();
    expect(exhausted).toMatchObject({ cause: 'HTTP_503', units: 6 });
    expect((await deadLettersOf(ebay.channelId, failing))[0]).toMatchObject({ code: 'RETRIES_EXHAUSTED' });

    // The marketplace answers again: once it accepts a push of the channel (another SKU's), what ran
    // out of tries is sent again with its current quantity, though that SKU did not change.
    await w.receive(await w.item(), store, 2);
    const ended = await signalled('DEAD_LETTER', `${ebay.channelId}:${failing}`, 2, 'CLEARED');
    expect(ended[1]).toMatchObject({ state: 'CLEARED', cause: 'HTTP_503', sku: failing });
    expect(sim.quantity('EBAY', ebay.account, failing)).toBe(6);
    // Replayed: no longer an open dead letter.
    expect(await deadLettersOf(ebay.channelId, failing)).toEqual([]);
    // What the marketplace refused is not sent again by itself: it waits for a replay.
    expect((await deadLettersOf(ebay.channelId, refused)).find((d) => d.code === '25709')).toMatchObject({ replayedAt: null });
    expect(await openSubjects('DEAD_LETTER', ebay.channelId)).toEqual([`${ebay.channelId}:${refused}`]);
    expect(sim.quantity('EBAY', ebay.account, refused)).not.toBe(4);
  });

  it("ends a channel's dead-letter problems when it is disconnected: nothing is left to replay", async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    sim.inject('EBAY', ebay.account, { type: 'error', status: 400, count: 1000 });
    await w.receive(sku, store, 2);
    await signalled('DEAD_LETTER', `${ebay.channelId}:${sku}`, 1, 'RAISED');
    sim.clearFaults();
    await w.ok(`mutation($c: ID!) { removeMarketplaceConnection(channelId: $c) { id } }`, { c: ebay.channelId });
    const [, cleared] = await signalled('DEAD_LETTER', `${ebay.channelId}:${sku}`, 2, 'CLEARED');
    expect(cleared!.explanation).toContain('was disconnected from its marketplace');
    expect(await openSubjects('DEAD_LETTER', ebay.channelId)).toEqual([]);
  });

  it('a 429 with Retry-After is no dead letter and raises none', async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    sim.inject('EBAY', ebay.account, { type: 'throttle', count: 3, retryAfterMs: 500 });
    await w.receive(sku, store, 8);
    await w.converged(ebay, [sku]);
    expect(sim.calls('EBAY', ebay.account).throttled).toBe(3);
    expect((await w.sync(ebay.channelId)).deadLetterCount).toBe(0);
    expect(await channelSignals('DEAD_LETTER', ebay.channelId)).toEqual([]);
  });
});

describe('MARKETPLACE_DRIFT', { timeout: 180_000 }, () => {
  it('raises a SKU drift repair finds off beyond the tolerance, with the cause measured from our last push, and clears it once the correction is accepted', async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    await w.receive(sku, store, 9);
    await w.pushRecorded(ebay, sku);
    sim.setQuantity('EBAY', ebay.account, sku, 3);
    await w.ok(DRIFT_REPAIR, { c: ebay.channelId });
    const subject = `${ebay.channelId}:${sku}`;
    const all = await signalled('MARKETPLACE_DRIFT', subject, 2, 'CLEARED');
    const run = (await w.sync(ebay.channelId)).driftRuns.edges[0].node;
    expect(run.lines).toEqual([{ sku, ours: 9, theirs: 3 }]);
    expect(all[0]).toMatchObject({
      kind: 'MARKETPLACE_DRIFT',
      state: 'RAISED',
      subject,
      // It shows something other than what we last pushed: it moved there.
      cause: 'CHANGED_AT_MARKETPLACE',
      sku,
      channelId: ebay.channelId,
      units: 6,
      measure: 6,
      evidence: [{ type: 'DRIFT_RUN', id: run.id }],
      action: { kind: 'REQUEST_DRIFT_REPAIR', channelId: ebay.channelId },
    });
    expect(all[1]).toMatchObject({ state: 'CLEARED', subject, sku });
    expect(sim.quantity('EBAY', ebay.account, sku)).toBe(9);
    expect(await openSubjects('MARKETPLACE_DRIFT', ebay.channelId)).toEqual([]);
  });

  it('clears a drift whose correction could not be pushed once a later run finds the marketplace as it should be', async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    await w.receive(sku, store, 9);
    await w.pushRecorded(ebay, sku);
    sim.setQuantity('EBAY', ebay.account, sku, 20);
    sim.rejectSku('EBAY', ebay.account, sku, 'The listing is locked');
    await w.ok(DRIFT_REPAIR, { c: ebay.channelId });
    const subject = `${ebay.channelId}:${sku}`;
    const [raised] = await signalled('MARKETPLACE_DRIFT', subject, 1, 'RAISED');
    expect(raised).toMatchObject({ cause: 'CHANGED_AT_MARKETPLACE', units: 11, measure: 11 });
    // The correction is refused: a dead letter, the SKU no longer pending, the drift still open.
    await signalled('DEAD_LETTER', subject, 1, 'RAISED');
    expect(await openSubjects('MARKETPLACE_DRIFT', ebay.channelId)).toEqual([subject]);

    // Someone sets it right at eBay; the next run reads it back as it should be.
    sim.setQuantity('EBAY', ebay.account, sku, 9);
    await runAction(raised!);
    const all = await signalled('MARKETPLACE_DRIFT', subject, 2, 'CLEARED');
    const run = (await w.sync(ebay.channelId)).driftRuns.edges[0].node;
    expect(all[1]).toMatchObject({ state: 'CLEARED', sku, evidence: [{ type: 'DRIFT_RUN', id: run.id }] });
    expect(run.id).not.toBe(raised!.evidence[0]!.id);
  });
});

describe('UNMAPPED_LISTING', () => {
  it('raises a marketplace SKU orders name that maps to none of ours (its units summed over its orders) and clears it once a listing maps it', async () => {
    const listed = await quietChannel({ catalogue: 'LISTED' });
    const theirs = uniq('THEIRS-');
    const subject = `${listed.channelId}:${theirs}`;
    sim.setQuantity('EBAY', listed.account, theirs, 10);
    const first = sim.placeOrder('EBAY', listed.account, [{ sku: theirs, quantity: 2 }]);
    const [raised] = await signalled('UNMAPPED_LISTING', subject, 1, 'RAISED');
    expect(raised).toMatchObject({
      kind: 'UNMAPPED_LISTING',
      state: 'RAISED',
      subject,
      cause: 'UNMAPPED_SKU',
      sku: null,
      channelId: listed.channelId,
      units: 2,
      evidence: [{ type: 'MARKETPLACE_ORDER', id: first.orderId }],
      action: { kind: 'MAP_LISTING', channelId: listed.channelId, marketplaceSku: theirs },
    });
    const second = sim.placeOrder('EBAY', listed.account, [{ sku: theirs, quantity: 3 }]);
    const again = await signalled('UNMAPPED_LISTING', subject, 2, 'RAISED');
    expect(again[1]).toMatchObject({ subject, units: 5 });
    expect(again[1]!.evidence).toEqual([{ type: 'MARKETPLACE_ORDER', id: second.orderId }, { type: 'MARKETPLACE_ORDER', id: first.orderId }]);
    expect(await openSubjects('UNMAPPED_LISTING', listed.channelId)).toEqual([subject]);

    const sku = await w.item();
    await runAction(raised!, { sku });
    const all = await signalled('UNMAPPED_LISTING', subject, 3, 'CLEARED');
    expect(all[2]).toMatchObject({ state: 'CLEARED', subject, cause: 'UNMAPPED_SKU', sku, evidence: [{ type: 'LISTING', id: `${listed.channelId}:${sku}` }] });
    expect(await openSubjects('UNMAPPED_LISTING', listed.channelId)).toEqual([]);
  });

  it('a listing naming no marketplace SKU maps orders naming its SKU (the SKU it is listed as), and clears the problem of that SKU', async () => {
    const listed = await quietChannel({ catalogue: 'LISTED' });
    const sku = await w.item();
    await w.receive(sku, store, 5);
    sim.setQuantity('EBAY', listed.account, sku, 5);
    const before = sim.placeOrder('EBAY', listed.account, [{ sku, quantity: 1 }]);
    const subject = `${listed.channelId}:${sku}`;
    await signalled('UNMAPPED_LISTING', subject, 1, 'RAISED');
    await w.ok(SET_LISTING, { c: listed.channelId, i: { sku } });
    await signalled('UNMAPPED_LISTING', subject, 2, 'CLEARED');
    const after = sim.placeOrder('EBAY', listed.account, [{ sku, quantity: 1 }]);
    const find = (orderId: string) => db().manager.findOne(MarketplaceOrderEntity, { where: { channelId: listed.channelId, marketplaceOrderId: orderId } });
    await waitFor('the later order placed', async () => (await find(after.orderId))?.status === 'PLACED');
    // The one recorded UNMAPPED before is placed too, now that its line maps.
    await waitFor('the earlier order placed', async () => (await find(before.orderId))?.status === 'PLACED');
  });
});

describe('OVERSOLD', () => {
  const intakeRow = (channelId: string, orderId: string) => db().manager.findOne(MarketplaceOrderEntity, { where: { channelId, marketplaceOrderId: orderId } });

  it('raises an oversold order with its measured cause, units short and evidence, and clears it when the buyer cancels', async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    await w.receive(sku, store, 2);
    await w.pushRecorded(ebay, sku);
    // The marketplace drifted: it shows more than we pushed.
    sim.setQuantity('EBAY', ebay.account, sku, 9);
    const { orderId } = sim.placeOrder('EBAY', ebay.account, [{ sku, quantity: 5 }]);
    const subject = `${ebay.channelId}:${orderId}`;
    const [raised] = await signalled('OVERSOLD', subject, 1, 'RAISED');
    const row = (await intakeRow(ebay.channelId, orderId))!;
    const [evidence] = JSON.parse(row.evidence!) as { lastPushedAt: string }[];
    expect(raised).toMatchObject({
      kind: 'OVERSOLD',
      state: 'RAISED',
      subject,
      cause: 'DRIFT',
      sku,
      channelId: ebay.channelId,
      units: 3,
      value: null,
      evidence: [
        { type: 'MARKETPLACE_ORDER', id: orderId },
        { type: 'ORDER', id: row.orderId },
        { type: 'PUSH', id: `${ebay.channelId}:${sku}:${evidence!.lastPushedAt}` },
      ],
      action: { kind: 'REQUEST_DRIFT_REPAIR', channelId: ebay.channelId },
    });

    sim.cancelOrder('EBAY', ebay.account, orderId);
    const all = await signalled('OVERSOLD', subject, 2, 'CLEARED');
    expect(all[1]).toMatchObject({ state: 'CLEARED', subject, cause: 'DRIFT', channelId: ebay.channelId });
    expect((await intakeRow(ebay.channelId, orderId))?.status).toBe('CANCELLED');
  });

  it('suggests a buffer for an oversell the marketplace was told of late, and clears a backorder once filled', async () => {
    const patient = await quietChannel();
    await w.ok(CONNECT, { id: patient.channelId, input: { accountId: patient.account, baseUrl: sim.baseUrl('EBAY', patient.account), secretName: patient.account, oversellPolicy: 'BACKORDER' } });
    const sku = await w.item();
    await w.receive(sku, store, 5);
    await w.pushRecorded(patient, sku);
    // The change to 1 unit waits out a throttle: eBay still shows 5 when the buyer orders 4.
    sim.inject('EBAY', patient.account, { type: 'throttle', count: 1, retryAfterMs: 4000 });
    await w.cycleCounts(sku, store, [1]);
    await waitFor('the throttle recorded', async () => (await w.sync(patient.channelId)).throttleCount >= 1);
    const { orderId } = sim.placeOrder('EBAY', patient.account, [{ sku, quantity: 4 }]);
    const subject = `${patient.channelId}:${orderId}`;
    const [raised] = await signalled('OVERSOLD', subject, 1, 'RAISED');
    // The channel holds no buffer back: 3 units would have absorbed the 3 it sold short.
    expect(raised).toMatchObject({ cause: 'THROTTLED', units: 3, action: { kind: 'SET_BUFFER', channelId: patient.channelId, units: 3 } });
    await waitFor('the order backordered', async () => (await intakeRow(patient.channelId, orderId))?.resolution === 'BACKORDERED');
    expect(await openSubjects('OVERSOLD', patient.channelId)).toEqual([subject]);

    await w.receive(sku, store, 10);
    const all = await signalled('OVERSOLD', subject, 2, 'CLEARED');
    const row = (await intakeRow(patient.channelId, orderId))!;
    expect(row).toMatchObject({ status: 'PLACED', resolution: 'BACKORDER_FILLED' });
    expect(all[1]).toMatchObject({ state: 'CLEARED', subject, cause: 'THROTTLED', evidence: [{ type: 'MARKETPLACE_ORDER', id: orderId }, { type: 'ORDER', id: row.orderId }] });
  });
});

describe('SYNC_LAG', () => {
  it('raises a channel whose oldest unpushed change passes the threshold, naming why (a missing secret), again as it doubles, and clears it once pushes catch up', async () => {
    const held = await w.marketplaceChannel('EBAY', [store], undefined, { secret: false });
    await w.replicated([store], [held.channelId]);
    const sku = await w.item();
    await w.receive(sku, store, 3);
    const [raised] = await signalled('SYNC_LAG', held.channelId, 1, 'RAISED');
    expect(raised).toMatchObject({ kind: 'SYNC_LAG', state: 'RAISED', subject: held.channelId, cause: 'SECRET_MISSING', channelId: held.channelId, sku: null });
    expect(raised!.measure).toBeGreaterThanOrEqual(THRESHOLD_MS / 1000);
    // Kept in marketplaces' database (so a restart does not raise it again); raised again only once twice as far behind, so its severity can follow.
    expect(await openSubjects('SYNC_LAG', held.channelId)).toEqual([held.channelId]);
    const again = await signalled('SYNC_LAG', held.channelId, 2, 'RAISED');
    expect(again[1]).toMatchObject({ state: 'RAISED', subject: held.channelId, cause: 'SECRET_MISSING' });
    expect(again[1]!.measure).toBeGreaterThanOrEqual(2 * raised!.measure!);

    await w.writeSecret(held);
    await w.converged(held, [sku]);
    const all = await waitFor('SYNC_LAG cleared', async () => {
      const got = await signals('SYNC_LAG', held.channelId);
      return got.at(-1)?.state === 'CLEARED' ? got : null;
    }, 30_000);
    expect(all.at(-1)).toMatchObject({ state: 'CLEARED', subject: held.channelId, cause: 'SECRET_MISSING' });
    expect(all.slice(0, -1).every((x) => x.state === 'RAISED')).toBe(true);
    expect(await openSubjects('SYNC_LAG', held.channelId)).toEqual([]);
  });

  it('names the marketplace throttling us as RATE_LIMITED', async () => {
    const ebay = await quietChannel();
    const sku = await w.item();
    sim.inject('EBAY', ebay.account, { type: 'throttle', count: 1, retryAfterMs: THRESHOLD_MS * 2 });
    await w.receive(sku, store, 4);
    const [raised] = await signalled('SYNC_LAG', ebay.channelId, 1, 'RAISED');
    expect(raised).toMatchObject({ cause: 'RATE_LIMITED', subject: ebay.channelId });
    await w.converged(ebay, [sku]);
    await signalled('SYNC_LAG', ebay.channelId, 2, 'CLEARED');
    expect(await signals('SYNC_LAG', ebay.channelId)).toHaveLength(2);
  });
});
