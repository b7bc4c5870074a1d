import { z } from 'zod';
import { assertBatch, parseBody, partitionUpdates, raiseForStatus, send, type HttpClient } from '../http.js';
import { DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES } from '../policies.js';
import { MarketplaceRejectedError, MarketplaceUnavailableError, type Connection, type ItemOutcome, type MarketplaceAdapter } from '../types.js';

/**
 * eBay Sell Inventory API v1: `bulkUpdatePriceQuantity` sets the ship-to-home quantity of up to 25
 * inventory items per call, answering per item (HTTP 200, or 207 when some failed);
 * `bulkGetInventoryItem` reads them back. Setting an absolute quantity is idempotent by nature, so the
 * idempotency key has nothing to travel in.
 */

const credentialsSchema = z.object({ accessToken: z.string().min(1) });

const itemError = z.object({ errorId: z.number().optional(), message: z.string().optional(), longMessage: z.string().optional() });
const itemResponse = z.object({
  statusCode: z.number().int(),
  sku: z.string(),
  errors: z.array(itemError).nullish(),
});
const updateResponseSchema = z.object({ responses: z.array(itemResponse) });
const getResponseSchema = z.object({
  responses: z.array(
    itemResponse.extend({
      inventoryItem: z
        .object({
          availability: z
            .object({ shipToLocationAvailability: z.object({ quantity: z.number().int().nullish() }).nullish() })
            .nullish(),
        })
        .nullish(),
    }),
  ),
});

function errorText(errors: z.output<typeof itemError>[] | null | undefined, statusCode: number): { message: string; code?: string } {
  const first = errors?.[0];
  const message = (errors ?? []).map((e) => e.message ?? e.longMessage).filter(Boolean).join('; ');
  return { message: message || `HTTP ${statusCode}`, code: first?.errorId === undefined ? undefined : String(first.errorId) };
}

/**
 * @throws ZodError when the connection lacks credentials.accessToken
 */
export function createEbayAdapter(connection: Connection, http: HttpClient): MarketplaceAdapter {
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const pushPolicy = DEFAULT_PUSH_POLICIES.EBAY;
  const readPolicy = DEFAULT_READ_POLICIES.EBAY;
  const headers = { authorization: `Bearer ${accessToken}` };
  const base = `${connection.baseUrl}/sell/inventory/v1`;

  return {
    kind: 'EBAY',
    readBatch: readPolicy.maxBatch,
    pushCost: () => 1,
    readCost: () => 1,

    async push(updates, { signal }) {
      assertBatch(updates.length, pushPolicy.maxBatch, 'eBay bulkUpdatePriceQuantity');
      const { valid, invalid } = partitionUpdates(updates);
      if (valid.length === 0) return invalid;
      const what = 'eBay bulkUpdatePriceQuantity';
      const res = await send(
        http,
        `${base}/bulk_update_price_quantity`,
        {
          method: 'POST',
          headers,
          signal,
          json: { requests: valid.map((u) => ({ sku: u.sku, shipToLocationAvailability: { quantity: u.quantity } })) },
        },
        what,
      );
      raiseForStatus(res, what, 1000 / pushPolicy.refillPerSecond);
      const bySku = new Map(parseBody(updateResponseSchema, res, what).responses.map((r) => [r.sku, r]));
      const outcomes: ItemOutcome[] = [...invalid];
      for (const u of valid) {
        const r = bySku.get(u.sku);
        if (!r) {
          outcomes.push({ sku: u.sku, ok: false, retryable: true, message: 'eBay returned no status for this SKU' });
        } else if (r.statusCode >= 200 && r.statusCode < 300) {
          outcomes.push({ sku: u.sku, ok: true });
        } else {
          // A 4xx for one item is its data (unknown SKU, invalid value); a 5xx is eBay having trouble.
          outcomes.push({ sku: u.sku, ok: false, retryable: r.statusCode >= 500, ...errorText(r.errors, r.statusCode) });
        }
      }
      return outcomes;
    },

    async read(skus, opts) {
      assertBatch(skus.length, readPolicy.maxBatch, 'eBay bulkGetInventoryItem');
      const out = new Map<string, number | null>();
      if (skus.length === 0) return out;
      const what = 'eBay bulkGetInventoryItem';
      const res = await send(
        http,
        `${base}/bulk_get_inventory_item`,
        { method: 'POST', headers, signal: opts?.signal, json: { requests: skus.map((sku) => ({ sku })) } },
        what,
      );
      raiseForStatus(res, what, 1000 / readPolicy.refillPerSecond);
      for (const r of parseBody(getResponseSchema, res, what).responses) {
        if (r.statusCode === 404) out.set(r.sku, null);
        else if (r.statusCode >= 200 && r.statusCode < 300) {
          out.set(r.sku, r.inventoryItem?.availability?.shipToLocationAvailability?.quantity ?? 0);
        } else {
          const { message, code } = errorText(r.errors, r.statusCode);
          if (r.statusCode >= 500) throw new MarketplaceUnavailableError(`${what} ${r.sku}: ${message}`, r.statusCode);
          throw new MarketplaceRejectedError(`${what} ${r.sku}: ${message}`, r.statusCode, code);
        }
      }
      return out;
    },
  };
}
