import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StockChanged } from '../contracts/events.js';
import { config } from '../lib/config.js';
import { openSubgraphDatabase } from '../lib/subgraph.js';
import { ledgerStore } from '../subgraphs/exceptions/data/ledger.store.js';
import { DAY_MS, dayNumber } from '../subgraphs/exceptions/domain/ledger-rules.js';
import { exceptionsSubgraph } from '../subgraphs/exceptions/index.js';
import { AnomalyService } from '../subgraphs/exceptions/services/anomaly.service.js';

/** The anomaly ledger against MariaDB: summing stock events into days, and reading a window back. */

let ds: DataSource;
let service: AnomalyService;

beforeAll(async () => {
  // The exceptions subgraph's test database; SKUs and channels of the test's own keep it apart from the other tests there.
  ds = await openSubgraphDatabase(config(), exceptionsSubgraph);
  service = new AnomalyService(ds, { windowDays: 30 });
});
afterAll(async () => {
  await ds?.destroy();
});

const LOC = randomUUID();
const NOW = new Date('2026-06-30T12:00:00Z');
const TODAY = dayNumber(NOW);

function change(sku: string, kind: string, before: number, after: number, version: number, at: Date, extra: Partial<StockChanged> = {}): StockChanged {
  const q = (onHand: number) => ({ onHand, reserved: 0, available: onHand, incoming: 0, damaged: 0, qualityControl: 0, safetyStock: 0 });
  return { sku, locationId: LOC, change: kind, before: q(before), after: q(after), version, at: at.toISOString(), ...extra };
}

async function days(sku: string): Promise<Record<string, unknown>[]> {
  return ds.query('SELECT day, sold, shrink, corrections, correction_units, received, movements, on_hand_end FROM ledger_daily WHERE sku = ? ORDER BY day', [sku]);
}

describe('thresholds', () => {
  it('refuses a threshold of a kind detection does not have, naming it', () => {
    expect(() => new AnomalyService(ds, { thresholds: { SHRINKAGE: 8, SHRINKGE: 3 } })).toThrow(/SHRINKGE/);
    expect(() => new AnomalyService(ds, { thresholds: { SHRINKAGE: 8 } })).not.toThrow();
  });
});

