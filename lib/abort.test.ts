import { describe, expect, it } from 'vitest';
import { holdsOn, sleepUnlessAborted } from './abort.js';

describe('sleepUnlessAborted', () => {
  it('sleeps its time, or until one of its signals aborts', async () => {
    const started = performance.now();
    await sleepUnlessAborted(30, [new AbortController().signal]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    const stopping = new AbortController();
    const waking = new AbortController();
    const paused = sleepUnlessAborted(60_000, [stopping.signal, waking.signal]);
    waking.abort();
    await paused;
    const again = sleepUnlessAborted(60_000, [stopping.signal, new AbortController().signal]);
    stopping.abort();
    await again;
    // Already aborted: no sleep at all.
    await sleepUnlessAborted(60_000, [stopping.signal]);
  });

  it('leaves nothing behind on a long-lived signal, pause after pause', async () => {
    // An outbox relay pauses tens of times a second on the signal it stops with. With AbortSignal.any
    // every pause stayed referenced from that signal on Node 20 (nodejs/node#54614), for good.
    const stopping = new AbortController();
    for (let i = 0; i < 1_000; i++) await sleepUnlessAborted(0, [stopping.signal, new AbortController().signal]);
    expect(holdsOn(stopping.signal)).toBe(0);
    // Held while a pause is on (it must hear the stop), and let go when it ends.
    const paused = sleepUnlessAborted(60_000, [stopping.signal]);
    expect(holdsOn(stopping.signal)).toBeGreaterThan(0);
    stopping.abort();
    await paused;
    expect(holdsOn(stopping.signal)).toBe(0);
  });
});
