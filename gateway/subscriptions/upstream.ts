import { inspect } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { forbiddenHost, guardedLookup } from '../../lib/forbidden-addresses.js';
import { SERVICE_TOKEN_HEADER, type ServiceTokenSigner } from '../../lib/service-token.js';

export interface UpstreamSettings {
  keepAliveMs: number;
  retryMaxMs: number;
  log: Logger;
}

/** Orders resume positions: `<ms>-<n>` stream ids as number pairs, anything else as text. */
export function compareSequences(a: string, b: string): number {
  const pa = /^(\d+)-(\d+)$/.exec(a);
  const pb = /^(\d+)-(\d+)$/.exec(b);
  if (pa && pb) return Number(pa[1]) - Number(pb[1]) || Number(pa[2]) - Number(pb[2]);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Who an upstream subscription is opened for: the group's caller, as the service token names it. */
export interface UpstreamCaller {
  clientId: string | null;
  scopes: readonly string[];
  anonymous?: boolean;
}

/**
 * One graphql-ws client per subgraph subscription URL, shared by every upstream subscription to it.
 * With service tokens, each connection proves it comes from the gateway (a fresh token in its
 * connection_init), and each subscription names its caller (a token in the subscribe message's
 * extensions), which the subgraph checks as it checks HTTP requests.
 */
/** A WebSocket to a subgraph whose name never resolves to a metadata or link-local address (lib/forbidden-addresses.ts; literals are refused before). */
class GuardedWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols, { lookup: guardedLookup });
  }
}

export class UpstreamPool {
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly settings: UpstreamSettings,
    readonly tokens: ServiceTokenSigner | null = null,
  ) {}

  /** The extensions of a subscribe message to `subgraph` for `caller`: its service token. */
  async extensions(subgraph: string, caller: UpstreamCaller): Promise<Record<string, string>> {
    return this.tokens ? { [SERVICE_TOKEN_HEADER]: await this.tokens.token(subgraph, caller) } : {};
  }

  client(url: string, subgraph: string): Client {
    let client = this.clients.get(url);
    if (!client) {
      client = createClient({
        url,
        webSocketImpl: GuardedWebSocket,
        lazy: true,
        keepAlive: this.settings.keepAliveMs,
        // Reconnecting is UpstreamSubscription's job: it re-subscribes with the position it reached.
        retryAttempts: 0,
        connectionParams: async () => (this.tokens ? { [SERVICE_TOKEN_HEADER]: await this.tokens.token(subgraph, { clientId: 'gateway', scopes: [] }) } : { 'x-client-id': 'gateway' }),
      });
      this.clients.set(url, client);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients.values()].map((c) => c.dispose()));
    this.clients.clear();
  }
}

export interface UpstreamHandlers {
  /** A result of the primary subscription, with its position (`extensions.sequence`) when the subgraph gives one. */
  onEvent(result: ExecutionResult, sequence: string | null, key: string | null): void;
  /** The subgraph refused or ended the subscription; it will not be re-opened. */
  onEnd(errors: readonly GraphQLError[] | null): void;
}

/**
 * The primary fetch of a sharing group, held open over graphql-ws. When the connection drops (a
 * subgraph restart, a network blip) it re-subscribes with backoff and `extensions.since` set to the
 * last position it received, so the subgraph replays what happened meanwhile; anything at or
 * before that position is dropped, so subscribers see neither a gap nor a duplicate. Lost before
 * any event arrived, it resumes from when it first subscribed (`<ms>-0`, a stream position in
 * time): what was committed while the subgraph was away is not lost for having had no predecessor.
 */
