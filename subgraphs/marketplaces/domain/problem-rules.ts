import { createHash } from 'node:crypto';
import type { EvidenceType, ProblemAction, ProblemKind, ProblemSignalInput } from '../../../contracts/events.js';
import type { MarketplaceKind } from '../connectors/types.js';
import type { OversellCause, OversellPolicy } from './intake-rules.js';

/**
 * The problems marketplace sync raises and clears for the exceptions inbox (contracts/events.ts
 * problem signals): what names one thing that is wrong (its subject), the stable code of its
 * measured cause, and the fix it suggests. No I/O. The exceptions subgraph groups signals of one
 * kind by (channel, cause), so causes are codes (never messages) and subjects stay the same for as
 * long as the one thing stays wrong.
 */

const SUBJECT_MAX = 200;
const CAUSE_MAX = 100;
const EXPLANATION_MAX = 2000;
const EVIDENCE_MAX = 50;

export interface Evidence {
  type: EvidenceType;
  id: string;
}

/**
 * `channelId:ref` (a SKU, a marketplace SKU, a marketplace order id). A ref too long for a subject
 * (a marketplace's SKU is theirs to choose) is named by its digest, so the subject stays stable.
 */
export function subjectOf(channelId: string, ref?: string): string {
  if (ref === undefined) return channelId;
  const subject = `${channelId}:${ref}`;
  if (subject.length <= SUBJECT_MAX) return subject;
  return `${channelId}:sha256:${createHash('sha256').update(ref).digest('hex')}`;
}

/** A code as the exceptions inbox groups by: upper case letters, digits and `_`, at most 100 characters. */
export function causeCode(raw: string): string {
  const code = raw.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return (code || 'UNKNOWN').slice(0, CAUSE_MAX);
}

const explain = (text: string) => (text.length > EXPLANATION_MAX ? `${text.slice(0, EXPLANATION_MAX - 1)}…` : text);

// DEAD_LETTER

/** How a push failed, as the push worker saw it (the last try, for one that ran out of tries). */
export interface PushFailure {
  message: string;
  /** The marketplace's own error code (eBay errorId, Amazon issue code, Walmart ingestion code, Shopify userError code), or one of ours (OUR_CODES). */
  code: string | null;
  /** The HTTP status of the call, where it answered one. */
  status: number | null;
  /** No usable answer at all: none in time, no connection, or one we could not read. */
  reason: 'TIMEOUT' | 'NETWORK' | 'UNREADABLE' | null;
}

/** Codes our connectors give a refusal of their own (connectors/http.ts partitionUpdates): not the marketplace's. */
const OUR_CODES = new Set(['INVALID_QUANTITY']);

/**
 * The cause of a dead letter: the marketplace's own error code prefixed with the marketplace
 * (`EBAY_25002`), else the HTTP status (`HTTP_400`), else what kept an answer from coming
 * (`TIMEOUT`, `NETWORK`, `UNREADABLE_RESPONSE`). Never the message: it names the SKU and its values,
 * and 4,000 SKUs refused for one reason are one problem.
 */
export function deadLetterCause(kind: MarketplaceKind, failure: Omit<PushFailure, 'message'>): string {
  if (failure.code) {
    const code = causeCode(failure.code);
    return OUR_CODES.has(code) ? code : causeCode(`${kind}_${code}`);
  }
  if (failure.reason === 'UNREADABLE') return 'UNREADABLE_RESPONSE';
  if (failure.reason) return failure.reason;
  if (failure.status !== null) return `HTTP_${failure.status}`;
  return 'UNKNOWN';
}

/** A (channel, SKU) whose pushes were dead-lettered: the marketplace does not show what we hold of it until they are replayed. */
export function deadLetterSignal(
  p: { channelId: string; sku: string; quantity: number | null; cause: string; message: string; deadLetterIds: readonly string[] },
  at: Date,
): ProblemSignalInput {
  const told = p.quantity === null ? 'its quantity' : `${p.quantity}`;
  return {
    kind: 'DEAD_LETTER',
    state: 'RAISED',
    subject: subjectOf(p.channelId, p.sku),
    cause: p.cause,
    explanation: explain(`The marketplace was not told ${told} of ${p.sku}: the push was dead-lettered (${p.cause}): ${p.message}`),
    sku: p.sku,
    channelId: p.channelId,
    units: p.quantity,
    evidence: p.deadLetterIds.map((id) => ({ type: 'DEAD_LETTER' as const, id })),
    action: { kind: 'REPLAY_DEAD_LETTERS', channelId: p.channelId },
    at: at.toISOString(),
  };
}

