import { GraphQLError, Kind, parse, Source, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { DOCUMENT_ID_PREFIX } from '../../contracts/trusted-documents.js';
import { coordinatesOfDocument, type UsageRow } from './usage.js';

/** The hex part of an id: what usage records call the operation's hash. */
export function hashOfDocumentId(documentId: string): string {
  return documentId.slice(DOCUMENT_ID_PREFIX.length);
}

/** A document parsed and checked against an API schema. */
export type CheckedDocument = { ok: true; document: DocumentNode; operationNames: string[] } | { ok: false; errors: string[] };

/** The names of a document's operations (an anonymous one is ''). */
export function operationNamesOf(document: DocumentNode): string[] {
  return document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? ''] : []));
}

/** Parses a document and validates it against `schema`: the rules every operation a client sends meets at the gateway. */
export function checkDocument(schema: GraphQLSchema, text: string, name = 'document'): CheckedDocument {
  let document: DocumentNode;
  try {
    document = parse(new Source(text, name));
  } catch (err) {
    return { ok: false, errors: [(err as GraphQLError).message] };
  }
  const operationNames = operationNamesOf(document);
  if (!operationNames.length) return { ok: false, errors: ['it has no operation (only fragments)'] };
  const errors = validate(schema, document);
  if (errors.length) return { ok: false, errors: errors.map((e) => e.message) };
  return { ok: true, document, operationNames };
}

/** A registered document of a client, as the registry's checks read it. */
export interface ClientDocument {
  clientId: string;
  documentId: string;
  body: string;
  registeredAt: Date;
}

/**
 * Registered documents as usage that no window ages out: for each operation of each document that
 * is valid against `schema` (the current API schema), a row per schema coordinate it uses, with
 * count 0 (it is registered, not executed) and the document's hash as the operation's.
 */
export function documentUsage(schema: GraphQLSchema, documents: readonly ClientDocument[], parsed: (d: ClientDocument) => DocumentNode | null): UsageRow[] {
  const rows: UsageRow[] = [];
  for (const d of documents) {
    const document = parsed(d);
    if (!document) continue;
    for (const operationName of operationNamesOf(document)) {
      for (const coordinate of coordinatesOfDocument(schema, document, operationName || null)) {
        rows.push({ coordinate, clientId: d.clientId, operationHash: hashOfDocumentId(d.documentId), operationName, count: 0, lastSeen: d.registeredAt, registered: true });
      }
    }
  }
  return rows;
}

/** A registered document that a proposed schema would no longer validate. */
export interface BrokenDocument {
  clientId: string;
  documentId: string;
  operationNames: string[];
  errors: string[];
}

/** The registered documents that do not validate against `schema` (a proposed supergraph's API schema). */
export function brokenDocuments(schema: GraphQLSchema, documents: readonly ClientDocument[], parsed: (d: ClientDocument) => DocumentNode | null): BrokenDocument[] {
  const broken: BrokenDocument[] = [];
  for (const d of documents) {
    const document = parsed(d);
    if (!document) continue;
    const errors = validate(schema, document);
    if (errors.length) broken.push({ clientId: d.clientId, documentId: d.documentId, operationNames: operationNamesOf(document), errors: errors.map((e) => e.message) });
  }
  return broken;
}
