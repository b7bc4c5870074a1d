import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { sleepUnlessAborted } from './abort.js';

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
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const stopping = new AbortController();
    const pauses = async (n: number) => {
      for (let done = 0; done < n; done += 200) {
        await Promise.all(Array.from({ length: 200 }, () => sleepUnlessAborted(0, [stopping.signal, new AbortController().signal])));
      }
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = await pauses(20_000);
    const after = await pauses(200_000);
    expect(after - before, 'bytes kept after 200,000 pauses').toBeLessThan(4_000_000);
  });
});
