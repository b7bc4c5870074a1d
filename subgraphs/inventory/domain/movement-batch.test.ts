import { describe, expect, it } from 'vitest';
import { ConflictError, InsufficientStockError, NotFoundError } from '../../../lib/errors.js';
import { levelKeyOf, withDelta } from './level-math.js';
import { compareKeys, isGroupable, keysToLock, MAX_COUNTER, netChanges, planBatch, runsOf, screenBatch, type BatchEntry, type PriorLine } from './movement-batch.js';
import { movementSchema, planMovement } from './movement-rules.js';
import type { LevelKey, StockLevel } from './stock.js';

const L1 = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a6b';
const L2 = '7c1e9d42-8a3b-4f2c-b1d0-2e3f4a5b6c7d';
const AT = new Date('2026-01-01T00:00:00Z');

const level = (over: Partial<StockLevel> = {}): StockLevel =>
  Object.assign({ sku: 'A', locationId: L1, onHand: 10, reserved: 0, safetyStock: 0, incoming: 0, damaged: 0, qualityControl: 0, version: 3, updatedAt: AT }, over);
const zero = (k: LevelKey): StockLevel => level({ ...k, onHand: 0, version: 0 });

let n = 0;
const entry = (m: Record<string, unknown>, index = n++): BatchEntry => {
  const movement = movementSchema.parse({ idempotencyKey: `k${index}`, sku: 'A', locationId: L1, ...m });
  return { index, movement, hash: JSON.stringify(movement) };
};
const known = (priors: Map<string, PriorLine> = new Map()) => ({ priors, locations: new Set([L1, L2]), unknownSkus: new Set(['NOPE']) });
const levels = (...ls: StockLevel[]) => new Map(ls.map((l) => [levelKeyOf(l), l]));

describe('runsOf', () => {
  it('groups consecutive groupable items up to the maximum and keeps the others on their own, in order', () => {
    const runs = runsOf([1, 2, 3, 0, 4, 5, 0, 0, 6], (x) => x !== 0, 2);
    expect(runs).toEqual([
      { grouped: true, items: [1, 2] },
      { grouped: true, items: [3] },
      { grouped: false, item: 0 },
      { grouped: true, items: [4, 5] },
      { grouped: false, item: 0 },
      { grouped: false, item: 0 },
      { grouped: true, items: [6] },
    ]);
  });

  it('sends transfers on their own', () => {
    expect(isGroupable(entry({ type: 'TRANSFER_OUT', quantity: 1, destinationLocationId: L2 }).movement)).toBe(false);
    expect(isGroupable(entry({ type: 'TRANSFER_IN', quantity: 1, transferId: L2 }).movement)).toBe(false);
    expect(isGroupable(entry({ type: 'SALE', quantity: 1 }).movement)).toBe(true);
  });
});

describe('screenBatch', () => {
  it('replays or refuses a key recorded before, then refuses unknown locations, then unknown SKUs', () => {
    const replay = entry({ type: 'RECEIPT', quantity: 1 });
    const reused = entry({ type: 'RECEIPT', quantity: 1 });
    const priors = new Map<string, PriorLine>([
      [replay.movement.idempotencyKey, { idempotencyKey: replay.movement.idempotencyKey, requestHash: replay.hash }],
      [reused.movement.idempotencyKey, { idempotencyKey: reused.movement.idempotencyKey, requestHash: 'another request' }],
    ]);
    const unknownBoth = entry({ type: 'RECEIPT', quantity: 1, sku: 'NOPE', locationId: '11111111-1111-4111-8111-111111111111' });
    const unknownSku = entry({ type: 'RECEIPT', quantity: 1, sku: 'NOPE' });
    const fine = entry({ type: 'RECEIPT', quantity: 1, locationId: L2 });
    const s = screenBatch([replay, reused, unknownBoth, unknownSku, fine], known(priors));
    expect(s.map((x) => x.kind)).toEqual(['prior', 'refused', 'refused', 'refused', 'candidate']);
    const errors = s.flatMap((x) => (x.kind === 'refused' ? [x.error] : []));
    expect(errors[0]).toBeInstanceOf(ConflictError);
    expect(errors[1]).toBeInstanceOf(NotFoundError);
    expect(errors[1]!.message).toMatch(/Location/);
    expect(errors[2]!.message).toMatch(/InventoryItem/);
    expect(keysToLock(s).sort(compareKeys)).toEqual([
      { sku: 'A', locationId: L1 },
      { sku: 'A', locationId: L2 },
    ]);
  });
});

