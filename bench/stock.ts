import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { demoId } from '../scripts/demo/estate.js';
import type { Endpoint } from './system.js';

/** The demo's national DC, a source of WEB-UK (whose buffer is 2 units). */
export const DC = demoId('location', 'DC-DAV');
export const WEB = demoId('channel', 'WEB-UK');

async function inventoryCall(inventory: Endpoint, query: string, variables: Record<string, unknown>): Promise<void> {
  const res = await fetch(inventory.url, { method: 'POST', headers: { 'content-type': 'application/json', ...inventory.headers }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

/** A SKU of the run's own with exactly `onHand` units at the DC, so runs never see each other's reservations. */
export async function benchSku(inventory: Endpoint, onHand: number, safetyStock = 0): Promise<string> {
  const sku = `BENCH-${randomUUID().slice(0, 8).toUpperCase()}`;
  await inventoryCall(inventory, `mutation($i: CreateInventoryItemInput!) { createInventoryItem(input: $i) { sku } }`, { i: { sku, name: 'Bench item' } });
  await inventoryCall(inventory, `mutation($i: StockMovementInput!) { recordMovement(input: $i) { replayed } }`, {
    i: { idempotencyKey: randomUUID(), type: 'RECEIPT', sku, locationId: DC, quantity: onHand },
  });
  if (safetyStock) {
    await inventoryCall(inventory, `mutation($i: SetSafetyStockInput!) { setSafetyStock(input: $i) { version } }`, { i: { sku, locationId: DC, safetyStock } });
  }
  return sku;
}

/** What the DC level and the reservation lines say is held of a SKU, for the oversell checks. */
export async function reservedOf(ds: DataSource, sku: string): Promise<{ reserved: number; lines: number }> {
  const [level] = await ds.query('SELECT reserved FROM stock_levels WHERE sku = ? AND location_id = ?', [sku, DC]);
  const [lines] = await ds.query('SELECT COALESCE(SUM(quantity - released_quantity), 0) AS n FROM reservation_lines WHERE sku = ?', [sku]);
  return { reserved: Number(level.reserved), lines: Number(lines.n) };
}

/**
 * Waits until the expiry job has released every reservation past its expiry. Earlier benchmark runs
 * (`reserve` leaves thousands with a 300 s time to live) leave a backlog that the jobs process works
 * off when the system starts again; measured alongside it, orders would compete with it for rows
 * and CPU.
 */
export async function expiryBacklogDrained(ds: DataSource, timeoutMs = 15 * 60_000): Promise<number> {
  const backlog = async () =>
    Number((await ds.query(`SELECT COUNT(*) AS n FROM reservations WHERE status = 'ACTIVE' AND expires_at <= ?`, [new Date()]))[0].n);
  const first = await backlog();
  const deadline = Date.now() + timeoutMs;
  for (let left = first; left > 0; left = await backlog()) {
    if (Date.now() > deadline) throw new Error(`${left} expired reservations still waiting for the expiry job`);
    process.stdout.write(`waiting for the expiry job: ${left} expired reservations of earlier runs left\r`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return first;
}

