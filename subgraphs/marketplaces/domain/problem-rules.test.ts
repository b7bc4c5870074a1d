import { describe, expect, it } from 'vitest';
import { problemEvent, problemSignalSchema } from '../../../contracts/events.js';
import {
  causeCode,
  clearedSignal,
  deadLetterCause,
  deadLetterSignal,
  driftCause,
  driftSignal,
  mergeRaised,
  oversoldAction,
  subjectOf,
  suggestedBuffer,
  syncLagCause,
  syncLagTransition,
  unmappedSignal,
} from './problem-rules.js';

const CHANNEL = '0b6f8f3e-7a43-4c55-9d1e-6a1e1b2c3d4e';
const at = new Date(Date.UTC(2026, 11, 6, 12, 0, 0));
const none = { code: null, status: null, reason: null } as const;

describe('deadLetterCause', () => {
  it("names the marketplace's own code, prefixed with the marketplace", () => {
    expect(deadLetterCause('EBAY', { ...none, code: '25002', status: 400 })).toBe('EBAY_25002');
    expect(deadLetterCause('AMAZON', { ...none, code: 'INVALID_ARGUMENT' })).toBe('AMAZON_INVALID_ARGUMENT');
    expect(deadLetterCause('WALMART', { ...none, code: 'ERR_EXT_DATA_0101' })).toBe('WALMART_ERR_EXT_DATA_0101');
    expect(deadLetterCause('SHOPIFY', { ...none, code: 'item-not-stocked at location' })).toBe('SHOPIFY_ITEM_NOT_STOCKED_AT_LOCATION');
  });

  it('keeps a code of our own connectors as it is', () => {
    expect(deadLetterCause('EBAY', { ...none, code: 'INVALID_QUANTITY' })).toBe('INVALID_QUANTITY');
  });

  it('falls back on the HTTP status, then on what kept an answer from coming', () => {
    expect(deadLetterCause('EBAY', { ...none, status: 400 })).toBe('HTTP_400');
    expect(deadLetterCause('AMAZON', { ...none, status: 503 })).toBe('HTTP_503');
    expect(deadLetterCause('WALMART', { ...none, reason: 'TIMEOUT' })).toBe('TIMEOUT');
    expect(deadLetterCause('SHOPIFY', { ...none, reason: 'NETWORK' })).toBe('NETWORK');
    // A body we could not read came with a status: the status says nothing of what went wrong.
    expect(deadLetterCause('SHOPIFY', { ...none, status: 200, reason: 'UNREADABLE' })).toBe('UNREADABLE_RESPONSE');
    expect(deadLetterCause('EBAY', none)).toBe('UNKNOWN');
  });

  it('is stable whatever the message says, and fits the contract', () => {
    expect(causeCode('  weird -- code!! ')).toBe('WEIRD_CODE');
    expect(causeCode('***')).toBe('UNKNOWN');
    expect(deadLetterCause('EBAY', { ...none, code: 'x'.repeat(500) })).toHaveLength(100);
  });
});

describe('subjects', () => {
  it('are channelId:ref, a ref too long for the contract named by its digest (stable)', () => {
    expect(subjectOf(CHANNEL, 'SKU-1')).toBe(`${CHANNEL}:SKU-1`);
    expect(subjectOf(CHANNEL)).toBe(CHANNEL);
    const long = 'M'.repeat(300);
    expect(subjectOf(CHANNEL, long)).toBe(subjectOf(CHANNEL, long));
    expect(subjectOf(CHANNEL, long).length).toBeLessThanOrEqual(200);
    expect(subjectOf(CHANNEL, long)).not.toBe(subjectOf(CHANNEL, `${long}N`));
  });
});

describe('driftCause', () => {
  it('tells the marketplace moving from a change we never pushed', () => {
    expect(driftCause({ ours: 9, theirs: null }, 9)).toBe('NOT_LISTED');
    expect(driftCause({ ours: 9, theirs: 3 }, 9)).toBe('CHANGED_AT_MARKETPLACE');
    expect(driftCause({ ours: 9, theirs: 12 }, 9)).toBe('CHANGED_AT_MARKETPLACE');
    expect(driftCause({ ours: 9, theirs: 5 }, 5)).toBe('PUSH_MISSED');
    expect(driftCause({ ours: 9, theirs: 5 }, null)).toBe('QUANTITY_MISMATCH');
  });

  it('raises the size of the difference as units at risk and as the measure (the explanation says which way)', () => {
    const s = problemSignalSchema.parse(driftSignal({ channelId: CHANNEL, sku: 'A', ours: 9, theirs: 3, cause: 'CHANGED_AT_MARKETPLACE', runId: 'run-1' }, at));
    expect(s).toMatchObject({
      kind: 'MARKETPLACE_DRIFT', state: 'RAISED', subject: `${CHANNEL}:A`, cause: 'CHANGED_AT_MARKETPLACE', units: 6, measure: 6, sku: 'A',
      evidence: [{ type: 'DRIFT_RUN', id: 'run-1' }], action: { kind: 'REQUEST_DRIFT_REPAIR', channelId: CHANNEL },
    });
    expect(driftSignal({ channelId: CHANNEL, sku: 'A', ours: 4, theirs: null, cause: 'NOT_LISTED', runId: 'r' }, at)).toMatchObject({ units: 4, measure: 4 });
  });
});