export class UpstreamSubscription {
  private stopRequested = false;
  private unsubscribe: (() => void) | null = null;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  lastSequence: string | null = null;
  /** When it first subscribed: the resume position while no event has arrived. */
  private firstOpenedAt: number | null = null;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly url: string,
    /** The subgraph and the caller the subscription is opened for (its service token). */
    private readonly target: { subgraph: string; caller: UpstreamCaller },
    private readonly payload: { query: string; variables: Record<string, unknown>; operationName?: string },
    private readonly handlers: UpstreamHandlers,
    private readonly settings: UpstreamSettings,
  ) {}

  start(): void {
    // A fresh token at every (re)subscription: one signed for an earlier attempt may have expired.
    this.pool.extensions(this.target.subgraph, this.target.caller).then(
      (extensions) => this.open(extensions),
      (err) => this.retry(err),
    );
  }

  private open(tokenExtensions: Record<string, string>): void {
    if (this.stopRequested) return;
    let ended = false;
    const resumeFrom = this.lastSequence ?? (this.firstOpenedAt === null ? null : `${this.firstOpenedAt}-0`);
    this.firstOpenedAt ??= Date.now();
    const extensions = { ...tokenExtensions, ...(resumeFrom ? { since: resumeFrom } : {}) };
    const { hostname } = new URL(this.url);
    if (forbiddenHost(hostname)) {
      this.stop();
      this.handlers.onEnd([new GraphQLError(`The ${this.target.subgraph} subgraph's subscription URL names ${hostname}, a metadata or link-local address no subgraph may use`, { extensions: { code: 'SUBGRAPH_UNAVAILABLE' } })]);
      return;
    }
    this.unsubscribe = this.pool.client(this.url, this.target.subgraph).subscribe(
      { ...this.payload, ...(Object.keys(extensions).length ? { extensions } : {}) },
      {
        next: (result) => {
          if (ended) return;
          if (!result.data && result.errors?.length) {
            // The subgraph refused the subscription (bad filter, expired since): final.
            ended = true;
            this.stop();
            this.handlers.onEnd(result.errors.map((e) => new GraphQLError(e.message, { path: e.path, extensions: e.extensions })));
            return;
          }
          const meta = (result.extensions ?? {}) as { sequence?: unknown; key?: unknown };
          const sequence = typeof meta.sequence === 'string' ? meta.sequence : null;
          if (sequence) {
            if (this.lastSequence && compareSequences(sequence, this.lastSequence) <= 0) return;
            this.lastSequence = sequence;
          }
          this.attempts = 0;
          const key = typeof meta.key === 'string' ? meta.key : null;
          this.handlers.onEvent(result as ExecutionResult, sequence, key);
        },
        error: (err) => {
          if (ended || this.stopRequested) return;
          ended = true;
          if (Array.isArray(err)) {
            // graphql-ws `error` message: the subgraph found the operation invalid; retrying cannot help.
            this.stop();
            this.handlers.onEnd(err as GraphQLError[]);
            return;
          }
          this.retry(err);
        },
        complete: () => {
          if (ended || this.stopRequested) return;
          ended = true;
          this.stop();
          this.handlers.onEnd(null);
        },
      },
    );
  }

  private retry(err: unknown): void {
    const delay = Math.min(this.settings.retryMaxMs, 100 * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    this.settings.log.warn(
      { url: this.url, attempt: this.attempts, delayMs: Math.round(delay), since: this.lastSequence, reason: lossReason(err) },
      'upstream subscription lost; re-subscribing',
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.start();
    }, delay);
  }

  stop(): void {
    this.stopRequested = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}

/**
 * Why an upstream connection was lost, as a log line can show it: graphql-ws hands its sink a close
 * event (code and reason), an error event (carrying an error) or an Error.
 */
export function lossReason(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; reason?: unknown; error?: unknown; message?: unknown; type?: unknown };
    if (typeof e.code === 'number') return `closed with ${e.code}${typeof e.reason === 'string' && e.reason ? `: ${e.reason}` : ''}`;
    if (e.error instanceof Error) return e.error.message;
    if (typeof e.message === 'string' && e.message) return e.message;
    if (typeof e.type === 'string') return `${e.type} event`;
    return inspect(err, { depth: 2, breakLength: Infinity });
  }
  return String(err);
}
