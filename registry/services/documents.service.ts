import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { writeTransaction } from '../../lib/db.js';
import { BadUserInputError, ConflictError, parseInput, type InputIssue } from '../../lib/errors.js';
import { CLIENT_POLICIES, documentIdOf, normalizeDocumentId, type ClientPolicy, type RegisteredDocument } from '../../contracts/trusted-documents.js';
import type { TrustedDocumentEntity } from '../data/document.entity.js';
import { documentStore } from '../data/document.store.js';
import { checkDocument, type ClientDocument } from '../domain/documents.js';
import { authorize, requireAdmin, type Principal } from '../domain/principal.js';

/** A client id as the gateway accepts it (x-client-id, an API key's or JWT's client). */
const clientSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "letters, digits, '.', '_', ':' or '-'; at most 128");
const publishSchema = z.object({
  client: clientSchema,
  appVersion: z.string().min(1).max(100).nullish(),
  documents: z
    .array(
      z.object({
        body: z.string().min(1).max(200_000),
        id: z.string().max(100).nullish(),
        name: z.string().min(1).max(500).nullish(),
      }),
    )
    .min(1)
    .max(5000),
});
const policySchema = z.object({ client: clientSchema, policy: z.enum(CLIENT_POLICIES) });
const documentIdSchema = z.string().transform((value, ctx) => {
  const id = normalizeDocumentId(value);
  if (!id) ctx.addIssue({ code: 'custom', message: `${value} is no document id (sha256:<64 hex> or the bare hex)` });
  return id ?? '';
});
const removeSchema = z
  .object({
    client: clientSchema,
    ids: z.array(documentIdSchema).min(1).max(5000).nullish(),
    appVersion: z.string().min(1).max(100).nullish(),
  })
  .refine((input) => (input.ids == null) !== (input.appVersion == null), { message: 'give either ids or appVersion', path: ['ids'] });

export interface RemoveDocumentsInput {
  client: string;
  ids?: string[] | null;
  appVersion?: string | null;
}

export interface RemovedDocuments {
  client: string;
  removed: string[];
  notRegistered: string[];
}

export interface PublishDocumentsInput {
  client: string;
  /** The app version or list name the documents come from. */
  appVersion?: string | null;
  /** `id` (optional) must be the sha256 of `body`; `name` (a file name) labels the document in errors. */
  documents: { body: string; id?: string | null; name?: string | null }[];
}

export interface PublishedDocuments {
  client: string;
  /** Documents newly registered for the client. */
  created: number;
  /** Documents the client already had (a re-publish of the same list changes nothing). */
  unchanged: number;
  documents: (Omit<TrustedDocumentEntity, 'seq'> & { created: boolean })[];
}

export interface ClientPolicyView {
  clientId: string;
  policy: ClientPolicy;
  updatedBy: string | null;
  updatedAt: Date | null;
}

/** Parsed documents kept across checks (content-addressed: an id's text never changes). */
const PARSED_CACHE_LIMIT = 20_000;

/**
 * Trusted documents: the operations a client application registers (in CI, from its source),
 * validated against the current supergraph's API schema, and each client's policy (ENFORCE: the
 * gateway runs only its registered documents; ALLOW: anything). The gateway keeps a copy in memory.
 */
export class DocumentsService {
  private readonly parsed = new Map<string, DocumentNode | null>();

  constructor(
    private readonly ds: DataSource,
    private readonly opts: {
      /** The latest supergraph's API schema; null before the registry is seeded. */
      apiSchema: () => Promise<GraphQLSchema | null>;
      /** Runs work under the registry's publish lock. */
      serialized: <T>(work: () => Promise<T>) => Promise<T>;
      log: Logger;
    },
  ) {}

  private get m(): EntityManager {
    return this.ds.manager;
  }

  /**
   * Registers a client's documents after validating every one against the current API schema;
   * idempotent (a document the client has is left as it is), all or nothing.
   * @throws ForbiddenError unless the principal may register documents for the client (registry:documents:<client>)
   * @throws BadUserInputError naming each document that does not parse or validate, or whose given id is not its sha256
   * @throws ConflictError when an id is already registered with a different text
   */
  async publish(principal: Principal, input: PublishDocumentsInput): Promise<PublishedDocuments> {
    const parsed = parseInput(publishSchema, input, 'documents');
    authorize(principal, 'DOCUMENTS', parsed.client);
    return this.opts.serialized(() => this.register(principal, parsed));
  }