// MARKETPLACE_DRIFT

/**
 * Why a marketplace's quantity differs from what it should show, from what we last told it:
 * NOT_LISTED, the marketplace does not list the SKU; CHANGED_AT_MARKETPLACE, it shows something
 * other than our last push (a sale intake has not seen yet, an edit in the seller's back office);
 * PUSH_MISSED, it shows our last push but we hold another quantity that no push is on its way with
 * (a change never queued); QUANTITY_MISMATCH, we do not know what we last told it.
 */
export type DriftCause = 'NOT_LISTED' | 'CHANGED_AT_MARKETPLACE' | 'PUSH_MISSED' | 'QUANTITY_MISMATCH';

export function driftCause(line: { ours: number; theirs: number | null }, lastPushedQuantity: number | null): DriftCause {
  if (line.theirs === null) return 'NOT_LISTED';
  if (lastPushedQuantity === null) return 'QUANTITY_MISMATCH';
  return line.theirs !== lastPushedQuantity ? 'CHANGED_AT_MARKETPLACE' : 'PUSH_MISSED';
}

/**
 * Units the marketplace shows beyond what it should (negative: fewer, sales it cannot make). A
 * marketplace not listing the SKU shows none.
 */
export const driftUnits = (line: { ours: number; theirs: number | null }) => (line.theirs ?? 0) - line.ours;

export function driftSignal(p: { channelId: string; sku: string; ours: number; theirs: number | null; cause: DriftCause; runId: string }, at: Date): ProblemSignalInput {
  const units = driftUnits(p);
  const shown = p.theirs === null ? 'does not list it' : `shows ${p.theirs}`;
  return {
    kind: 'MARKETPLACE_DRIFT',
    state: 'RAISED',
    subject: subjectOf(p.channelId, p.sku),
    cause: p.cause,
    explanation: explain(`The marketplace ${shown} of ${p.sku} where it should show ${p.ours} (${units > 0 ? `${units} more: it may sell units we do not have` : `${-units} fewer: sales it cannot make`}); drift repair pushed ${p.ours} again`),
    sku: p.sku,
    channelId: p.channelId,
    // Units at risk add up over an exception's SKUs: showing more and showing fewer are both wrong, and must not cancel out.
    units: Math.abs(units),
    measure: Math.abs(units),
    evidence: [{ type: 'DRIFT_RUN', id: p.runId }],
    action: { kind: 'REQUEST_DRIFT_REPAIR', channelId: p.channelId },
    at: at.toISOString(),
  };
}

// UNMAPPED_LISTING

export function unmappedSignal(p: { channelId: string; marketplaceSku: string; units: number; marketplaceOrderId: string; why: string }, at: Date): ProblemSignalInput {
  return {
    kind: 'UNMAPPED_LISTING',
    state: 'RAISED',
    subject: subjectOf(p.channelId, p.marketplaceSku),
    cause: 'UNMAPPED_SKU',
    explanation: explain(`Order ${p.marketplaceOrderId} names marketplace SKU ${p.marketplaceSku}, which maps to none of ours (${p.why}): its ${p.units} unit(s) were not placed`),
    channelId: p.channelId,
    units: p.units,
    evidence: [{ type: 'MARKETPLACE_ORDER', id: p.marketplaceOrderId }],
    action: { kind: 'MAP_LISTING', channelId: p.channelId, marketplaceSku: p.marketplaceSku },
    at: at.toISOString(),
  };
}

// OVERSOLD

/** A channel's buffer as the channel replica holds it: null for none; undefined when the replica does not know it yet. */
export type ChannelBuffer = { kind: 'UNITS' | 'PERCENT'; value: number } | null | undefined;

