import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { assertBatch, parseBody, partitionUpdates, raiseForStatus, send, type HttpClient } from '../http.js';
import { DEFAULT_PUSH_POLICIES, DEFAULT_READ_POLICIES, WALMART_FEED_STATUS_POLICY } from '../policies.js';
import {
  MarketplaceThrottledError,
  MarketplaceUnavailableError,
  type Connection,
  type ItemOutcome,
  type MarketplaceAdapter,
  type QuantityUpdate,
} from '../types.js';

/**
 * Walmart Marketplace bulk inventory feed (feedType=inventory, spec 1.4: one ship node, the seller's
 * default when none is named). A push is one feed: submitted, then polled until Walmart has ingested
 * it, so the outcomes are per item like every other adapter's. Feeds are the scarce resource (10 an
 * hour), so a poll that hiccups is retried here rather than failing the push, which would spend a
 * second feed on the same items.
 */

export interface WalmartOptions {
  /** Between feed status polls. */
  pollIntervalMs: number;
  /** Give up waiting for a feed after this long (Walmart allows itself 30 minutes per inventory feed). */
  feedTimeoutMs: number;
}

const settingsSchema = z.object({ serviceName: z.string().min(1).nullish() });
const credentialsSchema = z.object({ accessToken: z.string().min(1) });

const ingestionErrors = z
  .object({
    ingestionError: z
      .array(z.object({ type: z.string().nullish(), code: z.string().nullish(), description: z.string().nullish() }))
      .nullish(),
  })
  .nullish();
const feedSubmittedSchema = z.object({ feedId: z.string().min(1) });
const itemStatusSchema = z.object({ sku: z.string(), ingestionStatus: z.string(), ingestionErrors });
const feedStatusSchema = z.object({
  feedId: z.string(),
  feedStatus: z.string(),
  itemsReceived: z.number().int().nullish(),
  ingestionErrors,
  itemDetails: z.object({ itemIngestionStatus: z.array(itemStatusSchema).nullish() }).nullish(),
});
const inventorySchema = z.object({ sku: z.string().optional(), quantity: z.object({ unit: z.string().optional(), amount: z.number() }) });

type IngestionErrors = z.output<typeof ingestionErrors>;
type FeedStatus = z.output<typeof feedStatusSchema>;
type ItemStatus = z.output<typeof itemStatusSchema>;

/** Most item statuses one feed status call returns (Walmart's maximum `limit`). */
const STATUS_PAGE = 1000;
/** Consecutive failed polls tolerated before the push reports Walmart unavailable. */
const MAX_POLL_FAILURES = 5;

function describeIngestion(errors: IngestionErrors): { message: string; code?: string; dataError: boolean } {
  const list = errors?.ingestionError ?? [];
  return {
    message: list.map((e) => e.description ?? e.code).filter(Boolean).join('; '),
    code: list[0]?.code ?? undefined,
    dataError: list.some((e) => e.type === 'DATA_ERROR'),
  };
}

/**
 * @throws ZodError when the connection lacks credentials.accessToken
 */
