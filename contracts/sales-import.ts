import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { idSchema, skuSchema } from '../lib/validation.js';

/**
 * Store and partner sales in batches (POS exports): a CSV with the columns `store` (a location code
 * or id), `sku`, `quantity`, `time` (ISO 8601) and `transaction_id`, one row per SKU of a sale.
 * Each (store, transaction, SKU) becomes one SALE movement, recorded through the public API
 * (`recordMovements`, as the caller) under a key derived from them: importing a file again, or a
 * file that overlaps one imported before, records nothing twice. A row that is not a sale (a bad
 * quantity, time or SKU, an unknown store) is reported with its line number and nothing of it is
 * written; the other rows are.
 *
 * Used by the CLI (`omnistock import sales <file.csv>`) and the gateway's `POST /imports/sales`.
 */

export const SALES_COLUMNS = ['store', 'sku', 'quantity', 'time', 'transaction_id'] as const;
/** Movements per recordMovements call: inventory's most, which it commits a group of movements per transaction. */
export const SALES_BATCH = 1000;
/** Rows one import takes (a day of a large chain's store sales; more: split the file). */
export const MAX_SALES_ROWS = 200_000;

const rowSchema = z.object({
  store: z.string().trim().min(1, 'is required').max(64),
  sku: skuSchema,
  quantity: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000),
  time: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-12-05T10:15:00Z' }).transform((t) => new Date(t)),
  transaction_id: z.string().trim().min(1, 'is required').max(128),
});

export interface SaleRow {
  /** The file's line the row starts on (the header is line 1). */
  line: number;
  store: string;
  sku: string;
  quantity: number;
  occurredAt: Date;
  transactionId: string;
}

export interface BadRow {
  line: number;
  message: string;
}

/** A sale as it is recorded: one per (store, transaction, SKU), with the lines it came from. */
export interface Sale {
  lines: number[];
  locationId: string;
  store: string;
  sku: string;
  quantity: number;
  occurredAt: Date;
  transactionId: string;
}

export interface SalesReport {
  /** Data rows in the file. */
  rows: number;
  /** Sales recorded now. */
  recorded: number;
  /** Sales recorded by an earlier import (nothing changed). */
  replayed: number;
  /** Rows reported and not written: malformed, an unknown store, or refused by inventory (an unknown SKU). */
  rejected: BadRow[];
}

/**
 * The rows of a sales CSV, and the ones that are not sales, by line.
 * @throws SalesFileError when the file is no CSV with the columns, or has more than MAX_SALES_ROWS rows
 */
