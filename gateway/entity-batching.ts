import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import rfdc from 'rfdc';
import { requestScope } from '../lib/logger.js';

/** A deep copy of an entity as a subgraph answered it (JSON data: plain objects, arrays, primitives). */
const copyEntity = rfdc();

/** An entity fetch sent with each distinct representation once, and how to give its answer the original shape. */
export interface DedupedFetch {
  request: GatewayGraphQLRequest;
  /** The answer to `request` as the answer to the original fetch: one `_entities` entry (and its errors) per original representation. */
  expand(response: GatewayGraphQLResponse): GatewayGraphQLResponse;
}

/**
 * @apollo/gateway sends an `_entities` fetch one representation per place in the response: 20 SKUs
 * available at the same 28 locations ask the locations subgraph for 560 locations, 28 of them
 * distinct. This sends each distinct representation once (the same key and required fields make the
 * same entity) and copies the answers back to every place. Null when the fetch has nothing repeated.
 */
export function dedupeRepresentations(request: GatewayGraphQLRequest): DedupedFetch | null {
  const representations = request.variables?.['representations'];
  if (!Array.isArray(representations) || representations.length < 2) return null;
  const index = new RepresentationIndex();
  /** For each original representation, its index among the unique ones. */
  const positions = representations.map((r) => index.indexOf(r));
  const { unique } = index;
  if (unique.length === representations.length) return null;
  return {
    request: { ...request, variables: { ...request.variables, representations: unique } },
    expand(response) {
      const entities = (response.data as { _entities?: unknown } | null | undefined)?._entities;
      // Answers of another shape are left for the gateway to report as they are.
      if (!Array.isArray(entities) || entities.length !== unique.length) return response;
      const originals: number[][] = unique.map(() => []);
      positions.forEach((at, i) => originals[at]!.push(i));
      // Every place gets its own object: the gateway rewrites and merges each entity in place.
      const placed = positions.map((at, i) => (originals[at]![0] === i ? entities[at] : copyEntity(entities[at])));
      return {
        ...response,
        data: { ...response.data, _entities: placed },
        errors: response.errors?.flatMap((error) => {
          const [head, at, ...rest] = error.path ?? [];
          if (head !== '_entities' || typeof at !== 'number' || !originals[at]) return [error];
          return originals[at]!.map((i) => ({ ...error, path: ['_entities', i, ...rest] }));
        }),
      };
    },
  };
}

/** A level of RepresentationIndex: members' names and values alternate, down to a representation's index. */
interface Trie {
  next: Map<string, Trie>;
  index: number;
}

/**
 * The distinct representations of a fetch, each with its index: equal representations (the same
 * members, in the same order, with the same values) get the same index. A representation of string
 * members only (its typename and key fields, the usual case) is found by walking its members' names
 * and values, the strings themselves as keys (no key text built per representation); anything else
 * by its JSON text.
 */
export class RepresentationIndex {
  private readonly trie: Trie = { next: new Map(), index: -1 };
  private readonly byJson = new Map<string, number>();
  readonly unique: unknown[] = [];

  /** The representation's index among the distinct ones, adding it when it is new. */
  indexOf(representation: unknown): number {
    if (typeof representation !== 'object' || representation === null || Array.isArray(representation)) return this.byJsonText(representation);
    let at = this.trie;
    for (const name of Object.keys(representation)) {
      const value = (representation as Record<string, unknown>)[name];
      if (typeof value !== 'string') return this.byJsonText(representation);
      at = step(step(at, name), value);
    }
    if (at.index < 0) at.index = this.add(representation);
    return at.index;
  }

  private byJsonText(representation: unknown): number {
    const key = JSON.stringify(representation);
    let index = this.byJson.get(key);
    if (index === undefined) this.byJson.set(key, (index = this.add(representation)));
    return index;
  }

  private add(representation: unknown): number {
    this.unique.push(representation);
    return this.unique.length - 1;
  }
}

function step(at: Trie, key: string): Trie {
  let next = at.next.get(key);
  if (!next) at.next.set(key, (next = { next: new Map(), index: -1 }));
  return next;
}

interface Waiter {
  representations: unknown[];
  resolve(response: GatewayGraphQLResponse): void;
  reject(err: unknown): void;
}

