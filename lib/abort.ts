import { anySignal } from 'any-signal';
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Sleeps `ms`, ending early (without an error) as soon as one of `signals` aborts. What it listens
 * on is removed when it ends. Not `AbortSignal.any`: on Node 20 every signal that makes stays
 * referenced from each signal it follows (nodejs/node#54614), so a loop pausing on a long-lived
 * one (a process's "stopping") leaked a little at every pause, for as long as the process ran.
 */
export async function sleepUnlessAborted(ms: number, signals: AbortSignal[]): Promise<void> {
  const combined = anySignal(signals);
  try {
    await sleep(ms, undefined, { signal: combined }).catch(() => {});
  } finally {
    combined.clear();
  }
}

/**
 * What hangs on a signal: its abort listeners, and the signals `AbortSignal.any` made from it,
 * which Node 20 keeps in a set of the signal's own for as long as it lives (nodejs/node#54614).
 * For tests that a long-lived signal is let go of.
 */
export function holdsOn(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const dependants = key ? ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0) : 0;
  return getEventListeners(signal, 'abort').length + dependants;
}
