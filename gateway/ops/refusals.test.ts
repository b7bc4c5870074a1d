import { describe, expect, it } from 'vitest';
import { RefusalRates } from './refusals.js';

const sample = (at: number, counts: Record<string, number>) => ({ at, byReason: new Map(Object.entries(counts)) });

describe('refusal rates from successive counter samples', () => {
  it('counts the last minute as the growth since the oldest sample at most a minute old', () => {
    const rates = new RefusalRates(() => undefined);
    expect(rates.add(sample(0, { FORBIDDEN: 2 }), true)).toMatchObject({ total: 2, lastMinute: 0, windowSeconds: 0 });
    expect(rates.add(sample(30_000, { FORBIDDEN: 5, RATE_LIMITED: 1 }), true)).toMatchObject({
      total: 6,
      lastMinute: 4,
      windowSeconds: 30,
      reasons: [
        { reason: 'FORBIDDEN', total: 5, lastMinute: 3 },
        { reason: 'RATE_LIMITED', total: 1, lastMinute: 1 },
      ],
    });
    // A minute and a half in: the baseline is the sample of 30 s, the oldest of the last minute.
    expect(rates.add(sample(90_000, { FORBIDDEN: 9, RATE_LIMITED: 1 }), true)).toMatchObject({ total: 10, lastMinute: 4, windowSeconds: 60 });
  });

  it('restarts the window after a pause in sampling instead of spanning it', () => {
    const rates = new RefusalRates(() => undefined);
    rates.add(sample(0, { FORBIDDEN: 1 }), true);
    expect(rates.add(sample(600_000, { FORBIDDEN: 50 }), true)).toMatchObject({ total: 50, lastMinute: 0, windowSeconds: 0 });
  });

  it('treats a counter that went down as reset', () => {
    const rates = new RefusalRates(() => undefined);
    rates.add(sample(0, { UNAUTHENTICATED: 10 }), true);
    expect(rates.add(sample(2_000, { UNAUTHENTICATED: 3 }), true).lastMinute).toBe(3);
  });

  it('reads a missing counter as zero', async () => {
    const figures = await new RefusalRates(() => undefined).sample(0);
    expect(figures).toMatchObject({ counted: false, total: 0, lastMinute: 0, reasons: [] });
  });
});