describe('anomaly ledger', () => {
  it('sums a day\'s events, keeps the on-hand of the newest version whatever the order, and counts a redelivered event once', async () => {
    const sku = `AL-${randomUUID().slice(0, 8)}`;
    const source = `test-${randomUUID().slice(0, 8)}`;
    const at = (h: number) => new Date(NOW.getTime() - 86_400_000 + h * 3_600_000);
    const events = [
      { source, seq: 1, change: change(sku, 'RECEIPT', 0, 20, 1, at(1)) },
      { source, seq: 3, change: change(sku, 'ADJUSTMENT', 17, 14, 3, at(3), { reason: 'SHRINKAGE' }) },
      { source, seq: 2, change: change(sku, 'SALE', 20, 17, 2, at(2)) },
      { source, seq: 4, change: change(sku, 'RESERVE', 14, 14, 4, at(4)) },
    ];
    expect(await service.recordStockChanges(events)).toEqual({ recorded: 3, skipped: 1 });
    // The whole batch again (a retried read), and the last event once more.
    expect(await service.recordStockChanges([...events, events[1]!])).toEqual({ recorded: 0, skipped: 5 });
    await service.recordStockChanges([{ source, seq: 5, change: change(sku, 'CYCLE_COUNT', 14, 11, 5, at(5)) }]);
    // Out of order: an older version of the same day must not overwrite its on-hand.
    await service.recordStockChanges([{ source, seq: 6, change: change(sku, 'SALE', 15, 14, 4, at(4)) }]);
    expect(await days(sku)).toEqual([
      { day: TODAY - 1, sold: 4, shrink: 3, corrections: 1, correction_units: 3, received: 20, movements: 5, on_hand_end: 11 },
    ]);
  });

  it('reads a window back per SKU, a series per location, days without figures filled in by detection', async () => {
    const sku = `AL-${randomUUID().slice(0, 8)}`;
    const other = randomUUID();
    await ledgerStore.bulkInsert(ds.manager, [
      { sku, locationId: LOC, day: TODAY - 40, sold: 9, shrink: 0, corrections: 0, correctionUnits: 0, received: 0, movements: 1, onHandEnd: 1 },
      { sku, locationId: LOC, day: TODAY - 3, sold: 2, shrink: 1, corrections: 0, correctionUnits: 0, received: 5, movements: 4, onHandEnd: 7 },
      { sku, locationId: LOC, day: TODAY - 1, sold: 1, shrink: 0, corrections: 1, correctionUnits: 2, received: 0, movements: 2, onHandEnd: null },
      { sku, locationId: other, day: TODAY - 2, sold: 3, shrink: 0, corrections: 0, correctionUnits: 0, received: 0, movements: 3, onHandEnd: 0 },
    ]);
    const runner = ds.createQueryRunner();
    try {
      const reads = [];
      for await (const read of ledgerStore.readWindow(runner.manager, { fromDay: TODAY - 30, toDay: TODAY - 1, skus: [sku] })) reads.push(read);
      expect(reads).toHaveLength(1);
      const [only] = reads[0]!;
      expect(only!.sku).toBe(sku);
      const byLocation = new Map(only!.series.map((s) => [s.locationId, s]));
      const mine = byLocation.get(LOC)!;
      expect([...mine.day]).toEqual([TODAY - 3, TODAY - 1]);
      expect([...mine.sold, ...mine.received, ...mine.correctionUnits]).toEqual([2, 1, 5, 0, 0, 2]);
      expect([...mine.onHandEnd]).toEqual([7, NaN]);
      expect([...byLocation.get(other)!.onHandEnd]).toEqual([0]);
    } finally {
      await runner.release();
    }
    const { stats } = await service.detect(NOW, { skus: [sku] });
    expect(stats.series).toBe(2);
  });

  it('keeps a channel\'s longest lag and its drift lines per day, and announcements and dismissals for detection', async () => {
    const channel = randomUUID();
    const at = new Date(NOW.getTime() - DAY_MS);
    await service.recordProblemSample('SYNC_LAG_TREND', channel, at, 40);
    await service.recordProblemSample('SYNC_LAG_TREND', channel, at, 25);
    await service.recordProblemSample('DRIFT_TREND', channel, at, 2);
    await service.recordProblemSample('DRIFT_TREND', channel, at, 3);
    const series = (await ledgerStore.problemSeries(ds.manager, TODAY - 1, TODAY - 1)).filter((s) => s.channelId === channel);
    expect(series.map((s) => [s.kind, s.days])).toEqual([
      ['DRIFT_TREND', [{ day: TODAY - 1, value: 5 }]],
      ['SYNC_LAG_TREND', [{ day: TODAY - 1, value: 40 }]],
    ]);

    const sku = `AL-${randomUUID().slice(0, 8)}`;
    await expect(service.announcePromotion({ sku, locationId: null, from: NOW, to: new Date(NOW.getTime() - DAY_MS) }, 'test')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const announced = await service.announcePromotion({ sku, locationId: LOC.toUpperCase(), from: NOW, to: new Date(NOW.getTime() + 2 * DAY_MS), note: 'summer sale' }, 'test');
    expect(announced).toMatchObject({ sku, locationId: LOC, fromDay: TODAY, toDay: TODAY + 2, createdBy: 'test' });
    expect((await ledgerStore.announcements(ds.manager, TODAY + 2, TODAY + 9, [sku])).map((a) => a.id)).toEqual([announced.id]);

    await expect(
      service.markNotAnomaly({ kind: 'SHRINKAGE', sku, locationId: null, channelId: null, score: 8, day: NOW, by: 'test', note: null }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await service.markNotAnomaly({ kind: 'SYNC_LAG_TREND', sku: null, locationId: null, channelId: channel, score: 12.5, day: NOW, by: 'test', note: 'a planned migration' });
    const stored = (await ledgerStore.feedback(ds.manager, TODAY)).filter((f) => f.channelId === channel);
    expect(stored).toEqual([{ kind: 'SYNC_LAG_TREND', sku: null, locationId: null, channelId: channel, score: 12.5, day: TODAY }]);
  });
});