/** Causes where the marketplace showed units it should not have because it heard of a change late: a buffer absorbs them. */
const TOLD_LATE: ReadonlySet<OversellCause> = new Set(['PUSH_LAG', 'THROTTLED', 'INTAKE_DELAY']);

/**
 * The buffer in units that would have kept this oversell from happening: the channel's buffer
 * raised by the most units any line was short. Null when that cannot be said in units: the
 * channel's buffer is a percentage, or not known yet (a suggestion must never lower a buffer).
 */
export function suggestedBuffer(current: ChannelBuffer, shortPerLine: readonly number[]): number | null {
  if (current === undefined || current?.kind === 'PERCENT') return null;
  return (current?.value ?? 0) + Math.max(0, ...shortPerLine);
}

/**
 * The fix an oversold marketplace order suggests: cancelling its Omnistock order where one still
 * holds stock the channel's policy left open; else, when the marketplace was told late, a buffer
 * that absorbs what it sells meanwhile; for drift, a drift repair run; otherwise none.
 */
export function oversoldAction(p: {
  channelId: string;
  cause: OversellCause;
  /** The Omnistock order placed for it, and whether it is still open (holds stock). */
  order: { id: string; open: boolean } | null;
  policy: OversellPolicy;
  buffer: ChannelBuffer;
  shortPerLine: readonly number[];
}): ProblemAction | null {
  if (p.order?.open && p.policy !== 'CANCEL') return { kind: 'CANCEL_ORDER', orderId: p.order.id };
  if (TOLD_LATE.has(p.cause)) {
    const units = suggestedBuffer(p.buffer, p.shortPerLine);
    return units === null ? null : { kind: 'SET_BUFFER', channelId: p.channelId, units };
  }
  if (p.cause === 'DRIFT') return { kind: 'REQUEST_DRIFT_REPAIR', channelId: p.channelId };
  return null;
}

/** The push an oversold line's marketplace showed, as its push history's key names it. */
export const pushEvidenceId = (channelId: string, sku: string, pushedAt: string) => `${channelId}:${sku}:${pushedAt}`;

export function oversoldSignal(
  p: {
    channelId: string;
    marketplaceOrderId: string;
    orderId: string | null;
    units: number;
    cause: OversellCause;
    lines: readonly { sku: string; requested: number; available: number; lastPushedAt: string | null }[];
    action: ProblemAction | null;
  },
  at: Date,
): ProblemSignalInput {
  const evidence: Evidence[] = [{ type: 'MARKETPLACE_ORDER', id: p.marketplaceOrderId }];
  if (p.orderId) evidence.push({ type: 'ORDER', id: p.orderId });
  for (const l of p.lines) if (l.lastPushedAt) evidence.push({ type: 'PUSH', id: pushEvidenceId(p.channelId, l.sku, l.lastPushedAt) });
  const lines = p.lines.map((l) => `${l.sku}: ${l.requested} sold, ${l.available} available`).join('; ');
  return {
    kind: 'OVERSOLD',
    state: 'RAISED',
    subject: subjectOf(p.channelId, p.marketplaceOrderId),
    cause: p.cause,
    explanation: explain(`Marketplace order ${p.marketplaceOrderId} sold ${p.units} unit(s) we did not have (${p.cause}): ${lines}`),
    sku: p.lines.length === 1 ? p.lines[0]!.sku : null,
    channelId: p.channelId,
    units: p.units,
    evidence: evidence.slice(0, EVIDENCE_MAX),
    action: p.action,
    at: at.toISOString(),
  };
}

// SYNC_LAG

/**
 * Why a channel's marketplace lags what we hold: the connection's problem code (its pushes are held:
 * SECRET_MISSING, SECRET_UNREADABLE, BASE_URL_NOT_ALLOWED); PUSH_FAILING, pushes of waiting SKUs fail
 * and retry; RATE_LIMITED, the marketplace throttled us since the oldest change waits, or the
 * account's rate bucket is (nearly) empty (pushes go at the marketplace's documented rate and
 * cannot go faster); else PUSH_BACKLOG (the push workers, inventory's reads or the jobs process are behind).
 */
