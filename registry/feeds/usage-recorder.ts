import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { failureLogLevel } from '../../lib/db.js';
import type { UsageIncrement } from '../data/usage.store.js';
import { coordinatesOfDocument } from '../domain/usage.js';

/** Documents whose coordinates are cached per schema; past it the cache starts over. */
const CACHE_LIMIT = 10_000;
/** Distinct (day, client, operation) entries held between flushes; past it new ones are dropped (and counted). */
const PENDING_LIMIT = 50_000;
export const ANONYMOUS_CLIENT = 'anonymous';

interface Pending {
  day: string;
  clientId: string;
  operationHash: string;
  operationName: string;
  coordinates: readonly string[];
  count: number;
  lastSeen: Date;
}

/**
 * Records which schema coordinates each client's operations use, for the registry's checks. On the
 * request path it only looks up the document's coordinates (computed once per distinct document
 * and schema) and bumps a counter in memory; a timer flushes the counters to the registry in
 * batches, and close() flushes what is left.
 */
export class UsageRecorder {
  private pending = new Map<string, Pending>();
  private readonly coordinates = new WeakMap<GraphQLSchema, Map<string, readonly string[]>>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(
    private readonly sink: (rows: UsageIncrement[]) => Promise<void>,
    flushMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** Counts one execution of a validated operation. */
  record(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, queryHash: string, clientId: string | null): void {
    let bySchema = this.coordinates.get(schema);
    if (!bySchema) this.coordinates.set(schema, (bySchema = new Map()));
    const docKey = `${queryHash}:${operationName ?? ''}`;
    let coordinates = bySchema.get(docKey);
    if (!coordinates) {
      if (bySchema.size >= CACHE_LIMIT) bySchema.clear();
      coordinates = coordinatesOfDocument(schema, document, operationName);
      bySchema.set(docKey, coordinates);
    }
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const client = clientId ?? ANONYMOUS_CLIENT;
    const key = `${day}\0${client}\0${docKey}`;
    const entry = this.pending.get(key);
    if (entry) {
      entry.count++;
      entry.lastSeen = now;
    } else if (this.pending.size < PENDING_LIMIT) {
      this.pending.set(key, { day, clientId: client, operationHash: queryHash, operationName: operationName ?? '', coordinates, count: 1, lastSeen: now });
    } else {
      this.dropped++;
    }
  }

  /** The Apollo Server plugin that feeds record() once an operation has been validated. */
  plugin<C extends { clientId: string | null }>(): ApolloServerPlugin<C> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async (rc) => {
          try {
            this.record(rc.schema, rc.document, rc.operationName, rc.queryHash, rc.contextValue.clientId);
          } catch (err) {
            this.log.warn({ err }, 'usage not recorded');
          }
        },
      }),
    };
  }

  /** Writes what accumulated since the last flush; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.dropped) {
      this.log.warn({ dropped: this.dropped }, 'usage entries dropped: too many distinct operations between flushes');
      this.dropped = 0;
    }
    if (!this.pending.size) return;
    const batch = this.pending;
    this.pending = new Map();
    const rows: UsageIncrement[] = [];
    for (const p of batch.values()) {
      for (const coordinate of p.coordinates) {
        rows.push({ coordinate, day: p.day, clientId: p.clientId, operationHash: p.operationHash, operationName: p.operationName, count: p.count, lastSeen: p.lastSeen });
      }
    }
    try {
      await this.sink(rows);
    } catch (err) {
      // Put the counts back for the next flush (unless new ones already fill the buffer).
      for (const [key, p] of batch) {
        const now = this.pending.get(key);
        if (now) now.count += p.count;
        else if (this.pending.size < PENDING_LIMIT) this.pending.set(key, p);
      }
      this.log[failureLogLevel(err)]({ err, rows: rows.length }, 'usage flush failed; will retry');
    }
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
