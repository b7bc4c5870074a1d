import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import type { LookupFunction } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { jsonBody } from '../lib/jit-executor.js';
import { ANSWER_KIND_HEADER, DATA_ONLY } from '../lib/subgraph-answers.js';
import { ForbiddenAddressError, forbiddenHost, guardedLookup } from '../lib/forbidden-addresses.js';
import { SubgraphTransportError } from './subgraph-unavailable.js';

/** What a subgraph answered: its status, the headers the gateway reads, and the body (each caller parses its own copy). */
export interface SubgraphAnswer {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  /** The subgraph's ANSWER_KIND_HEADER (lib/subgraph-answers.ts): whether it says the answer is data alone. */
  answerKind: string | null;
  /** The body as it came. */
  bytes: Buffer;
  /** The body as text, decoded from `bytes` once something reads it: an answer sent on as it came never is. */
  readonly text: string;
}

/** A SubgraphAnswer whose text is decoded on first use. */
class ReceivedAnswer implements SubgraphAnswer {
  private decoded: string | undefined;

  constructor(
    readonly status: number,
    readonly contentType: string | null,
    readonly cacheControl: string | null,
    readonly answerKind: string | null,
    readonly bytes: Buffer,
  ) {}

  get text(): string {
    return (this.decoded ??= this.bytes.toString());
  }
}

export interface SubgraphTransportOptions {
  /** Bound of one fetch, connection to last body byte (SUBGRAPH_TIMEOUT_MS). */
  timeoutMs: number;
  /** Idle keep-alive of pooled connections. */
  keepAliveMs?: number;
  /** Resolves subgraph hosts (default: DNS, never to a metadata or link-local address). */
  lookup?: LookupFunction;
}

/**
 * The gateway's HTTP client for subgraph fetches: undici's pooled keep-alive connections (its
 * `request` API, without the WHATWG fetch layer's Request, stream and AbortSignal objects per call),
 * one overall timeout per fetch, and in-flight sharing: identical read fetches sent while one is
 * already on its way (the same URL, body and sharing key) wait for that one's answer instead of
 * going out again, as Apollo Router's and Hive Gateway's subgraph deduplication do. Every waiter
 * gets the answer's text and parses its own object, because the gateway writes into the results
 * it merges.
 */
export class SubgraphTransport {
  private readonly agent: Agent;
  private readonly inflight = new Map<string, Promise<SubgraphAnswer>>();
  /** Fetches answered by joining one already in flight (omnistock_gateway_shared_subgraph_fetches_total). */
  shared = 0;

  constructor(private readonly opts: SubgraphTransportOptions) {
    this.agent = new Agent({
      keepAliveTimeout: opts.keepAliveMs ?? 30_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      // Never a metadata or link-local address, whatever the subgraph's name resolves to now (DNS rebinding).
      connect: { timeout: opts.timeoutMs, lookup: opts.lookup ?? guardedLookup },
    });
  }

  /**
   * POSTs a GraphQL request to a subgraph. With a `shareKey` (reads only: the caller decides), an
   * identical request already in flight is joined rather than sent again.
   * @throws SubgraphTransportError when no answer came: refused, reset, or not within the timeout
   */
  post(serviceName: string, url: string, body: string, headers: Record<string, string>, shareKey: string | null): Promise<SubgraphAnswer> {
    if (shareKey === null) return this.send(serviceName, url, body, headers);
    const key = `${url}\n${shareKey}\n${body}`;
    const pending = this.inflight.get(key);
    if (pending) {
      this.shared++;
      return pending;
    }
    const sent = this.send(serviceName, url, body, headers).finally(() => this.inflight.delete(key));
    this.inflight.set(key, sent);
    return sent;
  }

