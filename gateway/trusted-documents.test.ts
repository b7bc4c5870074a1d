import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { documentIdOf } from '../contracts/trusted-documents.js';
import { TrustedDocuments } from './trusted-documents.js';

const BARCODE = 'query Barcode($s: String!) { item(sku: $s) { sku barcode } }';
const NAME = 'query Name($s: String!) { item(sku: $s) { name } }';

describe('TrustedDocuments (the gateway’s copy)', () => {
  const source = {
    signature: async () => '1',
    all: async () => [{ clientId: 'web', documentId: documentIdOf(BARCODE), body: BARCODE, operationNames: ['Barcode'], registeredAt: new Date() }],
    policies: async () => [{ clientId: 'web', policy: 'ENFORCE' as const }],
  };

  it('resolves ids to their text, refuses unknown ids, and admits only registered text for ENFORCE clients', async () => {
    const docs = await TrustedDocuments.start(source, 60_000, pino({ level: 'silent' }));
    try {
      expect(docs.resolve({ documentId: documentIdOf(BARCODE) })).toEqual({ ok: true, query: BARCODE, documentId: documentIdOf(BARCODE) });
      expect(docs.resolve({ extensions: { persistedQuery: { version: 1, sha256Hash: documentIdOf(BARCODE).slice(7) } } })).toMatchObject({ ok: true, query: BARCODE });
      const unknown = docs.resolve({ documentId: documentIdOf(NAME) });
      expect(unknown.ok).toBe(false);
      if (!unknown.ok) expect(unknown.error.extensions).toMatchObject({ code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } });
      // Text wins over an id sent beside it; the text is what gets admitted.
      expect(docs.resolve({ query: NAME, documentId: documentIdOf(BARCODE) })).toMatchObject({ ok: true, query: NAME });

      expect(docs.admission('web', BARCODE)).toBeNull();
      expect(docs.admission('web', NAME)?.extensions).toMatchObject({ code: 'OPERATION_NOT_TRUSTED', http: { status: 403 } });
      expect(docs.admission('other', NAME)).toBeNull();
      expect(docs.admission(null, NAME)).toBeNull();
      expect(docs.check({ query: '', documentId: documentIdOf(BARCODE) }, 'web')).toMatchObject({ ok: true, query: BARCODE });
    } finally {
      docs.close();
    }
  });
});
