import { describe, expect, it } from 'vitest';
import { Subscriber } from './hub.js';

const delivery = (key: string, n: number) => ({ result: { data: { n } }, sequence: `1-${n}`, key });

describe('Subscriber queue', () => {
  it('gives a consumer that keeps up every result, in order', async () => {
    const s = new Subscriber(2, () => {});
    const got: unknown[] = [];
    for (let n = 0; n < 10; n++) {
      s.push(delivery('A', n));
      got.push((await s.next()).value);
    }
    expect(got.map((r: any) => r.data.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.every((r: any) => r.extensions.conflated === undefined)).toBe(true);
  });

  it('keeps only the latest result per key for a slow consumer once its queue is full, and says how many it replaced', async () => {
    let released = 0;
    const s = new Subscriber(3, () => released++);
    for (let n = 0; n < 20; n++) s.push(delivery(n % 2 ? 'B' : 'A', n));
    s.push(delivery('C', 20));
    s.finish(null);
    const got: any[] = [];
    for (let step = await s.next(); !step.done; step = await s.next()) got.push(step.value);
    // Every result is either delivered or counted in the conflated result that replaced it.
    expect(got.length + got.reduce((sum, r) => sum + (r.extensions.conflated ?? 0), 0)).toBe(21);
    expect(got.length).toBeLessThanOrEqual(3);
    // The latest state of every key arrives, in sequence order.
    expect(got.map((r) => r.data.n)).toEqual([18, 19, 20]);
    expect(got[0].extensions.conflated).toBeGreaterThan(0);
    expect(released).toBe(1);
  });
});