  private async send(serviceName: string, url: string, body: string, headers: Record<string, string>): Promise<SubgraphAnswer> {
    // An EventEmitter is undici's cheapest abort signal: no AbortSignal (and its transferable machinery) per fetch.
    const abort = new EventEmitter();
    const timer = setTimeout(() => abort.emit('abort'), this.opts.timeoutMs);
    try {
      const { origin, path } = target(url);
      const res = await this.agent.request({ origin, path, method: 'POST', headers, body, signal: abort });
      const bytes = Buffer.from(await res.body.arrayBuffer());
      return new ReceivedAnswer(res.statusCode, header(res.headers, 'content-type'), header(res.headers, 'cache-control'), header(res.headers, ANSWER_KIND_HEADER), bytes);
    } catch (err) {
      throw new SubgraphTransportError(serviceName, failureReason(err, this.opts.timeoutMs), { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

const targets = new Map<string, { origin: string; path: string }>();
/** The origin and path of a subgraph URL (a handful of distinct URLs, so each is parsed once). */
function target(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (t === undefined) {
    const u = new URL(url);
    if (forbiddenHost(u.hostname)) throw new ForbiddenAddressError(`${u.hostname} is a metadata or link-local address, which no subgraph may use`);
    t = { origin: u.origin, path: u.pathname + u.search };
    if (targets.size < 1000) targets.set(url, t);
  }
  return t;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | null {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

const TIMEOUT_CODES = new Set(['UND_ERR_ABORTED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Why a fetch got no answer, as SUBGRAPH_UNAVAILABLE says it: the socket error's code, or the timeout. */
export function failureReason(err: unknown, timeoutMs: number): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return `no answer within ${timeoutMs} ms`;
  if (typeof code === 'string' && code) return code;
  return 'network error';
}

/** Statuses of a subgraph refusing the gateway's own request (its credentials, in time). */
const REFUSED_GATEWAY = new Set([401, 403]);

/**
 * A subgraph's answer as @apollo/gateway takes it: a 2xx JSON object is the result, and so is a
 * GraphQL answer with a 4xx other than 401/403 (the subgraph refused the request, with its errors).
 * Anything else (a 401/403, a 5xx, a status without a GraphQL body) is a failure of the gateway's
 * fetch, never passed to the caller as it came.
 * @param opts.sentAsIs the caller sends the answer's data on as it came (single-fetch.ts): its text is
 *   kept for stringifyResult, and from one of our own subgraphs (`own`) saying it is data alone, it is not even read
 * @throws SubgraphTransportError for a failure of the gateway's fetch (those statuses)
 * @throws Error for a 2xx body that is not a JSON object
 */
export function toGatewayResponse(serviceName: string, url: string, answer: SubgraphAnswer, opts: { sentAsIs?: boolean; own?: boolean } = {}): GatewayGraphQLResponse {
  if (opts.sentAsIs && opts.own && answer.answerKind === DATA_ONLY && answer.status >= 200 && answer.status <= 299 && isJson(answer.contentType)) {
    const data = parsedOnUse(answer);
    answeredAs.set(data, answer.bytes);
    return { data };
  }
  const body = parseBody(answer);
  if (answer.status < 200 || answer.status > 299) {
    // A GraphQL answer with a 4xx (a request the subgraph refused, e.g. 400 with its validation errors) is its answer.
    const graphql = typeof body === 'object' && body !== null && Array.isArray((body as { errors?: unknown }).errors);
    if (graphql && answer.status < 500 && !REFUSED_GATEWAY.has(answer.status)) return body as GatewayGraphQLResponse;
    // Anything else is the gateway's failure, not the caller's: SUBGRAPH_UNAVAILABLE at the fields the
    // fetch was to fill. The subgraph's URL and body (which may name internal hosts or say why our
    // credentials failed) go to the log only. A 401/403 means the subgraph refused the gateway itself.
    const statusText = STATUS_CODES[answer.status] ?? '';
    throw new SubgraphTransportError(serviceName, `HTTP ${answer.status}`, {
      status: answer.status,
      cause: new Error(`${url} answered ${answer.status} ${statusText}: ${answer.text.slice(0, 500)}`),
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`Expected JSON response body, but received: ${answer.text}`);
  // An answer that is data alone: its text is what a response of that data and nothing else says.
  const data = (body as { data?: unknown }).data;
  if (opts.sentAsIs && typeof data === 'object' && data !== null && Object.keys(body).length === 1) answeredAs.set(data, answer.bytes);
  return body as GatewayGraphQLResponse;
}

const isJson = (type: string | null) => !!type && (type.startsWith('application/json') || type.startsWith('application/graphql-response+json'));

function parseBody(answer: SubgraphAnswer): unknown {
  if (!isJson(answer.contentType)) return answer.text;
  try {
    return JSON.parse(answer.text);
  } catch (err) {
    throw new Error(`Invalid JSON from the subgraph: ${(err as Error).message}`);
  }
}

/** Subgraph answers' `data` objects, each with the JSON body of the answer that was that data alone. */
const answeredAs = new WeakMap<object, Buffer>();

/**
 * The `data` of a subgraph's answer (the JSON of an object whose only member is `data`, an object),
 * parsed only once something looks into it: a response sent as the subgraph's bytes (stringifyResult)
 * never is. Anything that reads it (a plugin, a caller of executeOperation) sees the parsed object,
 * through a proxy that forwards every operation to it. Like any answer's data sent as its bytes
 * (stringifyResult), it must not be written to: nothing on the one-fetch path does.
 */
function parsedOnUse(answer: SubgraphAnswer): Record<string, unknown> {
  return new Proxy<Unread>({ answer }, READ_ON_USE) as unknown as Record<string, unknown>;
}

/** The proxy's target: the answer, and its data once parsed. */
interface Unread {
  answer: SubgraphAnswer;
  data?: Record<string, unknown>;
}

const dataOf = (t: Unread) => (t.data ??= (JSON.parse(t.answer.text) as { data: Record<string, unknown> }).data);

/** One handler for every such proxy (a response makes no closures of its own). */
const READ_ON_USE: ProxyHandler<Unread> = {
  get: (t, key) => Reflect.get(dataOf(t), key),
  set: (t, key, value) => Reflect.set(dataOf(t), key, value),
  has: (t, key) => Reflect.has(dataOf(t), key),
  ownKeys: (t) => Reflect.ownKeys(dataOf(t)),
  getOwnPropertyDescriptor: (t, key) => Reflect.getOwnPropertyDescriptor(dataOf(t), key),
  defineProperty: (t, key, descriptor) => Reflect.defineProperty(dataOf(t), key, descriptor),
  deleteProperty: (t, key) => Reflect.deleteProperty(dataOf(t), key),
  getPrototypeOf: (t) => Reflect.getPrototypeOf(dataOf(t)),
};

/**
 * Apollo Server's `stringifyResult`: a response that is a subgraph answer's data, untouched and alone
 * (no error, no extension: a one-fetch query answered by its fetch, see single-fetch.ts), is sent as
 * the subgraph's own body, which already says it; anything else is serialized as Apollo Server does.
 * Saves serializing again what was just parsed, and decoding and encoding again what is sent as it
 * came (a storefront's answer is some 40 KB). The body goes out as the bytes that came, not as a
 * string (as the subgraphs send it, lib/jit-executor.ts stringifyResult: Fastify sends a Buffer as
 * it is, and a batch's answers joined in a template string read it as its UTF-8 text). The data
 * objects the gateway merges into are its own, never a subgraph answer's.
 */
export function stringifyResult(value: { data?: unknown; errors?: unknown; extensions?: unknown }): string {
  if (value.errors === undefined && value.extensions === undefined && typeof value.data === 'object' && value.data !== null) {
    const bytes = answeredAs.get(value.data);
    if (bytes !== undefined) return bytes as unknown as string;
  }
  return jsonBody(value);
}
