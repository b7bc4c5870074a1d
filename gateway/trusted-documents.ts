import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { errorBody, OperationNotTrustedError, PersistedQueryNotFoundError, refusalError, type DomainError } from '../lib/errors.js';
import { documentIdOf, normalizeDocumentId, type TrustedDocumentSource } from '../contracts/trusted-documents.js';

/** An operation as a client sent it: free text, or a document id (`documentId`, or Apollo's `extensions.persistedQuery.sha256Hash`). */
export interface OperationRequest {
  query?: unknown;
  documentId?: unknown;
  extensions?: unknown;
}

/** The text to run, or why the request is refused. */
export type Resolution = { ok: true; query: string | undefined; documentId: string | null } | { ok: false; error: GraphQLError };


function persistedQueryHash(extensions: unknown): unknown {
  const pq = extensions && typeof extensions === 'object' ? (extensions as Record<string, unknown>)['persistedQuery'] : undefined;
  return pq && typeof pq === 'object' ? (pq as Record<string, unknown>)['sha256Hash'] : undefined;
}

/**
 * The gateway's copy of the registry's trusted documents: loaded at start, refreshed every
 * REGISTRY_POLL_MS (the documents only when their signature moved), so no request queries the
 * database. It resolves document ids to their text and refuses, for clients whose policy is
 * ENFORCE, any text they have not registered; both before the operation is parsed, so before
 * any subgraph is called. The rest of the pipeline (scopes, limits, usage) sees the resolved text.
 */
export class TrustedDocuments {
  /** Document id → its text (one text per id: ids are content hashes). */
  private texts = new Map<string, string>();
  /** Client → the ids it registered. */
  private byClient = new Map<string, Set<string>>();
  private enforced = new Set<string>();
  private signature: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  private constructor(
    private readonly source: TrustedDocumentSource,
    private readonly log: Logger,
  ) {}

  /** Loads the documents and policies, then keeps them fresh every `pollMs`. */
  static async start(source: TrustedDocumentSource, pollMs: number, log: Logger): Promise<TrustedDocuments> {
    const docs = new TrustedDocuments(source, log);
    await docs.refresh();
    docs.timer = setInterval(() => void docs.poll(), pollMs);
    docs.timer.unref();
    return docs;
  }

