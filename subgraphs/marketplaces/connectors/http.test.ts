import { describe, expect, it } from 'vitest';
import { holdsOn } from '../../../lib/abort.js';
import { z } from 'zod';
import { describeError, parseBody, partitionUpdates, raiseForStatus, retryAfterMs, send, type HttpResult } from './http.js';
import { MarketplaceRejectedError, MarketplaceThrottledError, MarketplaceUnavailableError } from './types.js';

function result(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  const text = body === undefined ? '' : JSON.stringify(body);
  return { status, headers: new Headers(headers), body, text };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('adapter HTTP helpers', () => {
  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': '0.25' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });

  it("takes the message from each marketplace's error shape", () => {
    expect(describeError(result(400, { errors: [{ code: 'InvalidInput', message: 'bad marketplaceIds' }] }))).toEqual({ message: 'bad marketplaceIds', code: 'InvalidInput' });
    expect(describeError(result(401, { errors: [{ errorId: 1001, message: 'Invalid access token', longMessage: 'Invalid access token. Check the header.' }] }))).toEqual({
      message: 'Invalid access token. Check the header.',
      code: '1001',
    });
    expect(describeError(result(401, { errors: [{ code: 'UNAUTHORIZED.GMP_GATEWAY_API', description: 'Unauthorized' }] }))).toEqual({ message: 'Unauthorized', code: 'UNAUTHORIZED.GMP_GATEWAY_API' });
    expect(describeError(result(401, { errors: '[API] Invalid API key' })).message).toBe('[API] Invalid API key');
    expect(describeError({ status: 502, headers: new Headers(), body: undefined, text: '<html>bad gateway</html>' }).message).toBe('HTTP 502: <html>bad gateway</html>');
  });

  it('maps statuses onto the three contract errors', () => {
    expect(() => raiseForStatus(result(207, {}), 'x', 1000)).not.toThrow();
    const throttled = caught(() => raiseForStatus(result(429, {}, { 'retry-after': '7' }), 'x', 1000));
    expect(throttled).toBeInstanceOf(MarketplaceThrottledError);
    expect((throttled as MarketplaceThrottledError).retryAfterMs).toBe(7000);
    expect((caught(() => raiseForStatus(result(429, {}), 'x', 1234.2)) as MarketplaceThrottledError).retryAfterMs).toBe(1235);
    for (const status of [500, 502, 503, 408]) {
      const err = caught(() => raiseForStatus(result(status, {}), 'x', 1000));
      expect(err).toBeInstanceOf(MarketplaceUnavailableError);
      expect((err as MarketplaceUnavailableError).status).toBe(status);
    }
    for (const status of [400, 401, 403, 404]) {
      const err = caught(() => raiseForStatus(result(status, { errors: [{ code: 'E1', message: 'no' }] }), 'call', 1000));
      expect(err).toBeInstanceOf(MarketplaceRejectedError);
      expect(err).toMatchObject({ status, code: 'E1', message: 'call: no' });
    }
  });

  it('treats an unreadable body as the marketplace being unavailable', () => {
    const schema = z.object({ feedId: z.string() });
    expect(parseBody(schema, result(200, { feedId: 'F1' }), 'x')).toEqual({ feedId: 'F1' });
    expect(() => parseBody(schema, { status: 200, headers: new Headers(), body: undefined, text: 'not json' }, 'x')).toThrow(MarketplaceUnavailableError);
    expect(() => parseBody(schema, result(200, { feedId: 3 }), 'x')).toThrow(MarketplaceUnavailableError);
  });

  it('reports network errors and timeouts as unavailable, and the caller abort as itself', async () => {
    const failing: typeof fetch = () => Promise.reject(new TypeError('fetch failed', { cause: new Error('ECONNRESET') }));
    await expect(send({ fetch: failing, timeoutMs: 1000 }, 'http://x.invalid', { method: 'GET' }, 'call')).rejects.toThrow(/call: fetch failed: ECONNRESET/);

    // Never answers; gives up only when its signal aborts.
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    await expect(send({ fetch: hanging, timeoutMs: 20 }, 'http://x.invalid', { method: 'GET' }, 'call')).rejects.toBeInstanceOf(MarketplaceUnavailableError);

    const ctrl = new AbortController();
    const reason = new Error('worker stopping');
    const pending = send({ fetch: hanging, timeoutMs: 60_000 }, 'http://x.invalid', { method: 'GET', signal: ctrl.signal }, 'call');
    ctrl.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("leaves nothing behind on the caller's long-lived signal, request after request", async () => {
    // A worker passes the signal it stops with to every request. Combined with AbortSignal.any, each
    // request stayed referenced from it on Node 20 (nodejs/node#54614), for good.
    const worker = new AbortController();
    const client = { timeoutMs: 60_000, fetch: (async () => ({ status: 200, headers: new Headers(), text: async () => '{}' })) as unknown as typeof fetch };
    for (let i = 0; i < 1_000; i++) await send(client, 'http://marketplace.test/items', { method: 'GET', signal: worker.signal }, 'probe');
    expect(holdsOn(worker.signal)).toBe(0);
    // And the caller's abort still reaches a request in flight.
    const stuck = { timeoutMs: 60_000, fetch: ((_url: string, init: RequestInit) => new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch };
    const pending = send(stuck, 'http://marketplace.test/items', { method: 'GET', signal: worker.signal }, 'probe');
    worker.abort(new Error('worker stopping'));
    await expect(pending).rejects.toThrow('worker stopping');
    expect(holdsOn(worker.signal)).toBe(0);
  });

  it('sets aside quantities no marketplace accepts', () => {
    const { valid, invalid } = partitionUpdates([
      { sku: 'A', quantity: 3, previousQuantity: null },
      { sku: 'B', quantity: -1, previousQuantity: 2 },
      { sku: 'C', quantity: 1.5, previousQuantity: null },
      { sku: 'D', quantity: 0, previousQuantity: 4 },
    ]);
    expect(valid.map((u) => u.sku)).toEqual(['A', 'D']);
    expect(invalid).toEqual([
      expect.objectContaining({ sku: 'B', ok: false, retryable: false, code: 'INVALID_QUANTITY' }),
      expect.objectContaining({ sku: 'C', ok: false, retryable: false, code: 'INVALID_QUANTITY' }),
    ]);
  });
});