describe('planBatch', () => {
  const summary = (p: ReturnType<typeof planBatch<StockLevel>>[number]) =>
    p.kind === 'applied'
      ? { kind: p.kind, before: p.before.onHand, after: p.after.onHand, version: p.after.version }
      : p.kind === 'replayed'
        ? { kind: p.kind, of: p.of?.index ?? null, onHand: p.level.onHand, version: p.level.version }
        : { kind: p.kind, code: p.error.code };

  it('applies movements on one level in input order, each on the level the previous one left; a refused one changes nothing', () => {
    const es = [entry({ type: 'RECEIPT', quantity: 5 }), entry({ type: 'SALE', quantity: 12 }), entry({ type: 'SALE', quantity: 4 }), entry({ type: 'ADJUSTMENT', reason: 'FOUND', quantity: 2 })];
    const planned = planBatch(screenBatch(es, known()), levels(level()), zero, AT);
    expect(planned.map(summary)).toEqual([
      { kind: 'applied', before: 10, after: 15, version: 4 },
      { kind: 'applied', before: 15, after: 3, version: 5 },
      { kind: 'refused', code: 'INSUFFICIENT_STOCK' },
      { kind: 'applied', before: 3, after: 5, version: 6 },
    ]);
    expect((planned[2] as { error: unknown }).error).toBeInstanceOf(InsufficientStockError);
  });

  it('equals planMovement and withDelta applied one movement at a time', () => {
    const es = Array.from({ length: 200 }, (_, i) =>
      entry(
        i % 5 === 0
          ? { type: 'CYCLE_COUNT', quantity: i % 17, sku: i % 2 ? 'A' : 'B' }
          : i % 3 === 0
            ? { type: 'SALE', quantity: (i % 4) + 1, sku: i % 2 ? 'A' : 'B' }
            : i % 7 === 0
              ? { type: 'ADJUSTMENT', reason: 'DAMAGE', quantity: -1, sku: i % 2 ? 'A' : 'B' }
              : { type: 'RECEIPT', quantity: (i % 3) + 1, sku: i % 2 ? 'A' : 'B' },
      ),
    );
    const start = [level(), level({ sku: 'B', onHand: 1, version: 9 })];
    const planned = planBatch(screenBatch(es, known()), levels(...start), zero, AT);
    const state = levels(...start);
    es.forEach((e, i) => {
      const before = state.get(levelKeyOf(e.movement))!;
      let expected;
      try {
        const change = planMovement(e.movement, [before], null)[0]!;
        const after = withDelta(before, change.delta, AT);
        state.set(levelKeyOf(after), after);
        expected = { kind: 'applied', before: before.onHand, after: after.onHand, version: after.version };
      } catch (err) {
        expected = { kind: 'refused', code: (err as InsufficientStockError).code };
      }
      expect(summary(planned[i]!)).toEqual(expected);
    });
    // The net change per level, added at once, ends where the last movement left each level.
    for (const net of netChanges(planned)) {
      const startLevel = start.find((l) => levelKeyOf(l) === levelKeyOf(net.key))!;
      const end = state.get(levelKeyOf(net.key))!;
      expect(startLevel.onHand + net.delta.onHand).toBe(end.onHand);
      expect(startLevel.damaged + net.delta.damaged).toBe(end.damaged);
      expect(startLevel.version + net.movements).toBe(end.version);
    }
  });

  it('replays a key applied earlier in the group with the level as it stands there, and refuses it for another request', () => {
    const first = entry({ type: 'RECEIPT', quantity: 5 });
    const again = { ...first, index: n++ };
    const other = entry({ type: 'RECEIPT', quantity: 6 });
    const clash = { ...other, index: n++, movement: { ...other.movement, idempotencyKey: first.movement.idempotencyKey } };
    const after = entry({ type: 'RECEIPT', quantity: 1 });
    const planned = planBatch(screenBatch([first, after, again, clash], known()), levels(level()), zero, AT);
    expect(planned.map(summary)).toEqual([
      { kind: 'applied', before: 10, after: 15, version: 4 },
      { kind: 'applied', before: 15, after: 16, version: 5 },
      { kind: 'replayed', of: first.index, onHand: 16, version: 5 },
      { kind: 'refused', code: 'CONFLICT' },
    ]);
  });

  it('tries a key again when its first use in the group was refused', () => {
    const refused = entry({ type: 'SALE', quantity: 50 });
    const retried = { ...entry({ type: 'SALE', quantity: 5 }), movement: { ...refused.movement, quantity: 5 } };
    const planned = planBatch(screenBatch([refused, retried], known()), levels(level()), zero, AT);
    expect(planned.map(summary)).toEqual([
      { kind: 'refused', code: 'INSUFFICIENT_STOCK' },
      { kind: 'applied', before: 10, after: 5, version: 4 },
    ]);
  });

  it('replays a line recorded before the group with the level as the group left it before it', () => {
    const replay = entry({ type: 'RECEIPT', quantity: 1 });
    const priors = new Map([[replay.movement.idempotencyKey, { idempotencyKey: replay.movement.idempotencyKey, requestHash: replay.hash }]]);
    const planned = planBatch(screenBatch([entry({ type: 'SALE', quantity: 2 }), replay], known(priors)), levels(level()), zero, AT);
    expect(planned.map(summary)).toEqual([
      { kind: 'applied', before: 10, after: 8, version: 4 },
      { kind: 'replayed', of: null, onHand: 8, version: 4 },
    ]);
  });

  it('checks an expected version against the level as the group left it', () => {
    const planned = planBatch(
      screenBatch([entry({ type: 'RECEIPT', quantity: 1 }), entry({ type: 'CYCLE_COUNT', quantity: 4, expectedVersion: 3 }), entry({ type: 'CYCLE_COUNT', quantity: 4, expectedVersion: 4 })], known()),
      levels(level()),
      zero,
      AT,
    );
    expect(planned.map(summary)).toEqual([
      { kind: 'applied', before: 10, after: 11, version: 4 },
      { kind: 'refused', code: 'CONFLICT' },
      { kind: 'applied', before: 11, after: 4, version: 5 },
    ]);
  });

  it('refuses a movement that would take a counter past its maximum, and applies the rest', () => {
    const planned = planBatch(
      screenBatch([entry({ type: 'RECEIPT', quantity: 10 }), entry({ type: 'RECEIPT', quantity: 1 }), entry({ type: 'SALE', quantity: 1 })], known()),
      levels(level({ onHand: MAX_COUNTER - 10 })),
      zero,
      AT,
    );
    expect(planned.map((p) => p.kind)).toEqual(['applied', 'refused', 'applied']);
  });

  it('plans a missing level as created at zero', () => {
    const planned = planBatch(screenBatch([entry({ type: 'SALE', quantity: 1, locationId: L2 }), entry({ type: 'RECEIPT', quantity: 3, locationId: L2 })], known()), new Map(), zero, AT);
    expect(planned.map(summary)).toEqual([
      { kind: 'refused', code: 'INSUFFICIENT_STOCK' },
      { kind: 'applied', before: 0, after: 3, version: 1 },
    ]);
  });
});

describe('netChanges', () => {
  it('sums the applied changes per level, in primary-key order, counting the movements', () => {
    const es = [entry({ type: 'RECEIPT', quantity: 5, sku: 'B' }), entry({ type: 'SALE', quantity: 2 }), entry({ type: 'SALE', quantity: 99 }), entry({ type: 'RECEIPT', quantity: 1, sku: 'B' })];
    const planned = planBatch(screenBatch(es, known()), levels(level(), level({ sku: 'B' })), zero, AT);
    expect(netChanges(planned)).toEqual([
      { key: { sku: 'A', locationId: L1 }, delta: { onHand: -2, reserved: 0, safetyStock: 0, incoming: 0, damaged: 0, qualityControl: 0 }, movements: 1 },
      { key: { sku: 'B', locationId: L1 }, delta: { onHand: 6, reserved: 0, safetyStock: 0, incoming: 0, damaged: 0, qualityControl: 0 }, movements: 2 },
    ]);
  });
});
