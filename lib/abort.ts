import { anySignal } from 'any-signal';
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