describe('oversold', () => {
  it('suggests a buffer that raises the channel\'s by the most units a line was short, never one that lowers it', () => {
    expect(suggestedBuffer(null, [3, 1])).toBe(3);
    expect(suggestedBuffer({ kind: 'UNITS', value: 2 }, [3])).toBe(5);
    expect(suggestedBuffer({ kind: 'PERCENT', value: 10 }, [3])).toBeNull();
    expect(suggestedBuffer(undefined, [3])).toBeNull();
  });

  it('suggests what fits the measured cause', () => {
    const base = { channelId: CHANNEL, order: { id: 'o-1', open: false }, policy: 'RECORD' as const, buffer: null, shortPerLine: [2] };
    expect(oversoldAction({ ...base, cause: 'PUSH_LAG' })).toEqual({ kind: 'SET_BUFFER', channelId: CHANNEL, units: 2 });
    expect(oversoldAction({ ...base, cause: 'THROTTLED' })).toEqual({ kind: 'SET_BUFFER', channelId: CHANNEL, units: 2 });
    expect(oversoldAction({ ...base, cause: 'INTAKE_DELAY' })).toEqual({ kind: 'SET_BUFFER', channelId: CHANNEL, units: 2 });
    expect(oversoldAction({ ...base, cause: 'PUSH_LAG', buffer: { kind: 'PERCENT', value: 5 } })).toBeNull();
    expect(oversoldAction({ ...base, cause: 'DRIFT' })).toEqual({ kind: 'REQUEST_DRIFT_REPAIR', channelId: CHANNEL });
    expect(oversoldAction({ ...base, cause: 'NEVER_PUSHED' })).toBeNull();
    // An Omnistock order still holding stock that the policy left open: cancelling it is the fix.
    expect(oversoldAction({ ...base, cause: 'PUSH_LAG', order: { id: 'o-1', open: true } })).toEqual({ kind: 'CANCEL_ORDER', orderId: 'o-1' });
    expect(oversoldAction({ ...base, cause: 'DRIFT', order: { id: 'o-1', open: true }, policy: 'CANCEL' })).toEqual({ kind: 'REQUEST_DRIFT_REPAIR', channelId: CHANNEL });
  });
});

describe('sync lag', () => {
  const since = new Date(at.getTime() - 90_000);
  const quiet = { problemCode: null, failing: false, lastThrottledAt: null, oldestPendingSince: since, bucketFill: 0.8 };

  it('names what holds the pushes back', () => {
    expect(syncLagCause({ ...quiet, problemCode: 'SECRET_MISSING', failing: true })).toBe('SECRET_MISSING');
    expect(syncLagCause({ ...quiet, failing: true })).toBe('PUSH_FAILING');
    expect(syncLagCause({ ...quiet, lastThrottledAt: new Date(since.getTime() + 1000) })).toBe('RATE_LIMITED');
    // A throttle before the oldest change waited held nothing of it back.
    expect(syncLagCause({ ...quiet, lastThrottledAt: new Date(since.getTime() - 1000) })).toBe('PUSH_BACKLOG');
    expect(syncLagCause({ ...quiet, bucketFill: 0.02 })).toBe('RATE_LIMITED');
    expect(syncLagCause({ ...quiet, bucketFill: -0.5 })).toBe('RATE_LIMITED');
    expect(syncLagCause({ ...quiet, bucketFill: null })).toBe('PUSH_BACKLOG');
    expect(syncLagCause(quiet)).toBe('PUSH_BACKLOG');
  });

  it('raises once at the threshold and clears only under half of it', () => {
    const t = 60_000;
    expect(syncLagTransition({ raised: false, lagMs: 59_999, thresholdMs: t })).toBeNull();
    expect(syncLagTransition({ raised: false, lagMs: 60_000, thresholdMs: t })).toBe('RAISE');
    expect(syncLagTransition({ raised: true, lagMs: 120_000, thresholdMs: t })).toBeNull();
    expect(syncLagTransition({ raised: true, lagMs: 45_000, thresholdMs: t })).toBeNull();
    expect(syncLagTransition({ raised: true, lagMs: 29_999, thresholdMs: t })).toBe('CLEAR');
    expect(syncLagTransition({ raised: false, lagMs: 0, thresholdMs: t })).toBeNull();
  });

  it('raises an open lag again once it is twice what it was last raised with, so its severity can follow', () => {
    const t = 60_000;
    expect(syncLagTransition({ raised: true, lagMs: 119_999, thresholdMs: t, raisedLagMs: 60_000 })).toBeNull();
    expect(syncLagTransition({ raised: true, lagMs: 120_000, thresholdMs: t, raisedLagMs: 60_000 })).toBe('RAISE_AGAIN');
    expect(syncLagTransition({ raised: true, lagMs: 480_000, thresholdMs: t, raisedLagMs: 240_000 })).toBe('RAISE_AGAIN');
    expect(syncLagTransition({ raised: true, lagMs: 300_000, thresholdMs: t, raisedLagMs: 240_000 })).toBeNull();
    // Raised with no figure (before it was kept): twice the threshold.
    expect(syncLagTransition({ raised: true, lagMs: 120_000, thresholdMs: t, raisedLagMs: 0 })).toBe('RAISE_AGAIN');
    expect(syncLagTransition({ raised: true, lagMs: 20_000, thresholdMs: t, raisedLagMs: 60_000 })).toBe('CLEAR');
  });
});

