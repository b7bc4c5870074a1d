import type { Connection } from 'mysql2/promise';
import type { CommittedChange, ConfirmedOrder, LevelState } from './chaos-invariants.js';

/** What the chaos bench's checks read from MySQL (chaos-invariants.ts holds the checks): all its SQL. */

/** Every level (of `skus` when given) with its ledger's figures and what its open reservation lines hold. */
export async function levelStates(db: Connection, inventoryDb: string, skus?: readonly string[]): Promise<LevelState[]> {
  const [rows] = await db.query<any[]>(
    `SELECT s.sku, s.location_id, s.on_hand, s.reserved, COALESCE(m.n, 0) AS n, m.first_before, COALESCE(m.total, 0) AS total, COALESCE(m.breaks, 0) AS breaks, COALESCE(r.held, 0) AS held
       FROM \`${inventoryDb}\`.stock_levels s
       LEFT JOIN (
         SELECT sku, location_id, COUNT(*) AS n, SUM(quantity) AS total,
                CAST(SUBSTRING_INDEX(GROUP_CONCAT(on_hand_before ORDER BY seq), ',', 1) AS SIGNED) AS first_before,
                SUM(CASE WHEN (prev_after IS NOT NULL AND prev_after <> on_hand_before) OR on_hand_after <> on_hand_before + quantity THEN 1 ELSE 0 END) AS breaks
           FROM (SELECT sku, location_id, seq, quantity, on_hand_before, on_hand_after,
                        LAG(on_hand_after) OVER (PARTITION BY sku, location_id ORDER BY seq) AS prev_after
                   FROM \`${inventoryDb}\`.stock_movements) x
          GROUP BY sku, location_id) m ON m.sku = s.sku AND m.location_id = s.location_id
       LEFT JOIN (
         SELECT sku, location_id, SUM(quantity - committed_quantity - released_quantity) AS held
           FROM \`${inventoryDb}\`.reservation_lines WHERE open = 1 GROUP BY sku, location_id) r ON r.sku = s.sku AND r.location_id = s.location_id
      ${skus ? 'WHERE s.sku IN (?)' : ''}`,
    skus ? [skus] : [],
  );
  return rows.map((r) => ({
    sku: r.sku,
    locationId: r.location_id,
    onHand: Number(r.on_hand),
    reserved: Number(r.reserved),
    movements: Number(r.n),
    firstOnHandBefore: r.first_before === null ? null : Number(r.first_before),
    ledgerSum: Number(r.total),
    chainBreaks: Number(r.breaks),
    openReserved: Number(r.held),
  }));
}

/** The web orders the orders subgraph has confirmed, with inventory's reservation of each. */
export async function confirmedOrders(db: Connection, ordersDb: string, inventoryDb: string, channelId: string): Promise<ConfirmedOrder[]> {
  const [lines] = await db.query<any[]>(
    `SELECT o.id, o.reservation_id, l.sku, l.quantity FROM \`${ordersDb}\`.orders o JOIN \`${ordersDb}\`.order_lines l ON l.order_id = o.id WHERE o.status = 'CONFIRMED' AND o.channel_id = ?`,
    [channelId],
  );
  const orders = new Map<string, ConfirmedOrder & { reservationId: string | null }>();
  for (const l of lines) {
    const o = orders.get(l.id) ?? { id: l.id, reservationId: l.reservation_id as string | null, lines: [] as { sku: string; quantity: number }[], reservation: null };
    o.lines.push({ sku: l.sku, quantity: Number(l.quantity) });
    orders.set(l.id, o);
  }
  const ids = [...orders.values()].map((o) => o.reservationId).filter((id): id is string => id !== null);
  const reservations = new Map<string, { status: string; held: Map<string, number> }>();
  for (let i = 0; i < ids.length; i += 1000) {
    const [rows] = await db.query<any[]>(
      `SELECT r.id, r.status, l.sku, SUM(l.quantity - l.released_quantity) AS held FROM \`${inventoryDb}\`.reservations r
         LEFT JOIN \`${inventoryDb}\`.reservation_lines l ON l.reservation_id = r.id WHERE r.id IN (?) GROUP BY r.id, r.status, l.sku`,
      [ids.slice(i, i + 1000)],
    );
    for (const r of rows) {
      const entry = reservations.get(r.id) ?? { status: r.status, held: new Map<string, number>() };
      if (r.sku !== null) entry.held.set(r.sku, Number(r.held));
      reservations.set(r.id, entry);
    }
  }
  return [...orders.values()].map((o) => ({ id: o.id, lines: o.lines, reservation: o.reservationId ? (reservations.get(o.reservationId) ?? null) : null }));
}

/** Every stock change inventory committed (its outbox, topic `stock`). */
export async function committedChanges(db: Connection, inventoryDb: string): Promise<CommittedChange[]> {
  const [rows] = await db.query<any[]>(
    `SELECT seq, JSON_VALUE(payload, '$.sku') AS sku, JSON_VALUE(payload, '$.locationId') AS location_id, JSON_VALUE(payload, '$.version') AS version
       FROM \`${inventoryDb}\`.outbox_events WHERE topic = 'stock' ORDER BY seq`,
  );
  return rows.map((r) => ({ seq: Number(r.seq), sku: r.sku, locationId: r.location_id, version: Number(r.version) }));
}

/**
 * What our records say of a SKU a marketplace does not show our quantity of: its sync state (what
 * the marketplace was last told, and when) and the marketplace's orders of it that intake took in.
 */
export async function marketplaceRecords(db: Connection, marketplacesDb: string, channelId: string, sku: string): Promise<string> {
  const [[state]] = await db.query<any[]>(
    `SELECT pending, last_pushed_quantity, last_pushed_at, last_error, last_verified_at FROM \`${marketplacesDb}\`.marketplace_sync_state WHERE channel_id = ? AND sku = ?`,
    [channelId, sku],
  );
  const [orders] = await db.query<any[]>(
    `SELECT marketplace_order_id, status, placed_at, updated_at FROM \`${marketplacesDb}\`.marketplace_orders
      WHERE channel_id = ? AND JSON_SEARCH(lines, 'one', ?, NULL, '$[*].sku') IS NOT NULL ORDER BY placed_at`,
    [channelId, sku],
  );
  const time = (d: Date | null) => (d ? d.toISOString().slice(11, 23) : '-');
  const told = state
    ? `last told ${state.last_pushed_quantity ?? 'nothing'} at ${time(state.last_pushed_at)}${state.pending ? ', a push pending' : ''}${state.last_error ? `, last error "${state.last_error}"` : ''}, verified ${time(state.last_verified_at)}`
    : 'no sync state';
  return `${told}; ${orders.length} marketplace orders taken in${orders.length ? ` (${orders.map((o) => `${o.status} placed ${time(o.placed_at)} settled ${time(o.updated_at)}`).join(', ')})` : ''}`;
}
