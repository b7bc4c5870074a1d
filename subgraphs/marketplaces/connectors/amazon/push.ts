import { z } from 'zod';
import { assertBatch, parseBody, partitionUpdates, raiseForStatus, send, type HttpClient, type HttpResult } from '../http.js';
import { DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES } from '../policies.js';
import type { Connection, ItemOutcome, MarketplaceAdapter } from '../types.js';

/**
 * Amazon SP-API Listings Items (2021-08-01): one `patchListingsItem` per SKU replacing
 * `fulfillment_availability`, read back with `getListingsItem`. Replacing an absolute quantity is
 * idempotent by nature, so the idempotency key has nothing to travel in.
 */

const settingsSchema = z.object({
  marketplaceIds: z.array(z.string().min(1)).min(1),
  productType: z.string().min(1).nullish(),
});
const credentialsSchema = z.object({ accessToken: z.string().min(1) });

const submissionSchema = z.object({
  sku: z.string().optional(),
  status: z.string(),
  submissionId: z.string().optional(),
  issues: z.array(z.object({ code: z.string(), message: z.string(), severity: z.string() })).nullish(),
});

const listingSchema = z.object({
  sku: z.string().optional(),
  fulfillmentAvailability: z
    .array(z.object({ fulfillmentChannelCode: z.string(), quantity: z.number().int().nullish() }))
    .nullish(),
});

/**
 * @throws ZodError when the connection lacks settings.marketplaceIds or credentials.accessToken
 */
export function createAmazonAdapter(connection: Connection, http: HttpClient): MarketplaceAdapter {
  const settings = settingsSchema.parse(connection.settings);
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const pushPolicy = DEFAULT_PUSH_POLICIES.AMAZON;
  const readPolicy = DEFAULT_READ_POLICIES.AMAZON;
  const headers = { 'x-amz-access-token': accessToken };

  const itemUrl = (sku: string, extra: Record<string, string> = {}) => {
    const query = new URLSearchParams({ marketplaceIds: settings.marketplaceIds.join(','), ...extra });
    return `${connection.baseUrl}/listings/2021-08-01/items/${encodeURIComponent(connection.accountId)}/${encodeURIComponent(sku)}?${query}`;
  };

  // Amazon's 429 rarely carries Retry-After; x-amzn-RateLimit-Limit (requests/s) tells how soon one
  // request fits again. Without either, one request's worth of the documented rate.
  const waitMs = (res: HttpResult, fallbackRate: number) => {
    const limit = Number(res.headers.get('x-amzn-ratelimit-limit'));
    return Math.ceil(1000 / (Number.isFinite(limit) && limit > 0 ? limit : fallbackRate));
  };

  return {
    kind: 'AMAZON',
    readBatch: readPolicy.maxBatch,
    pushCost: (items) => items,
    readCost: (items) => items,

    async push(updates, { signal }) {
      assertBatch(updates.length, pushPolicy.maxBatch, 'Amazon patchListingsItem');
      const { valid, invalid } = partitionUpdates(updates);
      const outcomes: ItemOutcome[] = [...invalid];
      for (const u of valid) {
        const what = `Amazon patchListingsItem ${u.sku}`;
        const res = await send(
          http,
          itemUrl(u.sku, { issueLocale: 'en_US' }),
          {
            method: 'PATCH',
            headers,
            signal,
            json: {
              productType: settings.productType ?? 'PRODUCT',
              patches: [
                {
                  op: 'replace',
                  path: '/attributes/fulfillment_availability',
                  value: [{ fulfillment_channel_code: 'DEFAULT', quantity: u.quantity }],
                },
              ],
            },
          },
          what,
        );
        raiseForStatus(res, what, waitMs(res, pushPolicy.refillPerSecond));
        const submission = parseBody(submissionSchema, res, what);
        const errors = (submission.issues ?? []).filter((i) => i.severity === 'ERROR');
        if (submission.status === 'ACCEPTED' && errors.length === 0) {
          outcomes.push({ sku: u.sku, ok: true });
        } else {
          // INVALID without ERROR issues should not happen; say what Amazon said anyway.
          const reported = errors.length ? errors : (submission.issues ?? []);
          outcomes.push({
            sku: u.sku,
            ok: false,
            retryable: false,
            code: reported[0]?.code ?? submission.status,
            message: reported.map((i) => i.message).join('; ') || `submission ${submission.status}`,
          });
        }
      }
      return outcomes;
    },

    async read(skus, opts) {
      assertBatch(skus.length, readPolicy.maxBatch, 'Amazon getListingsItem');
      const out = new Map<string, number | null>();
      for (const sku of skus) {
        const what = `Amazon getListingsItem ${sku}`;
        const res = await send(http, itemUrl(sku, { includedData: 'fulfillmentAvailability' }), { method: 'GET', headers, signal: opts?.signal }, what);
        if (res.status === 404) {
          out.set(sku, null);
          continue;
        }
        raiseForStatus(res, what, waitMs(res, readPolicy.refillPerSecond));
        const listing = parseBody(listingSchema, res, what);
        // A listing without merchant-fulfilled availability sells nothing we ship: 0, not "unlisted".
        const own = listing.fulfillmentAvailability?.find((f) => f.fulfillmentChannelCode === 'DEFAULT');
        out.set(sku, own?.quantity ?? 0);
      }
      return out;
    },
  };
}

