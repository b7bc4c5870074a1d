import { describe, expect, it } from 'vitest';
import { SecondBuckets, streamIdMs } from './stock-rate.js';

describe('stock-change windows', () => {
  it('reads the relay time of a stream id', () => {
    expect(streamIdMs('1795382653959-12')).toBe(1795382653959);
  });

  it('counts the entries of the last 10 s and the last minute by whole seconds', () => {
    const b = new SecondBuckets();
    const now = 1_000_000_500;
    b.add(now - 70_000); // outside both windows
    b.add(now - 30_000, 4); // the minute only
    b.add(now - 9_000, 2); // both
    b.add(now, 3); // the current second: both
    expect(b.count(now, 10_000)).toBe(5);
    expect(b.count(now, 60_000)).toBe(9);
  });

  it('forgets seconds older than the window', () => {
    const b = new SecondBuckets();
    const now = 2_000_000_000;
    b.add(now - 61_000, 5);
    b.add(now - 1_000, 1);
    b.prune(now, 60_000);
    expect(b.count(now, 3_600_000)).toBe(1);
  });
});