export function syncLagCause(p: {
  problemCode: string | null;
  failing: boolean;
  lastThrottledAt: Date | null;
  oldestPendingSince: Date;
  /** The account's push bucket: its units as a share of its capacity (below 0 while a Retry-After pause lasts); null when unknown. */
  bucketFill: number | null;
}): string {
  if (p.problemCode) return causeCode(p.problemCode);
  if (p.failing) return 'PUSH_FAILING';
  if (p.lastThrottledAt && p.lastThrottledAt >= p.oldestPendingSince) return 'RATE_LIMITED';
  if (p.bucketFill !== null && p.bucketFill < 0.1) return 'RATE_LIMITED';
  return 'PUSH_BACKLOG';
}

/**
 * Whether a channel's lag crossed its threshold: RAISE once at or above it, CLEAR once under half of
 * it (hysteresis: a lag hovering at the threshold is one problem, not one per check), else nothing.
 */
export function syncLagTransition(p: { raised: boolean; lagMs: number; thresholdMs: number; raisedLagMs?: number | null }): 'RAISE' | 'RAISE_AGAIN' | 'CLEAR' | null {
  if (!p.raised && p.lagMs >= p.thresholdMs) return 'RAISE';
  if (p.raised && p.lagMs < p.thresholdMs / 2) return 'CLEAR';
  // Twice as far behind as when it was last raised: raised again with the lag now, so its exception's severity can follow.
  if (p.raised && p.raisedLagMs != null && p.lagMs >= 2 * Math.max(p.raisedLagMs, p.thresholdMs)) return 'RAISE_AGAIN';
  return null;
}

export function syncLagSignal(p: { channelId: string; lagMs: number; thresholdMs: number; cause: string; backlog: number }, at: Date): ProblemSignalInput {
  const seconds = Math.round(p.lagMs / 100) / 10;
  return {
    kind: 'SYNC_LAG',
    state: 'RAISED',
    subject: subjectOf(p.channelId),
    cause: p.cause,
    explanation: explain(`The marketplace has not been told a change for ${seconds} s (threshold ${p.thresholdMs / 1000} s, ${p.cause}); ${p.backlog} SKU(s) wait for a push`),
    channelId: p.channelId,
    measure: seconds,
    at: at.toISOString(),
  };
}

// Raising again and clearing

/** What a subject's open problem holds of the signals raised for it so far. */
export interface OpenProblem {
  kind: ProblemKind;
  subject: string;
  channelId: string;
  cause: string;
  units: number | null;
  /** The figure it was raised with (SYNC_LAG: seconds behind), to tell when it has grown. */
  measure: number | null;
  evidence: Evidence[];
}

/**
 * A subject raised again: each signal carries the whole open problem, since the exceptions subgraph
 * takes the latest. An unmapped marketplace SKU's units add up over the orders naming it; every
 * other kind's units are the latest measure. Evidence accumulates, newest first, up to 50.
 */
export function mergeRaised(open: OpenProblem | null, signal: ProblemSignalInput): { units: number | null; measure: number | null; evidence: Evidence[] } {
  const units = signal.units ?? null;
  const measure = signal.measure ?? null;
  const fresh = signal.evidence ?? [];
  if (!open) return { units, measure, evidence: fresh.slice(0, EVIDENCE_MAX) };
  const seen = new Set(fresh.map((e) => `${e.type}:${e.id}`));
  const evidence = [...fresh, ...open.evidence.filter((e) => !seen.has(`${e.type}:${e.id}`))].slice(0, EVIDENCE_MAX);
  const summed = signal.kind === 'UNMAPPED_LISTING' && units !== null && open.units !== null ? open.units + units : units;
  return { units: summed, measure, evidence };
}

/** The end of an open problem, with what ended it. */
export function clearedSignal(open: OpenProblem, p: { explanation: string; sku?: string | null; evidence?: readonly Evidence[] }, at: Date): ProblemSignalInput {
  return {
    kind: open.kind,
    state: 'CLEARED',
    subject: open.subject,
    cause: open.cause,
    explanation: explain(p.explanation),
    sku: p.sku ?? null,
    channelId: open.channelId,
    evidence: [...(p.evidence ?? [])].slice(0, EVIDENCE_MAX),
    at: at.toISOString(),
  };
}