describe('raising again and clearing', () => {
  it('carries the whole open problem: evidence accumulates, an unmapped SKU\'s units add up, other units are the latest', () => {
    const first = unmappedSignal({ channelId: CHANNEL, marketplaceSku: 'THEIRS', units: 2, marketplaceOrderId: 'mo-1', why: 'no listing maps it' }, at);
    const open = { kind: 'UNMAPPED_LISTING' as const, subject: first.subject, channelId: CHANNEL, cause: 'UNMAPPED_SKU', units: 2, measure: null, evidence: [{ type: 'MARKETPLACE_ORDER' as const, id: 'mo-1' }] };
    const second = unmappedSignal({ channelId: CHANNEL, marketplaceSku: 'THEIRS', units: 3, marketplaceOrderId: 'mo-2', why: 'no listing maps it' }, at);
    expect(mergeRaised(open, second)).toEqual({ units: 5, measure: null, evidence: [{ type: 'MARKETPLACE_ORDER', id: 'mo-2' }, { type: 'MARKETPLACE_ORDER', id: 'mo-1' }] });
    expect(mergeRaised(null, second)).toEqual({ units: 3, measure: null, evidence: [{ type: 'MARKETPLACE_ORDER', id: 'mo-2' }] });

    const letter = deadLetterSignal({ channelId: CHANNEL, sku: 'A', quantity: 7, cause: 'EBAY_25019', message: 'no', deadLetterIds: ['d-2'] }, at);
    const openLetter = { kind: 'DEAD_LETTER' as const, subject: letter.subject, channelId: CHANNEL, cause: 'EBAY_25019', units: 5, measure: null, evidence: [{ type: 'DEAD_LETTER' as const, id: 'd-1' }] };
    expect(mergeRaised(openLetter, letter)).toEqual({ units: 7, measure: null, evidence: [{ type: 'DEAD_LETTER', id: 'd-2' }, { type: 'DEAD_LETTER', id: 'd-1' }] });
    const many = { ...openLetter, evidence: Array.from({ length: 60 }, (_, i) => ({ type: 'DEAD_LETTER' as const, id: `old-${i}` })) };
    expect(mergeRaised(many, letter).evidence).toHaveLength(50);
    expect(mergeRaised(many, letter).evidence[0]).toEqual({ type: 'DEAD_LETTER', id: 'd-2' });
  });

  it('builds signals the contract accepts, keyed by kind and subject', () => {
    const letter = deadLetterSignal({ channelId: CHANNEL, sku: 'A', quantity: null, cause: 'HTTP_400', message: 'x'.repeat(5000), deadLetterIds: ['d-1'] }, at);
    const event = problemEvent(letter);
    expect(event.key).toBe(`DEAD_LETTER:${CHANNEL}:A`);
    expect(problemSignalSchema.parse(event.payload)).toMatchObject({ units: null, action: { kind: 'REPLAY_DEAD_LETTERS', channelId: CHANNEL } });
    const open = { kind: 'DEAD_LETTER' as const, subject: letter.subject, channelId: CHANNEL, cause: 'HTTP_400', units: null, measure: null, evidence: [] };
    expect(problemSignalSchema.parse(clearedSignal(open, { explanation: 'pushed', sku: 'A' }, at))).toMatchObject({
      kind: 'DEAD_LETTER', state: 'CLEARED', subject: letter.subject, cause: 'HTTP_400', sku: 'A', action: null,
    });
  });
});
