import { PROBLEM_KINDS, type ProblemAction, type ProblemKind, type ProblemSignal } from '../../../contracts/events.js';
import { ANOMALY_KINDS, type AnomalyKind } from './anomaly-rules.js';

/**
 * What an exception is and how it moves: kinds, severities, the root cause signals group by, and
 * the states a person moves it through. No I/O.
 */

export const EXCEPTION_KINDS = [...PROBLEM_KINDS, ...ANOMALY_KINDS] as const;
export type ExceptionKind = ProblemKind | AnomalyKind;

export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);
export const maxSeverity = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);
/** The severities at or above `min`. */
export const severitiesFrom = (min: Severity): Severity[] => SEVERITIES.slice(severityRank(min));

export const EXCEPTION_STATES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
export type ExceptionState = (typeof EXCEPTION_STATES)[number];
/** What still needs a person. */
export const UNRESOLVED_STATES: readonly ExceptionState[] = ['OPEN', 'ACKNOWLEDGED'];

/** How an exception came to be resolved: a person, the cause clearing, or a person saying a finding was not an anomaly. */
export const RESOLUTIONS = ['MANUAL', 'AUTO', 'NOT_AN_ANOMALY'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** Entries of an exception's history; RAISED and ESCALATED are also what `exceptionRaised` and webhooks announce. */
export const EXCEPTION_EVENTS = ['RAISED', 'ESCALATED', 'ACKNOWLEDGED', 'ASSIGNED', 'RESOLVED', 'AUTO_RESOLVED'] as const;
export type ExceptionEvent = (typeof EXCEPTION_EVENTS)[number];


/** What one signal (or anomaly finding) tells about one subject, whoever measured it. */
export type Signal = Omit<ProblemSignal, 'kind'> & { kind: ExceptionKind };

/**
 * The root cause a signal belongs to: signals with one key are one exception. A marketplace
 * refusing 4,000 SKUs with one error is one (kind, channel, cause); a reconciliation run is one
 * problem however many lines drift; a listing to map, an anomaly's series and a stuck order's cause
 * are each their own.
 */
export function groupKeyOf(s: Signal): string {
  switch (s.kind) {
    case 'RECONCILIATION_DRIFT':
      return `${s.kind}|${s.action?.kind === 'APPLY_RECONCILIATION' ? s.action.runId : s.cause}`;
    case 'UNMAPPED_LISTING':
      return `${s.kind}|${s.channelId ?? ''}|${s.subject}`;
    case 'SHRINKAGE':
    case 'PHANTOM_STOCK':
    case 'COUNT_CORRECTIONS':
    case 'MOVEMENT_SPIKE':
      return `${s.kind}|${s.sku ?? ''}|${s.locationId ?? ''}`;
    default:
      return `${s.kind}|${s.channelId ?? ''}|${s.cause}`;
  }
}

/** What a group measures so far, to rate it. */
export interface GroupFigures {
  openSubjects: number;
  units: number | null;
  value: number | null;
  measure: number | null;
}

/**
 * How urgent an exception is, from what it puts at risk: a sale already lost is high, more so the
 * more units; one SKU's sync failing is medium, a whole channel's is high; anomalies are findings a
 * person checks, not outages. Severity only rises while an exception is open (see maxSeverity).
 */
export function severityOf(kind: ExceptionKind, f: GroupFigures): Severity {
  const units = Math.abs(f.units ?? 0);
  switch (kind) {
    case 'OVERSOLD':
      return units >= 20 || (f.value ?? 0) >= 1000 ? 'CRITICAL' : 'HIGH';
    case 'DEAD_LETTER':
      return f.openSubjects >= 100 ? 'CRITICAL' : f.openSubjects >= 10 ? 'HIGH' : 'MEDIUM';
    case 'MARKETPLACE_DRIFT':
      return f.openSubjects >= 100 || units >= 500 ? 'HIGH' : 'MEDIUM';
    case 'RECONCILIATION_DRIFT':
      return units >= 500 ? 'HIGH' : 'MEDIUM';
    case 'UNMAPPED_LISTING':
      return 'MEDIUM';
    case 'STUCK_ORDER':
      return f.openSubjects >= 10 ? 'CRITICAL' : 'HIGH';
    case 'SYNC_LAG':
      // measure: seconds the marketplace is behind.
      return (f.measure ?? 0) >= 600 ? 'CRITICAL' : 'HIGH';
    case 'SHRINKAGE':
      return units >= 50 ? 'HIGH' : 'MEDIUM';
    case 'PHANTOM_STOCK':
      return 'MEDIUM';
    case 'SYNC_LAG_TREND':
    case 'DRIFT_TREND':
      return 'MEDIUM';
    case 'COUNT_CORRECTIONS':
    case 'MOVEMENT_SPIKE':
      return 'LOW';
  }
}

/** A person's move on an exception. */
export type Transition = 'ACKNOWLEDGE' | 'RESOLVE';

/**
 * The state a person's move leads to, or why it may not: acknowledging an acknowledged exception
 * is a repeat (no change); nothing moves a resolved one (a recurrence opens a new exception).
 */
export function transition(from: ExceptionState, move: Transition): { to: ExceptionState; changed: boolean } | { refused: string } {
  if (from === 'RESOLVED') return { refused: 'the exception is already resolved' };
  if (move === 'ACKNOWLEDGE') return { to: 'ACKNOWLEDGED', changed: from !== 'ACKNOWLEDGED' };
  return { to: 'RESOLVED', changed: true };
}

/** The sentence an inbox shows for a group, in business terms. */
export function titleOf(kind: ExceptionKind, openSubjects: number, cause: string, subject: { sku: string | null; locationId: string | null; channelId: string | null }): string {
  const n = openSubjects;
  const skus = `${n} SKU${n === 1 ? '' : 's'}`;
  switch (kind) {
    case 'OVERSOLD':
      return `${n} marketplace order${n === 1 ? '' : 's'} sold without stock (${cause})`;
    case 'DEAD_LETTER':
      return `Marketplace refuses stock updates for ${skus} (${cause})`;
    case 'MARKETPLACE_DRIFT':
      return `Marketplace shows other quantities than ours for ${skus}`;
    case 'RECONCILIATION_DRIFT':
      return `Count from ${cause} differs from our stock on ${n} line${n === 1 ? '' : 's'}, not applied`;
    case 'UNMAPPED_LISTING':
      return `Orders for a marketplace listing that maps to none of our SKUs`;
    case 'STUCK_ORDER':
      return `${n} order${n === 1 ? '' : 's'} stuck (${cause})`;
    case 'SYNC_LAG':
      return `Marketplace stock is falling behind (${cause})`;
    case 'SHRINKAGE':
      return `Shrinkage above normal for ${subject.sku} at a location`;
    case 'PHANTOM_STOCK':
      return `Possible phantom stock: ${subject.sku} shows on hand but does not sell`;
    case 'COUNT_CORRECTIONS':
      return `Counts of ${subject.sku} keep being corrected`;
    case 'MOVEMENT_SPIKE':
      return `Unusual movement of ${subject.sku}`;
    case 'SYNC_LAG_TREND':
      return `Marketplace sync lag is trending up`;
    case 'DRIFT_TREND':
      return `Marketplace drift is trending up`;
  }
}

/** A suggested action as the GraphQL operation that applies it and the variables it needs. */
export interface ActionOperation {
  kind: ProblemAction['kind'];
  label: string;
  /** The owning subgraph's mutation, run through the gateway with the person's own rights. */
  operation: string;
  variables: Record<string, unknown>;
  /** Variables the person supplies (the SKU a listing maps to, a buffer to confirm). */
  missing: string[];
}

/**
 * The operation each suggested action runs. It is run by the person who chose it (the /ops page or
 * `omnistock exceptions act`), through the gateway, so the owning service checks their scopes: the
 * inbox lends nobody rights they do not hold.
 */
export function operationOf(action: ProblemAction, exceptionId: string): ActionOperation {
  switch (action.kind) {
    case 'REPLAY_DEAD_LETTERS':
      return {
        kind: action.kind,
        label: 'Replay the dead letters',
        operation: 'mutation ReplayDeadLetters($channelId: ID!, $ids: [ID!]) { replayDeadLetters(channelId: $channelId, ids: $ids) { replayed { id } } }',
        variables: { channelId: action.channelId, ids: action.ids ?? null },
        missing: [],
      };
    case 'APPLY_RECONCILIATION':
      return {
        kind: action.kind,
        label: 'Apply the count',
        operation: 'mutation ApplyReconciliation($runId: ID!) { applyReconciliation(runId: $runId) { id applied driftCount } }',
        variables: { runId: action.runId },
        missing: [],
      };
    case 'CANCEL_ORDER':
      return {
        kind: action.kind,
        label: 'Cancel the order',
        operation:
          'mutation CancelOrder($orderId: ID!, $idempotencyKey: String!) { cancelOrder(input: { orderId: $orderId, idempotencyKey: $idempotencyKey, reason: "exceptions inbox" }) { id status } }',
        // One key per exception: running the action twice cancels once.
        variables: { orderId: action.orderId, idempotencyKey: `exception:${exceptionId}:cancel` },
        missing: [],
      };
    case 'SET_BUFFER':
      return {
        kind: action.kind,
        label: `Hold back ${action.units} units on the channel`,
        operation:
          'mutation SetBuffer($channelId: ID!, $units: Int!) { setChannelBuffer(channelId: $channelId, buffer: { kind: UNITS, value: $units }) { id } }',
        variables: { channelId: action.channelId, units: action.units },
        missing: [],
      };
    case 'MAP_LISTING':
      return {
        kind: action.kind,
        label: 'Map the listing to one of our SKUs',
        operation:
          'mutation MapListing($channelId: ID!, $sku: String!, $marketplaceSku: String!) { setMarketplaceListing(channelId: $channelId, input: { sku: $sku, marketplaceSku: $marketplaceSku }) { sku } }',
        variables: { channelId: action.channelId, marketplaceSku: action.marketplaceSku },
        missing: ['sku'],
      };
    case 'RETRY_ORDER':
      return {
        kind: action.kind,
        label: 'Retry the order',
        operation: 'mutation RetryOrder($id: ID!) { retryOrder(id: $id) { id status } }',
        variables: { id: action.orderId },
        missing: [],
      };
    case 'REQUEST_DRIFT_REPAIR':
      return {
        kind: action.kind,
        label: 'Repair the marketplace quantities now',
        operation: 'mutation RequestDriftRepair($channelId: ID!) { requestDriftRepair(channelId: $channelId) }',
        variables: { channelId: action.channelId },
        missing: [],
      };
  }
}
