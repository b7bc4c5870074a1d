/**
 * The chaos bench's invariants (npm run bench -- chaos), as pure checks over the state it read
 * once the system settled (MySQL rows, what its subscribers received, what each marketplace holds):
 * no I/O here, so each check is tested against a good and a broken state (chaos-invariants.test.ts).
 */

/** One stock level with what its ledger and its open reservation lines say. */
export interface LevelState {
  sku: string;
  locationId: string;
  onHand: number;
  reserved: number;
  /** Ledger lines of the level (stock_movements). */
  movements: number;
  /** on_hand_before of its first ledger line (null: none); a seeded level starts with on-hand and no line. */
  firstOnHandBefore: number | null;
  /** Sum of its ledger lines' signed quantities. */
  ledgerSum: number;
  /** Ledger lines whose on_hand_before is not the previous line's on_hand_after, or whose after is not before + quantity. */
  chainBreaks: number;
  /** What its open reservation lines hold: quantity - committed - released, over lines still open. */
  openReserved: number;
}

/** An order the orders subgraph has CONFIRMED, with inventory's reservation of it (null: inventory has none). */
export interface ConfirmedOrder {
  id: string;
  lines: { sku: string; quantity: number }[];
  reservation: { status: string; held: Map<string, number> } | null;
}

/** A SKU only the bench's orders sell, with the units it ever received: confirmed orders may not take more. */
export interface ScarceSku {
  sku: string;
  sellable: number;
}

/** One committed stock change (inventory's outbox, topic `stock`). */
export interface CommittedChange {
  seq: number;
  sku: string;
  locationId: string;
  version: number;
}

/** What one subscriber asked for and received, live and after resuming. */
export interface SubscriberLog {
  id: number;
  skus: ReadonlySet<string> | null;
  locationIds: ReadonlySet<string> | null;
  /** Changes delivered, in order. */
  received: { sku: string; locationId: string; version: number }[];
}

export interface MarketplaceState {
  channel: string;
  /** Our available-to-sell per SKU the channel lists. */
  ours: ReadonlyMap<string, number>;
  /** The quantity the marketplace shows per SKU. */
  theirs: ReadonlyMap<string, number>;
}

export interface InvariantResult {
  name: string;
  /** How many things were checked (levels, orders, subscribers, listings). */
  checked: number;
  violations: number;
  /** A few violations, described. */
  examples: string[];
}

const EXAMPLES = 5;

function result(name: string, checked: number, violations: string[]): InvariantResult {
  return { name, checked, violations: violations.length, examples: violations.slice(0, EXAMPLES) };
}

const levelName = (l: { sku: string; locationId: string }) => `${l.sku}@${l.locationId.slice(0, 8)}`;

/** Every level's on-hand equals its ledger: the first line's on-hand before plus every line's quantity, in an unbroken chain. */
export function checkLedger(levels: readonly LevelState[]): InvariantResult {
  const bad: string[] = [];
  for (const l of levels) {
    if (l.movements === 0) continue;
    const expected = l.firstOnHandBefore! + l.ledgerSum;
    if (expected !== l.onHand) bad.push(`${levelName(l)}: on-hand ${l.onHand}, ledger says ${expected} (${l.movements} lines)`);
    else if (l.chainBreaks) bad.push(`${levelName(l)}: ${l.chainBreaks} ledger lines do not follow on from the one before`);
  }
  return result('on-hand equals the ledger (every level)', levels.length, bad);
}

/** Every level's reserved equals what its open reservations hold. */
export function checkReserved(levels: readonly LevelState[]): InvariantResult {
  const bad = levels.filter((l) => l.reserved !== l.openReserved).map((l) => `${levelName(l)}: reserved ${l.reserved}, open reservations hold ${l.openReserved}`);
  return result('reserved equals the open reservations (every level)', levels.length, bad);
}

/**
 * No order confirmed beyond stock: every confirmed order's reservation holds its lines, and the
 * confirmed units of each scarce SKU stay within what it could sell.
 */
