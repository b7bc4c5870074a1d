import { problemEvent, type ProblemSignalInput } from '../../../contracts/events.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import type { OutboxEvent } from '../../../lib/outbox.js';

/**
 * What a reconciliation run's drift means, free of I/O: the correction a recorded drift asks of a
 * level now, and the problem signals (RECONCILIATION_DRIFT) of a run nobody applied.
 */

/** A drifting line as recorded: the snapshot's on-hand (`theirs`) and ours when it was compared. */
export interface RecordedDrift {
  sku: string;
  locationId: string;
  theirs: number;
  ours: number;
}

export interface RunOf {
  id: string;
  source: string;
}

/** theirs − ours: what the count found that we did not hold (negative: units we hold that it did not find). */
export const driftOf = (d: RecordedDrift): number => d.theirs - d.ours;

/**
 * The on-hand a recorded drift asks of a level that holds `onHand` now: ours moved by the drift, so
 * what moved since the count (sales, receipts) is kept rather than overwritten by the old count.
 * Null when that falls below 0 or beyond the largest quantity: the count and what moved since
 * cannot both be right, and only a new count can tell.
 */
export function correctedOnHand(d: RecordedDrift, onHand: number): number | null {
  const count = onHand + driftOf(d);
  return count < 0 || count > MAX_QUANTITY ? null : count;
}

/** The subject of a drifting line's problem: one per run, SKU and location. */
export const driftSubject = (runId: string, d: Pick<RecordedDrift, 'sku' | 'locationId'>): string => `${runId}:${d.sku}:${d.locationId}`;

/**
 * RAISED for a line of a run recorded without apply. Its cause is the snapshot's source, so one
 * source's drifting lines are one problem; its action applies the run.
 */
export function driftRaised(run: RunOf, d: RecordedDrift, at: Date): OutboxEvent {
  const drift = driftOf(d);
  const signal: ProblemSignalInput = {
    kind: 'RECONCILIATION_DRIFT',
    state: 'RAISED',
    subject: driftSubject(run.id, d),
    cause: run.source,
    explanation: `${run.source} counted ${d.theirs} of ${d.sku} at location ${d.locationId} where we held ${d.ours} (drift ${drift > 0 ? '+' : ''}${drift}); the run was recorded without applying it.`,
    sku: d.sku,
    locationId: d.locationId,
    units: Math.abs(drift),
    measure: Math.abs(drift),
    evidence: [{ type: 'RECONCILIATION_RUN', id: run.id }],
    action: { kind: 'APPLY_RECONCILIATION', runId: run.id },
    at: at.toISOString(),
  };
  return problemEvent(signal);
}

/** CLEARED for a line of a run that was applied: corrected by the ledger line `movementId`. */
export function driftCleared(run: RunOf, d: RecordedDrift, movementId: string, actor: string | null, at: Date): OutboxEvent {
  const drift = driftOf(d);
  return problemEvent({
    kind: 'RECONCILIATION_DRIFT',
    state: 'CLEARED',
    subject: driftSubject(run.id, d),
    cause: run.source,
    explanation: `Applied${actor ? ` by ${actor}` : ''}: on-hand of ${d.sku} at location ${d.locationId} corrected by ${drift > 0 ? '+' : ''}${drift} (CYCLE_COUNT).`,
    sku: d.sku,
    locationId: d.locationId,
    units: Math.abs(drift),
    measure: Math.abs(drift),
    evidence: [
      { type: 'RECONCILIATION_RUN', id: run.id },
      { type: 'MOVEMENT', id: movementId },
    ],
    action: null,
    at: at.toISOString(),
  });
}

/**
 * RAISED again (the same subject, so it updates the problem) for a line the apply could not
 * correct: on-hand would have left its bounds. Applying the run again cannot help, so it carries
 * no action: the level needs a new count.
 */
export function driftUncorrectable(run: RunOf, d: RecordedDrift, onHand: number, at: Date): OutboxEvent {
  const drift = driftOf(d);
  return problemEvent({
    kind: 'RECONCILIATION_DRIFT',
    state: 'RAISED',
    subject: driftSubject(run.id, d),
    cause: run.source,
    explanation: `${run.source} counted ${d.theirs} of ${d.sku} at location ${d.locationId} where we held ${d.ours}; we hold ${onHand} now, and a drift of ${drift > 0 ? '+' : ''}${drift} cannot be applied to it. Count the level again.`,
    sku: d.sku,
    locationId: d.locationId,
    units: Math.abs(drift),
    measure: Math.abs(drift),
    evidence: [{ type: 'RECONCILIATION_RUN', id: run.id }],
    action: null,
    at: at.toISOString(),
  });
}