  private async register(principal: Principal, parsed: z.output<typeof publishSchema>): Promise<PublishedDocuments> {
    const schema = await this.opts.apiSchema();
    if (!schema) throw new ConflictError('The registry holds no supergraph yet: the first gateway (or npm start) seeds it from supergraph.yaml', { reason: 'NOT_SEEDED' });

    const issues: InputIssue[] = [];
    const byId = new Map<string, { body: string; operationNames: string[] }>();
    parsed.documents.forEach((d, i) => {
      const label = d.name ?? `document ${i + 1}`;
      const id = documentIdOf(d.body);
      if (d.id != null && normalizeDocumentId(d.id) !== id) {
        issues.push({ path: `documents.${i}.id`, message: `${label}: the id ${d.id} is not the sha256 of its text (${id})` });
        return;
      }
      const checked = checkDocument(schema, d.body, label);
      if (!checked.ok) {
        issues.push({ path: `documents.${i}`, message: `${label}: ${checked.errors.join('; ')}` });
        return;
      }
      byId.set(id, { body: d.body, operationNames: checked.operationNames });
    });
    if (issues.length) {
      throw new BadUserInputError(`${issues.length} document(s) refused, nothing was registered: ${issues.map((i) => i.message).join(' | ')}`, issues);
    }

    const now = new Date();
    const rows = [...byId].map(([documentId, d]) => ({
      clientId: parsed.client,
      documentId,
      body: d.body,
      operationNames: d.operationNames,
      appVersion: parsed.appVersion ?? null,
      registeredBy: principal.name,
      registeredAt: now,
    }));
    const existing = await writeTransaction(this.ds, async (tx) => {
      // Ids are content hashes, so a different text under a known id means tampering or a collision: refuse it.
      const stored = await documentStore.bodies(tx, [...byId.keys()]);
      for (const [id, body] of stored) {
        if (body !== byId.get(id)!.body) throw new ConflictError(`Document ${id} is already registered with a different text`, { documentId: id });
      }
      const had = new Set((await documentStore.documents(tx, parsed.client)).map((d) => d.documentId));
      await documentStore.insertMissing(tx, rows);
      return had;
    });
    const created = rows.filter((r) => !existing.has(r.documentId)).length;
    this.opts.log.info({ client: parsed.client, created, unchanged: rows.length - created, appVersion: parsed.appVersion, actor: principal.name }, 'trusted documents registered');
    return { client: parsed.client, created, unchanged: rows.length - created, documents: rows.map((r) => ({ ...r, created: !existing.has(r.documentId) })) };
  }

  /**
   * Removes a client's documents by id, or all those registered with one app version. Idempotent:
   * ids the client does not have are reported, not refused. The gateways drop them at their next
   * poll of the registry; under ENFORCE the client can no longer run them.
   * @throws ForbiddenError unless the principal may manage the client's documents (registry:documents:<client>)
   * @throws BadUserInputError for a malformed id, or neither or both of ids and appVersion
   */
  async remove(principal: Principal, input: RemoveDocumentsInput): Promise<RemovedDocuments> {
    const parsed = parseInput(removeSchema, input, 'documents to remove');
    authorize(principal, 'DOCUMENTS', parsed.client);
    const asked = parsed.ids ? [...new Set(parsed.ids)] : null;
    const removed = await writeTransaction(this.ds, (tx) => documentStore.remove(tx, parsed.client, asked ? { ids: asked } : { appVersion: parsed.appVersion! }));
    const gone = new Set(removed);
    const notRegistered = asked?.filter((id) => !gone.has(id)) ?? [];
    this.opts.log.info({ client: parsed.client, removed, notRegistered, appVersion: parsed.appVersion, actor: principal.name }, 'trusted documents removed');
    return { client: parsed.client, removed, notRegistered };
  }

  /**
   * A client's registered documents, in registration order (every client's for an admin without one).
   * @throws ForbiddenError unless the principal may manage the client's documents (or, for all clients, is an admin)
   */
  async list(principal: Principal, clientId?: string | null): Promise<TrustedDocumentEntity[]> {
    if (clientId) authorize(principal, 'DOCUMENTS', parseInput(clientSchema, clientId, 'client'));
    else requireAdmin(principal, "list every client's documents");
    return documentStore.documents(this.m, clientId);
  }

  /**
   * Sets a client's policy: ENFORCE (only its registered documents run) or ALLOW.
   * @throws ForbiddenError unless the principal is an admin
   */
  async setPolicy(principal: Principal, input: { client: string; policy: ClientPolicy }): Promise<ClientPolicyView> {
    requireAdmin(principal, "set a client's policy");
    const parsed = parseInput(policySchema, input, 'policy');
    const now = new Date();
    await documentStore.setPolicy(this.m, parsed.client, parsed.policy, principal.name, now);
    this.opts.log.info({ client: parsed.client, policy: parsed.policy, actor: principal.name }, 'client policy set');
    return { clientId: parsed.client, policy: parsed.policy, updatedBy: principal.name, updatedAt: now };
  }

  /** Every client with a policy set (clients without one are ALLOW). */
  async policies(): Promise<ClientPolicyView[]> {
    return documentStore.policies(this.m);
  }

  /** Every registered document of every client (the registry's checks and the gateway's copy). */
  all(): Promise<RegisteredDocument[]> {
    return documentStore.allDocuments(this.m);
  }

  /** Moves whenever a document is registered: the gateway reloads its copy only then. */
  signature(): Promise<string> {
    return documentStore.signature(this.m);
  }

  /** A registered document's AST, parsed once (null if it no longer parses, which registration prevents). */
  parsedDocument(d: ClientDocument): DocumentNode | null {
    let document = this.parsed.get(d.documentId);
    if (document === undefined) {
      try {
        document = parse(d.body);
      } catch {
        document = null;
      }
      if (this.parsed.size >= PARSED_CACHE_LIMIT) this.parsed.clear();
      this.parsed.set(d.documentId, document);
    }
    return document;
  }
}
