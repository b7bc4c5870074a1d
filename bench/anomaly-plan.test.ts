import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN, generateSku, planAnomalies, scoreFindings, seriesKey } from './anomaly-plan.js';
import type { AnomalyFinding } from '../subgraphs/exceptions/domain/anomaly-rules.js';

const small = { ...DEFAULT_PLAN, skus: 400, perKind: 8, channels: 30, perTrendKind: 4 };

describe('planAnomalies', () => {
  it('is decided by its seed alone, SKU by SKU', () => {
    const a = planAnomalies({ ...small, seed: 5 });
    const b = planAnomalies({ ...small, seed: 5 });
    expect([...a.truth.PHANTOM_STOCK]).toEqual([...b.truth.PHANTOM_STOCK]);
    expect(a.channels[3]!.lag.days).toEqual(b.channels[3]!.lag.days);
    expect(generateSku(a, 17)).toEqual(generateSku(b, 17));
    expect([...planAnomalies({ ...small, seed: 6 }).truth.SHRINKAGE]).not.toEqual([...a.truth.SHRINKAGE]);
  });

  it('injects each kind into series of their own, apart from the look-alikes', () => {
    const plan = planAnomalies({ ...small, seed: 1 });
    const ledgerKinds = ['SHRINKAGE', 'PHANTOM_STOCK', 'COUNT_CORRECTIONS', 'MOVEMENT_SPIKE'] as const;
    const all = ledgerKinds.flatMap((k) => [...plan.truth[k]]);
    expect(new Set(all).size).toBe(all.length);
    // Per kind: perKind injected, and for shrinkage and spikes the larger second events behind a dismissal.
    expect(plan.truth.PHANTOM_STOCK.size).toBe(8);
    expect(plan.truth.MOVEMENT_SPIKE.size + plan.truth.SHRINKAGE.size).toBe(8 + 8 + 2);
    for (const key of all) expect(plan.lookAlikes.has(key)).toBe(false);
    expect(plan.truth.SYNC_LAG_TREND.size).toBe(4);
  });

  it('writes the days a series has figures with on-hand that never goes negative', () => {
    const plan = planAnomalies({ ...small, seed: 2 });
    const w = generateSku(plan, 3);
    expect(w.locations).toHaveLength(plan.options.locations);
    for (const l of w.locations) for (const v of l.onHandEnd) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('scoreFindings', () => {
  it('counts a finding right only on a series injected with its kind', () => {
    const plan = planAnomalies({ ...small, seed: 3 });
    const [target] = [...plan.truth.SHRINKAGE];
    const [sku, locationId] = target!.split('|');
    const finding = (kind: AnomalyFinding['kind'], loc: string): AnomalyFinding =>
      ({ kind, sku: sku!, locationId: loc, day: 0, score: 9, threshold: 6, observed: 0, baseline: 0, units: null, explanation: '' });
    const other = plan.locationIds.find((l) => !plan.truth.SHRINKAGE.has(seriesKey(sku!, l)) && !plan.lookAlikes.has(seriesKey(sku!, l)))!;
    const { scores, missed } = scoreFindings(plan, [finding('SHRINKAGE', locationId!), finding('SHRINKAGE', other), finding('MOVEMENT_SPIKE', locationId!)], []);
    const shrink = scores.find((s) => s.kind === 'SHRINKAGE')!;
    expect(shrink).toMatchObject({ found: 2, truePositives: 1, falsePositives: 1, precision: 0.5 });
    expect(shrink.recall).toBeCloseTo(1 / plan.truth.SHRINKAGE.size);
    expect(scores.find((s) => s.kind === 'MOVEMENT_SPIKE')).toMatchObject({ found: 1, truePositives: 0 });
    expect(missed.filter((m) => m.kind === 'SHRINKAGE')).toHaveLength(plan.truth.SHRINKAGE.size - 1);
  });
});
