import { ConflictError, DomainError, NotFoundError } from '../../../lib/errors.js';
import { levelKeyOf, withDelta } from './level-math.js';
import { planMovement, type LevelChange, type Movement } from './movement-rules.js';
import type { LevelDelta, LevelKey, StockLevel } from './stock.js';

/**
 * Recording a batch of movements a group at a time (MovementService.recordMany): which movements
 * share a transaction, and what each does, decided on the group's locked levels in input order so
 * that every movement sees its level as the one before it left it, exactly as if each had been
 * recorded in a transaction of its own. Pure: the service locks, reads and writes.
 */

/** The INT columns' ceiling. */
export const MAX_COUNTER = 2_147_483_647;

/** A parsed movement of a batch, with its place in the batch and its request fingerprint. */
export interface BatchEntry {
  index: number;
  movement: Movement;
  hash: string;
}

/** A ledger line already recorded under an entry's idempotency key, as far as deciding a replay needs it. */
export interface PriorLine {
  idempotencyKey: string;
  requestHash: string | null;
}

/**
 * Transfers go one by one (record()): they lock and write a transfer row beside two levels, which
 * the group's plan does not model.
 */
export function isGroupable(m: Movement): boolean {
  return m.type !== 'TRANSFER_OUT' && m.type !== 'TRANSFER_IN';
}

export type BatchRun<T> = { grouped: true; items: T[] } | { grouped: false; item: T };

/**
 * Splits a batch, in order, into groups of up to `max` consecutive groupable items and single
 * items recorded on their own. Groups never reach past a single item, so the batch still applies in
 * input order.
 */
export function runsOf<T>(items: readonly T[], groupable: (item: T) => boolean, max: number): BatchRun<T>[] {
  if (max < 1) throw new Error('a group holds at least one movement');
  const runs: BatchRun<T>[] = [];
  let open: T[] | null = null;
  for (const item of items) {
    if (!groupable(item)) {
      open = null;
      runs.push({ grouped: false, item });
      continue;
    }
    if (!open || open.length >= max) {
      open = [];
      runs.push({ grouped: true, items: open });
    }
    open.push(item);
  }
  return runs;
}

export function reusedKey(idempotencyKey: string): ConflictError {
  return new ConflictError('idempotency key reused with a different request', { idempotencyKey });
}

/** What an entry comes to before any level is locked. */
export type Screened =
  | { kind: 'refused'; entry: BatchEntry; error: DomainError }
  /** A replay of a line recorded before this group (its level is locked with the group's, to be read as it stands). */
  | { kind: 'prior'; entry: BatchEntry }
  | { kind: 'candidate'; entry: BatchEntry };

/**
 * Decides what needs no level, in record()'s order: a key recorded before replays it (or is
 * CONFLICT for another request), then an unknown location, then an unknown SKU. SKUs are only
 * looked up where a level is missing (an existing level's SKU exists), so the caller names the
 * unknown ones.
 */
export function screenBatch(
  entries: readonly BatchEntry[],
  known: { priors: ReadonlyMap<string, PriorLine>; locations: ReadonlySet<string>; unknownSkus: ReadonlySet<string> },
): Screened[] {
  return entries.map((entry): Screened => {
    const m = entry.movement;
    const prior = known.priors.get(m.idempotencyKey);
    if (prior) return prior.requestHash === entry.hash ? { kind: 'prior', entry } : { kind: 'refused', entry, error: reusedKey(m.idempotencyKey) };
    if (!known.locations.has(m.locationId)) return { kind: 'refused', entry, error: new NotFoundError('Location', m.locationId) };
    if (known.unknownSkus.has(m.sku)) return { kind: 'refused', entry, error: new NotFoundError('InventoryItem', m.sku) };
    return { kind: 'candidate', entry };
  });
}

/** The levels an entry's screening needs locked, in no particular order, each once. */
export function keysToLock(screened: readonly Screened[]): LevelKey[] {
  const keys = new Map<string, LevelKey>();
  for (const s of screened) {
    if (s.kind === 'refused') continue;
    const k = { sku: s.entry.movement.sku, locationId: s.entry.movement.locationId };
    keys.set(levelKeyOf(k), k);
  }
  return [...keys.values()];
}

