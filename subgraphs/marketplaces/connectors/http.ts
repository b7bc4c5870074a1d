import { anySignal } from 'any-signal';
import { z } from 'zod';
import {
  MarketplaceRejectedError,
  MarketplaceThrottledError,
  MarketplaceUnavailableError,
  type ItemOutcome,
  type QuantityUpdate,
} from './types.js';

/**
 * The one place adapters talk HTTP: a fetch with a timeout, and the mapping of what came back onto
 * the contract's three errors. Marketplace-specific parsing stays in each adapter.
 */

export interface HttpClient {
  fetch: typeof fetch;
  /** Per request, including reading the body. */
  timeoutMs: number;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  /** The JSON body, or undefined when it was empty or not JSON. */
  body: unknown;
  text: string;
}

export interface SendInit {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  headers?: Record<string, string>;
  /** Serialised as JSON. */
  json?: unknown;
  /** A body sent as is (its content-type in `headers`), e.g. one a signature covers. */
  body?: string;
  signal?: AbortSignal;
}

/**
 * Sends one request and reads its body. Any status comes back as is; callers decide (usually with
 * {@link raiseForStatus}).
 * @throws MarketplaceUnavailableError on a network error or a timeout; the caller's own abort reason
 *   when its signal aborted
 */
export async function send(client: HttpClient, url: string, init: SendInit, what: string): Promise<HttpResult> {
  const timeout = AbortSignal.timeout(client.timeoutMs);
  // Not AbortSignal.any: on Node 20 every signal it makes stays referenced from the worker's
  // long-lived one it follows (nodejs/node#54614), a leak per marketplace request. Cleared below.
  const combined = init.signal ? anySignal([init.signal, timeout]) : null;
  const signal = combined ?? timeout;
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await client.fetch(url, {
      method: init.method,
      headers,
      body: init.json === undefined ? init.body : JSON.stringify(init.json),
      signal,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: parseJson(text), text };
  } catch (err) {
    // The worker cancelling (shutdown) is not the marketplace failing: let it see its own abort.
    if (init.signal?.aborted) throw init.signal.reason;
    if (timeout.aborted) throw new MarketplaceUnavailableError(`${what}: no answer within ${client.timeoutMs} ms`, undefined, { reason: 'TIMEOUT' });
    throw new MarketplaceUnavailableError(`${what}: ${describeNetworkError(err)}`, undefined, { reason: 'NETWORK' });
  } finally {
    combined?.clear();
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/**
 * Throws the contract error for a non-2xx status: 429 → throttled (Retry-After, else
 * `defaultWaitMs`), 5xx and 408 → unavailable, any other 4xx → rejected with the marketplace's message.
 * @throws MarketplaceThrottledError, MarketplaceUnavailableError, MarketplaceRejectedError
 */
export function raiseForStatus(res: HttpResult, what: string, defaultWaitMs: number): void {
  if (res.status >= 200 && res.status < 300) return;
  const { message, code } = describeError(res);
  if (res.status === 429) {
    throw new MarketplaceThrottledError(`${what}: ${message}`, retryAfterMs(res.headers) ?? Math.ceil(defaultWaitMs));
  }
  if (res.status >= 500 || res.status === 408) throw new MarketplaceUnavailableError(`${what}: ${message}`, res.status);
  throw new MarketplaceRejectedError(`${what}: ${message}`, res.status, code);
}

/**
 * The body parsed with `schema`. A body we cannot read means the marketplace (or something in front
 * of it) answered wrongly, which a later try may not repeat.
 * @throws MarketplaceUnavailableError when the body does not match
 */
export function parseBody<S extends z.ZodType>(schema: S, res: HttpResult, what: string): z.output<S> {
  const snippet = res.text.length > 200 ? `${res.text.slice(0, 200)}…` : res.text;
  return parseValue(schema, res.body, what, `HTTP ${res.status}: ${snippet || '<empty>'}`, res.status);
}

/**
 * A value from a response (a body, or a part of one such as GraphQL `data`) parsed with `schema`.
 * @throws MarketplaceUnavailableError when it does not match
 */
export function parseValue<S extends z.ZodType>(schema: S, value: unknown, what: string, context: string, status?: number): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new MarketplaceUnavailableError(`${what}: unreadable response (${context})`, status, { reason: 'UNREADABLE' });
}

/** Retry-After as milliseconds (delay-seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// Error bodies, across marketplaces: Amazon {errors:[{code,message}]}, eBay {errors:[{errorId,message}]},
// Walmart {errors:[{code,description}]}, Shopify {errors:"..."} or {errors:{field:[...]}}.
const errorEntry = z.object({
  code: z.union([z.string(), z.number()]).optional(),
  errorId: z.number().optional(),
  message: z.string().optional(),
  longMessage: z.string().optional(),
  description: z.string().optional(),
});
const errorBody = z.object({
  errors: z.union([z.string(), z.array(errorEntry), z.record(z.string(), z.unknown())]),
});

/** The marketplace's own words for a failed call, whatever its error shape. */
export function describeError(res: HttpResult): { message: string; code?: string } {
  const parsed = errorBody.safeParse(res.body);
  const fallback = `HTTP ${res.status}${res.text && res.text.length <= 200 ? `: ${res.text}` : ''}`;
  if (!parsed.success) return { message: fallback };
  const { errors } = parsed.data;
  if (typeof errors === 'string') return { message: errors };
  if (!Array.isArray(errors)) return { message: JSON.stringify(errors) };
  const messages = errors.map((e) => e.longMessage ?? e.message ?? e.description).filter((m): m is string => !!m);
  const first = errors[0];
  const code = first?.code ?? first?.errorId;
  return { message: messages.length ? messages.join('; ') : fallback, code: code === undefined ? undefined : String(code) };
}

/**
 * Splits out updates no marketplace accepts (a quantity that is not a non-negative integer), so one
 * bad value does not sink a whole batch: they come back as non-retryable outcomes without a call.
 */
export function partitionUpdates(updates: QuantityUpdate[]): { valid: QuantityUpdate[]; invalid: ItemOutcome[] } {
  const valid: QuantityUpdate[] = [];
  const invalid: ItemOutcome[] = [];
  for (const u of updates) {
    if (Number.isSafeInteger(u.quantity) && u.quantity >= 0) valid.push(u);
    else invalid.push({ sku: u.sku, ok: false, retryable: false, code: 'INVALID_QUANTITY', message: `quantity must be a non-negative integer, got ${u.quantity}` });
  }
  return { valid, invalid };
}

/**
 * Guards the batch sizes the worker must respect (RatePolicy.maxBatch, readBatch): exceeding them is
 * a bug in the caller, not a marketplace outcome.
 * @throws RangeError when `count` exceeds `max`
 */
export function assertBatch(count: number, max: number, what: string): void {
  if (count > max) throw new RangeError(`${what} takes at most ${max} items per call, got ${count}`);
}

/**
 * One call whose 2xx body is read with `schema`; anything else becomes the contract's errors.
 * @throws MarketplaceThrottledError, MarketplaceUnavailableError, MarketplaceRejectedError
 */
export async function callJson<S extends z.ZodType>(client: HttpClient, url: string, init: SendInit, what: string, schema: S, defaultWaitMs: number): Promise<z.output<S>> {
  const res = await send(client, url, init, what);
  raiseForStatus(res, what, defaultWaitMs);
  return parseBody(schema, res, what);
}

/** An opaque intake cursor: JSON of a marketplace's resume point, base64url-encoded. */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** @returns the resume point, or null for a cursor this schema does not read (start again from `startAt`) */
export function decodeCursor<S extends z.ZodType>(schema: S, cursor: string | null): z.output<S> | null {
  if (!cursor) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
