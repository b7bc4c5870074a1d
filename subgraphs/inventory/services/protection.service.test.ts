import { describe, expect, it } from 'vitest';
import { LiveProtection } from './protection.service.js';

const log = { warn: () => {} };
const demand = (unreported: number) => ({
  demand: async (skus: readonly string[]) => new Map(skus.map((sku) => [sku, { unitsPerSecond: 0.1, unreported, meanLatenessMs: 60_000 }])),
});

describe('LiveProtection', () => {
  it('withholds only on a PROTECTIVE channel, per SKU, by the Poisson quantile of its unreported units', async () => {
    const p = new LiveProtection(demand(4.2), 0.95, log);
    expect(await p.withheld({ channelId: 'c', protection: 'OFF' }, ['A'])).toEqual(new Map());
    // Mean 4.2 unreported: 8 units cover them 19 times in 20 (as contracts/protection.test.ts).
    expect(await p.withheld({ channelId: 'c', protection: 'PROTECTIVE' }, ['A', 'B', 'A'])).toEqual(new Map([['A', 8], ['B', 8]]));
  });

  it('withholds nothing, and says so, when the demand cannot be read', async () => {
    let unmeasured = 0;
    const p = new LiveProtection({ demand: () => Promise.reject(new Error('Redis is away')) }, 0.95, log, () => unmeasured++);
    expect(await p.withheld({ channelId: 'c', protection: 'PROTECTIVE' }, ['A'])).toEqual(new Map());
    expect(unmeasured).toBe(1);
  });
});