export function createWalmartAdapter(connection: Connection, http: HttpClient, opts: WalmartOptions): MarketplaceAdapter {
  const settings = settingsSchema.parse(connection.settings);
  const { accessToken } = credentialsSchema.parse(connection.credentials);
  const pushPolicy = DEFAULT_PUSH_POLICIES.WALMART;
  const readPolicy = DEFAULT_READ_POLICIES.WALMART;
  const headers = (correlationId: string) => ({
    'WM_SEC.ACCESS_TOKEN': accessToken,
    // Walmart uses it to trace a call, not to de-duplicate one: a retried push is a new feed, which
    // absolute quantities make harmless.
    'WM_QOS.CORRELATION_ID': correlationId,
    'WM_SVC.NAME': settings.serviceName ?? 'Walmart Marketplace',
  });

  async function feedStatus(feedId: string, offset: number, signal: AbortSignal | undefined): Promise<FeedStatus> {
    const what = `Walmart feed status ${feedId}`;
    const query = new URLSearchParams({ includeDetails: 'true', offset: String(offset), limit: String(STATUS_PAGE) });
    const res = await send(
      http,
      `${connection.baseUrl}/v3/feeds/${encodeURIComponent(feedId)}?${query}`,
      { method: 'GET', headers: headers(randomUUID()), signal },
      what,
    );
    raiseForStatus(res, what, 1000 / WALMART_FEED_STATUS_POLICY.refillPerSecond);
    return parseBody(feedStatusSchema, res, what);
  }

  /** Polls until Walmart has processed the feed; then fetches the remaining pages of item statuses. */
  async function awaitFeed(feedId: string, signal: AbortSignal | undefined): Promise<{ status: FeedStatus; items: ItemStatus[] }> {
    const deadline = Date.now() + opts.feedTimeoutMs;
    let failures = 0;
    let status: FeedStatus | undefined;
    let wait = opts.pollIntervalMs;
    while (!status) {
      if (Date.now() + wait > deadline) {
        throw new MarketplaceUnavailableError(`Walmart feed ${feedId} not processed within ${opts.feedTimeoutMs} ms`, undefined, { reason: 'TIMEOUT' });
      }
      try {
        await sleep(wait, undefined, { signal });
      } catch (err) {
        throw signal?.aborted ? signal.reason : err;
      }
      wait = opts.pollIntervalMs;
      try {
        const s = await feedStatus(feedId, 0, signal);
        failures = 0;
        if (s.feedStatus === 'PROCESSED' || s.feedStatus === 'ERROR') status = s;
      } catch (err) {
        // A refusal (401: the token expired during a long feed) is final; the worker decides what to resend.
        if (!(err instanceof MarketplaceUnavailableError || err instanceof MarketplaceThrottledError)) throw err;
        if (++failures >= MAX_POLL_FAILURES) throw err;
        if (err instanceof MarketplaceThrottledError) wait = Math.max(wait, err.retryAfterMs);
      }
    }
    const items = [...(status.itemDetails?.itemIngestionStatus ?? [])];
    const total = status.itemsReceived ?? 0;
    while (items.length < total) {
      const page = (await feedStatus(feedId, items.length, signal)).itemDetails?.itemIngestionStatus ?? [];
      if (page.length === 0) break;
      items.push(...page);
    }
    return { status, items };
  }

  function outcomesOf(valid: QuantityUpdate[], status: FeedStatus, items: ItemStatus[]): ItemOutcome[] {
    const bySku = new Map(items.map((i) => [i.sku, i]));
    const feedError = describeIngestion(status.ingestionErrors);
    return valid.map((u): ItemOutcome => {
      const item = bySku.get(u.sku);
      if (!item) {
        // A feed in ERROR lists no items: the feed-level error decides (a DATA_ERROR file will fail again).
        const message = feedError.message || `no ingestion status for this SKU (feed ${status.feedStatus})`;
        return { sku: u.sku, ok: false, retryable: !feedError.dataError, message, code: feedError.code };
      }
      if (item.ingestionStatus === 'SUCCESS') return { sku: u.sku, ok: true };
      const { message, code } = describeIngestion(item.ingestionErrors);
      return {
        sku: u.sku,
        ok: false,
        // DATA_ERROR is the item's data; SYSTEM_ERROR and TIMEOUT_ERROR are Walmart's side.
        retryable: item.ingestionStatus !== 'DATA_ERROR',
        message: message || item.ingestionStatus,
        code: code ?? item.ingestionStatus,
      };
    });
  }

  return {
    kind: 'WALMART',
    readBatch: readPolicy.maxBatch,
    pushCost: () => 1,
    readCost: (items) => items,

    async push(updates, { idempotencyKey, signal }) {
      assertBatch(updates.length, pushPolicy.maxBatch, 'Walmart inventory feed');
      const { valid, invalid } = partitionUpdates(updates);
      if (valid.length === 0) return invalid;
      const what = 'Walmart inventory feed';
      const res = await send(
        http,
        `${connection.baseUrl}/v3/feeds?feedType=inventory`,
        {
          method: 'POST',
          headers: headers(idempotencyKey),
          signal,
          json: {
            InventoryHeader: { version: '1.4' },
            Inventory: valid.map((u) => ({ sku: u.sku, quantity: { unit: 'EACH', amount: u.quantity } })),
          },
        },
        what,
      );
      raiseForStatus(res, what, 1000 / pushPolicy.refillPerSecond);
      const { feedId } = parseBody(feedSubmittedSchema, res, what);
      const { status, items } = await awaitFeed(feedId, signal);
      return [...invalid, ...outcomesOf(valid, status, items)];
    },

    async read(skus, readOpts) {
      assertBatch(skus.length, readPolicy.maxBatch, 'Walmart inventory read');
      const out = new Map<string, number | null>();
      for (const sku of skus) {
        const what = `Walmart inventory ${sku}`;
        const res = await send(
          http,
          `${connection.baseUrl}/v3/inventory?${new URLSearchParams({ sku })}`,
          { method: 'GET', headers: headers(randomUUID()), signal: readOpts?.signal },
          what,
        );
        if (res.status === 404) {
          out.set(sku, null);
          continue;
        }
        raiseForStatus(res, what, 1000 / readPolicy.refillPerSecond);
        out.set(sku, parseBody(inventorySchema, res, what).quantity.amount);
      }
      return out;
    },
  };
}