/** What one entry of a group does, decided on the locked levels. */
export type Planned<L extends StockLevel> =
  | { kind: 'refused'; entry: BatchEntry; error: DomainError }
  | { kind: 'applied'; entry: BatchEntry; change: LevelChange; before: L; after: L }
  /**
   * A replay, with the level as the entries before it in the group left it; `of` is the entry of
   * this group that applied the key, or null for a line recorded before the group.
   */
  | { kind: 'replayed'; entry: BatchEntry; of: BatchEntry | null; level: L };

/**
 * Plans a group in input order on its locked levels: each entry's rules (planMovement) are checked
 * on its level as the entries before it left it, a refused entry changes nothing, and a key applied
 * earlier in the group replays (or is CONFLICT for another request). A level absent from `levels`
 * is planned as `absent(key)` would be created (at zero).
 */
export function planBatch<L extends StockLevel>(screened: readonly Screened[], levels: ReadonlyMap<string, L>, absent: (key: LevelKey) => L, at: Date): Planned<L>[] {
  const state = new Map(levels);
  const levelOf = (key: LevelKey): L => {
    const id = levelKeyOf(key);
    let level = state.get(id);
    if (!level) state.set(id, (level = absent(key)));
    return level;
  };
  const appliedKeys = new Map<string, BatchEntry>();
  return screened.map((s): Planned<L> => {
    if (s.kind === 'refused') return s;
    const { entry } = s;
    const m = entry.movement;
    const key = { sku: m.sku, locationId: m.locationId };
    if (s.kind === 'prior') return { kind: 'replayed', entry, of: null, level: levelOf(key) };
    const first = appliedKeys.get(m.idempotencyKey);
    if (first) {
      return first.hash === entry.hash ? { kind: 'replayed', entry, of: first, level: levelOf(key) } : { kind: 'refused', entry, error: reusedKey(m.idempotencyKey) };
    }
    const before = levelOf(key);
    let change: LevelChange;
    try {
      change = planMovement(m, [before], null)[0]!;
    } catch (err) {
      if (err instanceof DomainError) return { kind: 'refused', entry, error: err };
      throw err;
    }
    const after = withDelta(before, change.delta, at);
    if (Math.max(after.onHand, after.incoming, after.damaged) > MAX_COUNTER) {
      return { kind: 'refused', entry, error: new ConflictError('The movement would take a quantity beyond its maximum', { ...key, maximum: MAX_COUNTER }) };
    }
    state.set(levelKeyOf(key), after);
    appliedKeys.set(m.idempotencyKey, entry);
    return { kind: 'applied', entry, change, before, after };
  });
}

/** A level's net change over a group: the sum of its applied deltas and how many movements bumped its version. */
export interface NetChange {
  key: LevelKey;
  delta: Required<LevelDelta>;
  movements: number;
}

/**
 * The net change per level of a group's applied entries, in primary-key order: applied in SQL as
 * one addition per level, they leave each level as the movements one by one would.
 */
export function netChanges(planned: readonly Planned<StockLevel>[]): NetChange[] {
  const net = new Map<string, NetChange>();
  for (const p of planned) {
    if (p.kind !== 'applied') continue;
    const id = levelKeyOf(p.change.key);
    let n = net.get(id);
    if (!n) {
      n = { key: p.change.key, delta: { onHand: 0, reserved: 0, safetyStock: 0, incoming: 0, damaged: 0, qualityControl: 0 }, movements: 0 };
      net.set(id, n);
    }
    for (const field of Object.keys(n.delta) as (keyof LevelDelta)[]) n.delta[field] += p.change.delta[field] ?? 0;
    n.movements++;
  }
  return [...net.values()].sort((a, b) => compareKeys(a.key, b.key));
}

/** Primary-key order (SKU, then location id, compared as bytes like their ascii_bin collation). */
export function compareKeys(a: LevelKey, b: LevelKey): number {
  return a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0;
}
