import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSalesCsv, SalesFileError } from '../contracts/sales-import.js';
import { OrdersWorld, startOrdersStack, type OrdersStack } from './orders-fixture.js';
import { runScript } from './process.js';

/**
 * #17 store and partner sales in batches: a POS export's CSV, posted to the gateway or given to the
 * CLI, becomes one SALE movement per (store, transaction, SKU), recorded once however often the file
 * comes; rows that are not sales are reported by line and nothing of them is written.
 */
let stack: OrdersStack;
let w: OrdersWorld;
let store: string;
let storeCode: string;
let dir: string;

beforeAll(async () => {
  stack = await startOrdersStack();
  w = new OrdersWorld(stack);
  store = await w.location();
  storeCode = (await w.ok(`query($id: ID!) { location(id: $id) { code } }`, { id: store })).location.code;
  await w.replicated([store], []);
  dir = await mkdtemp(join(tmpdir(), 'omnistock-sales-'));
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const post = (csv: string, headers: Record<string, string> = {}) =>
  fetch(new URL('/imports/sales', stack.gatewayUrl), { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: csv });
const onHand = async (sku: string) => (await w.level(sku, store)).onHand;

describe('parseSalesCsv', () => {
  it('reads the rows with their line numbers and reports the ones that are not sales', () => {
    const csv = [
      'store,sku,quantity,time,transaction_id',
      'S1,SKU-1,2,2026-12-05T10:00:00Z,T1',
      'S1,SKU-1,0,2026-12-05T10:00:00Z,T2',
      'S1,bad sku!,1,2026-12-05T10:00:00Z,T3',
      'S1,SKU-2,1,yesterday,T4',
      'S1,SKU-2,1,2999-01-01T00:00:00Z,T5',
      ',SKU-2,1,2026-12-05T10:00:00Z,T6',
    ].join('\n');
    const { rows, bad } = parseSalesCsv(csv);
    expect(rows).toEqual([{ line: 2, store: 'S1', sku: 'SKU-1', quantity: 2, occurredAt: new Date('2026-12-05T10:00:00Z'), transactionId: 'T1' }]);
    expect(bad.map((b) => b.line)).toEqual([3, 4, 5, 6, 7]);
    expect(bad[0]!.message).toContain('quantity');
    expect(bad[3]!.message).toContain('future');
  });

  it('refuses a file without the columns', () => {
    expect(() => parseSalesCsv('store,sku,qty\nS1,SKU-1,1\n')).toThrow(SalesFileError);
  });
});

describe('POST /imports/sales', () => {
  it('records each sale once, reports bad rows by line, and writes nothing of them', async () => {
    const [a, b] = [await w.item(), await w.item()];
    await w.receive(a, store, 20);
    await w.receive(b, store, 20);
    const tx = randomUUID().slice(0, 8);
    const csv = [
      'store,sku,quantity,time,transaction_id',
      `${storeCode},${a},2,2026-12-05T09:00:00Z,${tx}-1`,
      // The same SKU twice in one transaction: one sale of three.
      `${storeCode},${b},1,2026-12-05T09:05:00Z,${tx}-2`,
      `${storeCode},${b},2,2026-12-05T09:05:00Z,${tx}-2`,
      `${storeCode},${a},-4,2026-12-05T09:10:00Z,${tx}-3`,
      `NO-SUCH-STORE,${a},1,2026-12-05T09:10:00Z,${tx}-4`,
      `${storeCode},NO-SUCH-SKU,1,2026-12-05T09:10:00Z,${tx}-5`,
    ].join('\n');
    const res = await post(csv);
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report).toMatchObject({ rows: 6, recorded: 2, replayed: 0 });
    expect(report.rejected.map((r: { line: number }) => r.line)).toEqual([5, 6, 7]);
    expect(report.rejected[2].message).toContain('NOT_FOUND');
    expect(await onHand(a)).toBe(18);
    expect(await onHand(b)).toBe(17);

    // The same file again (a POS resending its export): nothing twice.
    expect(await (await post(csv)).json()).toMatchObject({ recorded: 0, replayed: 2 });
    expect(await onHand(a)).toBe(18);

    // The movement keeps when the sale happened and which transaction it was.
    const ledger = await w.ok(`query($s: String!, $l: ID!) { stockMovements(sku: $s, locationId: $l, first: 5) { edges { node { type quantity occurredAt reference } } } }`, { s: a, l: store });
    expect(ledger.stockMovements.edges.map((e: { node: { type: string } }) => e.node).find((n: { type: string }) => n.type === 'SALE')).toEqual({ type: 'SALE', quantity: -2, occurredAt: '2026-12-05T09:00:00.000Z', reference: `pos://${storeCode}/${tx}-1` });
  });

  it('answers a file that is no sales CSV 400 and writes nothing', async () => {
    const res = await post('hello,world\n1,2\n');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'BAD_USER_INPUT' });
  });
});

describe('omnistock import sales', () => {
  it('records a file through the gateway with a progress bar and reports by line', async () => {
    const sku = await w.item();
    await w.receive(sku, store, 10);
    const file = join(dir, 'sales.csv');
    await writeFile(file, `store,sku,quantity,time,transaction_id\n${storeCode},${sku},3,2026-12-05T11:00:00Z,${randomUUID()}\n${storeCode},${sku},x,2026-12-05T11:00:00Z,T\n`);
    const run = await runScript('scripts/cli.ts', ['import', 'sales', file], { GATEWAY_URL: stack.gatewayUrl }, 60_000);
    expect(run.stdout).toContain('2 rows: 1 sales recorded, 0 recorded before, 1 rows rejected');
    expect(run.stdout).toContain('line 3: quantity');
    // The bar reaches the end (drawn as lines: the output is no terminal).
    expect(run.stderr).toContain('2/2 rows');
    expect(run.code).toBe(1);
    expect(await onHand(sku)).toBe(7);
  });
});
