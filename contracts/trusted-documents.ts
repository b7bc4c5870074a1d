import { createHash } from 'node:crypto';

/**
 * Trusted documents as the registry stores them and the gateway enforces them: document ids, the
 * client policies, and the source the gateway reads them from.
 */

/** Trusted document ids name the hash function: `sha256:<64 hex>` (the trusted-documents convention). */
export const DOCUMENT_ID_PREFIX = 'sha256:';
const DOCUMENT_ID = /^sha256:[0-9a-f]{64}$/;
const BARE_HASH = /^[0-9a-f]{64}$/;

/** A document's id: the sha256 of its exact text. */
export function documentIdOf(text: string): string {
  return `${DOCUMENT_ID_PREFIX}${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * The canonical id of `sha256:<hex>`, or of a bare hex sha256 (Apollo's
 * `extensions.persistedQuery.sha256Hash` and persisted-query manifests); null for anything else.
 */
export function normalizeDocumentId(value: string): string | null {
  const lower = value.trim().toLowerCase();
  if (DOCUMENT_ID.test(lower)) return lower;
  return BARE_HASH.test(lower) ? `${DOCUMENT_ID_PREFIX}${lower}` : null;
}

/** How the gateway treats a client's operations: ENFORCE runs only its registered documents; ALLOW (the default) runs anything. */
export const CLIENT_POLICIES = ['ENFORCE', 'ALLOW'] as const;
export type ClientPolicy = (typeof CLIENT_POLICIES)[number];

/** What the gateway keeps in memory of one registered document. */
export interface RegisteredDocument {
  clientId: string;
  documentId: string;
  body: string;
  operationNames: string[];
  registeredAt: Date;
}

/** Where the gateway reads the registered documents and policies from (the registry's DocumentsService). */
export interface TrustedDocumentSource {
  /** Changes whenever a document is registered. */
  signature(): Promise<string>;
  all(): Promise<RegisteredDocument[]>;
  policies(): Promise<{ clientId: string; policy: ClientPolicy }[]>;
}