  /** Reads the policies, and the documents when any was registered or removed since the last read. */
  async refresh(): Promise<void> {
    const [signature, policies] = await Promise.all([this.source.signature(), this.source.policies()]);
    this.enforced = new Set(policies.filter((p) => p.policy === 'ENFORCE').map((p) => p.clientId));
    if (signature === this.signature) return;
    const texts = new Map<string, string>();
    const byClient = new Map<string, Set<string>>();
    for (const d of await this.source.all()) {
      texts.set(d.documentId, d.body);
      let ids = byClient.get(d.clientId);
      if (!ids) byClient.set(d.clientId, (ids = new Set()));
      ids.add(d.documentId);
    }
    this.texts = texts;
    this.byClient = byClient;
    this.signature = signature;
    this.log.info({ documents: texts.size, clients: byClient.size, enforced: this.enforced.size }, 'trusted documents loaded');
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.refresh();
    } catch (err) {
      // Keep enforcing what was loaded; the next poll tries again.
      this.log.warn({ err: (err as Error).message }, 'trusted documents poll failed; keeping the documents loaded');
    } finally {
      this.polling = false;
    }
  }

  get size(): number {
    return this.texts.size;
  }

  /** Whether the client's policy is ENFORCE. */
  enforces(clientId: string | null): boolean {
    return clientId !== null && this.enforced.has(clientId);
  }

  /**
   * Turns an operation request into the text to run. A request with text keeps it (a
   * persisted-query hash beside it is ignored: the text decides); one with only an id gets the
   * registered text, or PERSISTED_QUERY_NOT_FOUND (400).
   */
  resolve(request: OperationRequest): Resolution {
    const rawId = typeof request.documentId === 'string' ? request.documentId : persistedQueryHash(request.extensions);
    if (typeof request.query === 'string' && request.query.length) return { ok: true, query: request.query, documentId: null };
    if (rawId === undefined || rawId === null) return { ok: true, query: undefined, documentId: null };
    const id = typeof rawId === 'string' ? normalizeDocumentId(rawId) : null;
    const text = id ? this.texts.get(id) : undefined;
    if (!id || text === undefined) {
      return { ok: false, error: refusalError(new PersistedQueryNotFoundError(`No trusted document ${String(rawId)} is registered; register it with the registry (omnistock registry documents publish) or send the query text`, { documentId: String(rawId) })) };
    }
    return { ok: true, query: text, documentId: id };
  }

  /**
   * The refusal of a text the client may not run (null when it may): for an ENFORCE client,
   * anything whose sha256 it has not registered, OPERATION_NOT_TRUSTED (403).
   */
  admission(clientId: string | null, query: string | undefined): GraphQLError | null {
    if (!this.enforces(clientId) || query === undefined) return null;
    const id = documentIdOf(query);
    if (this.byClient.get(clientId!)?.has(id)) return null;
    return refusalError(
      new OperationNotTrustedError(
        `Client ${clientId} runs only its registered documents, and this operation is not one of them: register it (omnistock registry documents publish --client ${clientId}) and send its documentId`,
        { clientId, documentId: id },
      ),
    );
  }

  /** Resolves and admits in one step (graphql-ws subscribe messages). */
  check(request: OperationRequest, clientId: string | null): Resolution {
    const resolved = this.resolve(request);
    if (!resolved.ok) return resolved;
    const refused = this.admission(clientId, resolved.query);
    return refused ? { ok: false, error: refused } : resolved;
  }

  /**
   * Resolves document ids of HTTP requests to /graphql before Apollo Server reads them (POST bodies,
   * batches included, and GET query strings), answering unknown ids with PERSISTED_QUERY_NOT_FOUND.
   */
  mount(app: FastifyInstance, path = '/graphql'): void {
    app.addHook('preHandler', async (request, reply) => {
      if (request.routeOptions.url !== path) return;
      const error = request.method === 'GET' ? this.rewriteGet(request) : this.rewriteBody(request.body);
      if (!error) return;
      const status = (error.extensions.http as { status: number }).status;
      return reply.code(status).type('application/json; charset=utf-8').send(errorBody(error.originalError as DomainError));
    });
  }

  /**
   * The refusal of an HTTP request's operations (every one of a batch) the client may not run; the
   * gateway's context calls it once the client is known.
   */
  admitHttp(request: FastifyRequest, clientId: string | null): GraphQLError | null {
    if (!this.enforces(clientId)) return null;
    if (request.method === 'GET') {
      const query = new URLSearchParams(request.url.split('?')[1] ?? '').get('query');
      return this.admission(clientId, query ?? undefined);
    }
    const operations = Array.isArray(request.body) ? request.body : [request.body];
    for (const op of operations) {
      const query = op && typeof op === 'object' ? (op as OperationRequest).query : undefined;
      const refused = this.admission(clientId, typeof query === 'string' ? query : undefined);
      if (refused) return refused;
    }
    return null;
  }

  private rewriteBody(body: unknown): GraphQLError | null {
    for (const op of Array.isArray(body) ? body : [body]) {
      if (!op || typeof op !== 'object') continue;
      const request = op as Record<string, unknown>;
      const resolved = this.resolve(request);
      if (!resolved.ok) return resolved.error;
      if (resolved.query !== undefined) request['query'] = resolved.query;
      delete request['documentId'];
      stripPersistedQuery(request);
    }
    return null;
  }

  private rewriteGet(request: FastifyRequest): GraphQLError | null {
    const [pathname, search = ''] = request.raw.url!.split('?', 2) as [string, string?];
    const params = new URLSearchParams(search);
    let extensions: unknown;
    try {
      extensions = params.has('extensions') ? JSON.parse(params.get('extensions')!) : undefined;
    } catch {
      return null; // Apollo Server answers malformed extensions itself.
    }
    const documentId = params.get('documentId') ?? undefined;
    if (documentId === undefined && persistedQueryHash(extensions) === undefined) return null;
    const resolved = this.resolve({ query: params.get('query') ?? undefined, documentId, extensions });
    if (!resolved.ok) return resolved.error;
    if (resolved.query !== undefined) params.set('query', resolved.query);
    params.delete('documentId');
    if (extensions && typeof extensions === 'object') {
      const rest = stripPersistedQuery({ extensions } as Record<string, unknown>)['extensions'] as Record<string, unknown>;
      if (Object.keys(rest).length) params.set('extensions', JSON.stringify(rest));
      else params.delete('extensions');
    }
    request.raw.url = `${pathname}?${params.toString()}`;
    return null;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Apollo Server's own automatic persisted queries stay out of it: the registry is the one store of documents. */
function stripPersistedQuery(request: Record<string, unknown>): Record<string, unknown> {
  const extensions = request['extensions'];
  if (extensions && typeof extensions === 'object' && 'persistedQuery' in extensions) {
    const { persistedQuery: _pq, ...rest } = extensions as Record<string, unknown>;
    request['extensions'] = rest;
  }
  return request;
}