export function parseSalesCsv(text: string): { rows: SaleRow[]; bad: BadRow[] } {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: true });
  } catch (err) {
    throw new SalesFileError(`not a CSV file: ${(err as Error).message}`);
  }
  const header = records.length ? Object.keys(records[0]!.record) : firstLine(text);
  const missing = SALES_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) throw new SalesFileError(`the header must name the columns ${SALES_COLUMNS.join(', ')}; missing: ${missing.join(', ')}`);
  if (records.length > MAX_SALES_ROWS) throw new SalesFileError(`${records.length} rows; one import takes at most ${MAX_SALES_ROWS}: split the file`);
  const rows: SaleRow[] = [];
  const bad: BadRow[] = [];
  for (const { record, info } of records) {
    // csv-parse counts the lines read so far: a record's first line, for a one-line record, is that count.
    const line = info.lines;
    const parsed = rowSchema.safeParse(record);
    if (!parsed.success) {
      bad.push({ line, message: parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ') });
      continue;
    }
    const r = parsed.data;
    if (r.time.getTime() > Date.now() + 5 * 60_000) {
      bad.push({ line, message: 'time must not be in the future' });
      continue;
    }
    rows.push({ line, store: r.store, sku: r.sku, quantity: r.quantity, occurredAt: r.time, transactionId: r.transaction_id });
  }
  return { rows, bad };
}

function firstLine(text: string): string[] {
  return (text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
}

export class SalesFileError extends Error {}

/** The idempotency key of a sale: the same (store, transaction, SKU) is the same sale, whichever file brings it. */
export function saleKey(locationId: string, transactionId: string, sku: string): string {
  return `pos:${createHash('sha256').update(`${locationId}\n${transactionId}\n${sku}`).digest('hex').slice(0, 48)}`;
}

/** One GraphQL request as the importing caller (the CLI through the gateway, or the gateway to itself). */
export type GraphQLCall = (query: string, variables: Record<string, unknown>) => Promise<{ data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;

const LOCATION = `query SalesImportStore($code: String!) { locationByCode(code: $code) { id } }`;
const RECORD = `mutation SalesImport($inputs: [StockMovementInput!]!) {
  recordMovements(inputs: $inputs) { index result { replayed } error { code message } }
}`;

const outcomesSchema = z.object({
  recordMovements: z.array(z.object({ index: z.number().int(), result: z.object({ replayed: z.boolean() }).nullish(), error: z.object({ code: z.string(), message: z.string() }).nullish() })),
});

export class SalesImportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Records the rows' sales through `call`, SALES_BATCH at a time, telling `onProgress` the rows done.
 * @throws SalesImportError when the API refuses the caller (UNAUTHENTICATED, FORBIDDEN) or does not answer
 */
export async function importSales(parsed: { rows: SaleRow[]; bad: BadRow[] }, call: GraphQLCall, onProgress: (done: number, total: number) => void = () => {}): Promise<SalesReport> {
  const rejected = [...parsed.bad];
  const stores = new Map<string, string | null>();
  for (const store of new Set(parsed.rows.map((r) => r.store))) stores.set(store, idSchema.safeParse(store).success ? store.toLowerCase() : await locationIdOf(call, store));
  const sales = new Map<string, Sale>();
  for (const r of parsed.rows) {
    const locationId = stores.get(r.store);
    if (!locationId) {
      rejected.push({ line: r.line, message: `store ${r.store} is no location code or id we know` });
      continue;
    }
    const key = saleKey(locationId, r.transactionId, r.sku);
    const sale = sales.get(key);
    if (sale) {
      // The same SKU twice in a transaction: one sale of both quantities.
      sale.quantity += r.quantity;
      sale.lines.push(r.line);
    } else sales.set(key, { lines: [r.line], locationId, store: r.store, sku: r.sku, quantity: r.quantity, occurredAt: r.occurredAt, transactionId: r.transactionId });
  }
  const all = [...sales];
  const total = parsed.rows.length + parsed.bad.length;
  let done = parsed.bad.length + (parsed.rows.length - all.reduce((n, [, s]) => n + s.lines.length, 0));
  onProgress(done, total);
  let recorded = 0;
  let replayed = 0;
  for (let i = 0; i < all.length; i += SALES_BATCH) {
    const batch = all.slice(i, i + SALES_BATCH);
    const inputs = batch.map(([key, s]) => ({
      idempotencyKey: key,
      type: 'SALE',
      sku: s.sku,
      locationId: s.locationId,
      quantity: s.quantity,
      occurredAt: s.occurredAt.toISOString(),
      reference: `pos://${encodeURIComponent(s.store)}/${encodeURIComponent(s.transactionId)}`,
    }));
    const res = await call(RECORD, { inputs });
    const refusal = res.errors?.[0];
    if (refusal || !res.data) throw new SalesImportError(refusal?.message ?? 'no data', String(refusal?.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
    for (const o of outcomesSchema.parse(res.data).recordMovements) {
      const sale = batch[o.index]![1];
      if (o.error) rejected.push(...sale.lines.map((line) => ({ line, message: `${o.error!.code}: ${o.error!.message}` })));
      else if (o.result?.replayed) replayed++;
      else recorded++;
    }
    done += batch.reduce((n, [, s]) => n + s.lines.length, 0);
    onProgress(done, total);
  }
  return { rows: total, recorded, replayed, rejected: rejected.sort((a, b) => a.line - b.line) };
}

async function locationIdOf(call: GraphQLCall, code: string): Promise<string | null> {
  const res = await call(LOCATION, { code });
  const refusal = res.errors?.[0];
  if (refusal) throw new SalesImportError(refusal.message, String(refusal.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
  return (res.data?.locationByCode as { id: string } | null)?.id ?? null;
}
