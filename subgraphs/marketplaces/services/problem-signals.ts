import type { EntityManager } from 'typeorm';
import { problemEvent, type ProblemKind, type ProblemSignalInput } from '../../../contracts/events.js';
import { outboxStore } from '../../../lib/outbox.js';
import { problemStore } from '../data/problem.store.js';
import { clearedSignal, mergeRaised, type Evidence, type OpenProblem } from '../domain/problem-rules.js';

/** A signal of this subgraph: every problem it raises is about one channel. */
export type ChannelSignal = ProblemSignalInput & { channelId: string };

/** What ended an open problem (domain/problem-rules.ts clearedSignal). */
export type ClearedBy = (open: OpenProblem) => { explanation: string; sku?: string | null; evidence?: readonly Evidence[] };

const keyOf = (p: { kind: string; subject: string }) => `${p.kind}\n${p.subject}`;

/**
 * Raising and clearing problems inside the caller's transaction: the open problem's row
 * (marketplace_problems) and the `problem` outbox event are written together, so the exceptions
 * inbox hears of each exactly as the state that caused it was recorded, and a problem is cleared
 * once, by whichever process sees its end first.
 */
export const problemSignals = {
  /**
   * Raises problems, or raises open ones again: each event carries the whole open problem (its
   * evidence so far, an unmapped SKU's units summed: domain/problem-rules.ts mergeRaised).
   */
  async raise(tx: EntityManager, signals: readonly ChannelSignal[], at: Date): Promise<void> {
    if (!signals.length) return;
    const kinds = [...new Set(signals.map((s) => s.kind))];
    const subjects = [...new Set(signals.map((s) => s.subject))];
    // Locked first, so a concurrent raise or clear of the same subject waits for this one.
    const open = new Map((await problemStore.open(tx, kinds, subjects, { lock: true })).map((o) => [keyOf(o), o]));
    const events = signals.map((signal) => {
      const merged = mergeRaised(open.get(keyOf(signal)) ?? null, signal);
      open.set(keyOf(signal), { kind: signal.kind, subject: signal.subject, channelId: signal.channelId, cause: signal.cause, ...merged });
      return problemEvent({ ...signal, ...merged });
    });
    const rows = [...new Set(signals.map(keyOf))].sort().map((k) => open.get(k)!);
    await problemStore.upsert(tx, rows, at);
    await outboxStore.append(tx, events, at);
  },

  /**
   * Raises a problem unless it is open already (SYNC_LAG: one signal per crossing).
   * @returns whether this call raised it
   */
  async raiseOnce(tx: EntityManager, signal: ChannelSignal, at: Date): Promise<boolean> {
    const row: OpenProblem = {
      kind: signal.kind,
      subject: signal.subject,
      channelId: signal.channelId,
      cause: signal.cause,
      units: signal.units ?? null,
      measure: signal.measure ?? null,
      evidence: signal.evidence ?? [],
    };
    if (!(await problemStore.insertIfAbsent(tx, row, at))) return false;
    await outboxStore.append(tx, [problemEvent(signal)], at);
    return true;
  },

  /**
   * Clears the open problems of these kinds among these subjects, with an event for each that was
   * open (nothing for the others: most pushes end no problem).
   * @returns the problems it cleared
   */
  async clear(tx: EntityManager, kinds: readonly ProblemKind[], subjects: readonly string[], by: ClearedBy, at: Date): Promise<OpenProblem[]> {
    const open = await problemStore.open(tx, kinds, [...new Set(subjects)], { lock: true });
    if (!open.length) return [];
    await problemStore.remove(tx, open);
    await outboxStore.append(tx, open.map((o) => problemEvent(clearedSignal(o, by(o), at))), at);
    return open;
  },

  /** Clears every open problem of these kinds about the channel (see clear). */
  async clearChannel(tx: EntityManager, kinds: readonly ProblemKind[], channelId: string, by: ClearedBy, at: Date): Promise<OpenProblem[]> {
    return this.clear(tx, kinds, await problemStore.subjectsOfChannel(tx, kinds, channelId), by, at);
  },

  /** The open problems of a kind among these subjects, locked for the rest of the transaction. */
  open(tx: EntityManager, kind: ProblemKind, subjects: readonly string[]): Promise<OpenProblem[]> {
    return problemStore.open(tx, [kind], subjects, { lock: true });
  },

  /** The open problems of a kind. */
  openOfKind(tx: EntityManager, kind: ProblemKind): Promise<OpenProblem[]> {
    return problemStore.openOfKind(tx, kind);
  },
};