export function checkOrders(orders: readonly ConfirmedOrder[], scarce: readonly ScarceSku[]): InvariantResult {
  const bad: string[] = [];
  const confirmedUnits = new Map<string, number>();
  for (const o of orders) {
    const wanted = new Map<string, number>();
    for (const l of o.lines) wanted.set(l.sku, (wanted.get(l.sku) ?? 0) + l.quantity);
    for (const [sku, n] of wanted) confirmedUnits.set(sku, (confirmedUnits.get(sku) ?? 0) + n);
    if (!o.reservation) {
      bad.push(`order ${o.id} is CONFIRMED but inventory holds no reservation for it`);
      continue;
    }
    const short = [...wanted].filter(([sku, n]) => (o.reservation!.held.get(sku) ?? 0) !== n);
    if (short.length) {
      const [sku, n] = short[0]!;
      bad.push(`order ${o.id} is CONFIRMED for ${n} × ${sku} but its reservation (${o.reservation.status}) holds ${o.reservation.held.get(sku) ?? 0}`);
    }
  }
  for (const s of scarce) {
    const units = confirmedUnits.get(s.sku) ?? 0;
    if (units > s.sellable) bad.push(`${s.sku}: ${units} units confirmed of ${s.sellable} sellable`);
  }
  return result('no order confirmed beyond stock', orders.length + scarce.length, bad);
}

const changeKey = (c: { sku: string; locationId: string; version: number }) => `${c.sku}|${c.locationId}|${c.version}`;

/**
 * Every committed change reached every subscriber it matches exactly once: each change committed
 * after `fromSeq` (when every subscriber was listening) arrived, none twice, and none arrived that
 * was never committed.
 */
export function checkSubscribers(logs: readonly SubscriberLog[], committed: readonly CommittedChange[], fromSeq: number): InvariantResult {
  const bad: string[] = [];
  let violations = 0;
  const known = new Set(committed.map(changeKey));
  const due = committed.filter((c) => c.seq > fromSeq);
  for (const log of logs) {
    const counts = new Map<string, number>();
    for (const r of log.received) counts.set(changeKey(r), (counts.get(changeKey(r)) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1);
    const missing = due.filter((c) => (!log.skus || log.skus.has(c.sku)) && (!log.locationIds || log.locationIds.has(c.locationId)) && !counts.has(changeKey(c)));
    const phantoms = [...counts.keys()].filter((k) => !known.has(k));
    const problems = [
      ...(missing.length ? [`${missing.length} missed (first seq ${missing[0]!.seq}: ${changeKey(missing[0]!)})`] : []),
      ...(duplicates.length ? [`${duplicates.length} received more than once (e.g. ${duplicates[0]![0]} × ${duplicates[0]![1]})`] : []),
      ...(phantoms.length ? [`${phantoms.length} never committed (e.g. ${phantoms[0]})`] : []),
    ];
    if (problems.length) bad.push(`subscriber ${log.id}: ${problems.join('; ')}`);
    violations += missing.length + duplicates.length + phantoms.length;
  }
  // Counted per change and subscriber (a missed change is one violation per subscriber that missed it).
  return { ...result('every committed change reached every subscriber exactly once', logs.length, bad), violations };
}

/** Every marketplace holds our final available-to-sell of every SKU its channel lists. */
/** Each listed SKU a marketplace does not show our available-to-sell of. */
export function marketplaceMisses(states: readonly MarketplaceState[]): { channel: string; sku: string; ours: number; theirs: number | undefined }[] {
  return states.flatMap((m) =>
    [...m.ours]
      .map(([sku, ours]) => ({ channel: m.channel, sku, ours, theirs: m.theirs.get(sku) }))
      // A SKU the marketplace does not list, and of which we have nothing to sell: neither side sells it.
      .filter(({ ours, theirs }) => theirs !== ours && !(theirs === undefined && ours === 0)),
  );
}

export function checkMarketplaces(states: readonly MarketplaceState[]): InvariantResult {
  const checked = states.reduce((n, m) => n + m.ours.size, 0);
  const bad = marketplaceMisses(states).map((x) => `${x.channel} ${x.sku}: marketplace shows ${x.theirs ?? 'nothing'}, our available-to-sell is ${x.ours}`);
  return result('every marketplace holds our final available-to-sell', checked, bad);
}