interface Batch {
  /** The first fetch and how it is sent: its operation, other variables and headers stand for all (the key says they agree). */
  request: GatewayGraphQLRequest;
  send: Send;
  waiters: Waiter[];
  size: number;
  sent: boolean;
  /** The first fetch's request, whose x-request-id the merged fetch carries. */
  requestId: string | undefined;
}

type Send = (request: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>;

/** Most representations one merged fetch carries. */
export const MAX_BATCHED_REPRESENTATIONS = 2000;

/**
 * `_entities` fetches of concurrent requests merged into one subgraph call: fetches with the same
 * key (the gateway's: subgraph, operation, other variables and client) that are made in the same
 * turn of the event loop (or within GATEWAY_BATCH_WINDOW_MS of the first) go out as one fetch of
 * all their representations, and each gets its own slice of the answer back, its entity errors
 * renumbered and errors of the whole fetch repeated.
 * A federation subgraph resolves each representation on its own, so merging changes no answer; it
 * saves the subgraph the fixed cost of a request per fetch (its HTTP, context and DataLoaders),
 * and its DataLoaders batch the entities of all of them in one query.
 */
export class EntityFetchBatcher {
  private readonly open = new Map<string, Batch>();

  constructor(
    /** How long a batch waits for more fetches after its first; 0: until the end of this turn of the event loop. */
    private readonly windowMs = 0,
    private readonly maxRepresentations = MAX_BATCHED_REPRESENTATIONS,
  ) {}

  /** Sends `request` with `send`, merged with fetches of the same `key` made within the window; alone when `key` is null or it has no representations. */
  fetch(key: string | null, request: GatewayGraphQLRequest, send: Send): Promise<GatewayGraphQLResponse> {
    const representations = request.variables?.['representations'];
    if (key === null || !Array.isArray(representations)) return send(request);
    let batch = this.open.get(key);
    if (batch && batch.size + representations.length > this.maxRepresentations) {
      this.open.delete(key);
      this.flush(batch);
      batch = undefined;
    }
    if (!batch) {
      const opened: Batch = { request, send, waiters: [], size: 0, sent: false, requestId: requestScope.getStore()?.requestId };
      this.open.set(key, opened);
      const flush = () => {
        if (this.open.get(key) === opened) this.open.delete(key);
        this.flush(opened);
      };
      if (this.windowMs > 0) setTimeout(flush, this.windowMs);
      else setImmediate(flush);
      batch = opened;
    } else {
      const scope = requestScope.getStore();
      if (scope && batch.requestId && batch.requestId !== scope.requestId) scope.sharedWith = batch.requestId;
    }
    const joined = batch;
    joined.size += representations.length;
    return new Promise((resolve, reject) => joined.waiters.push({ representations, resolve, reject }));
  }

  private flush(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    const { waiters } = batch;
    if (waiters.length === 1) {
      const [only] = waiters;
      batch.send(batch.request).then(only!.resolve, only!.reject);
      return;
    }
    const merged = { ...batch.request, variables: { ...batch.request.variables, representations: waiters.flatMap((w) => w.representations) } };
    batch.send(merged).then(
      (response) => {
        let offset = 0;
        for (const waiter of waiters) {
          waiter.resolve(sliceOf(response, offset, waiter.representations.length, batch.size));
          offset += waiter.representations.length;
        }
      },
      (err) => {
        for (const waiter of waiters) waiter.reject(err);
      },
    );
  }
}

/** The part of a merged fetch's answer that belongs to representations offset … offset + n. */
function sliceOf(response: GatewayGraphQLResponse, offset: number, n: number, total: number): GatewayGraphQLResponse {
  const entities = (response.data as { _entities?: unknown } | null | undefined)?._entities;
  const errors = response.errors?.flatMap((error) => {
    const [head, at, ...rest] = error.path ?? [];
    if (head !== '_entities' || typeof at !== 'number') return [error];
    return at >= offset && at < offset + n ? [{ ...error, path: ['_entities', at - offset, ...rest] }] : [];
  });
  // An answer of another shape goes to every part as it is, for the gateway to report.
  const data = Array.isArray(entities) && entities.length === total ? { ...response.data, _entities: entities.slice(offset, offset + n) } : response.data;
  return { data, ...(errors?.length ? { errors } : {}), ...(response.extensions ? { extensions: response.extensions } : {}) };
}
