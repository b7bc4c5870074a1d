import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { TrustedDocuments } from '../trusted-documents.js';
import { brokenDocuments, checkDocument, documentIdOf, documentUsage, normalizeDocumentId, type ClientDocument } from './documents.js';

const schema = buildSchema(`type Query { item(sku: String!): Item } type Item { sku: String! name: String barcode: String }`);
const without = buildSchema(`type Query { item(sku: String!): Item } type Item { sku: String! name: String }`);
const BARCODE = 'query Barcode($s: String!) { item(sku: $s) { sku barcode } }';
const NAME = 'query Name($s: String!) { item(sku: $s) { name } }';

describe('document ids', () => {
  it('are sha256:<hex> of the exact text; bare hex is accepted, anything else is not an id', () => {
    const id = documentIdOf(BARCODE);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(documentIdOf(`${BARCODE} `)).not.toBe(id);
    expect(normalizeDocumentId(id.slice(7).toUpperCase())).toBe(id);
    expect(normalizeDocumentId(id)).toBe(id);
    expect(normalizeDocumentId('sha1:abc')).toBeNull();
    expect(normalizeDocumentId(`sha256:${'a'.repeat(63)}`)).toBeNull();
  });
});

describe('checkDocument', () => {
  it('names parse and validation errors, refuses fragment-only documents and lists operation names', () => {
    expect(checkDocument(schema, BARCODE)).toMatchObject({ ok: true, operationNames: ['Barcode'] });
    expect(checkDocument(schema, '{ item(sku: "a") { sku } }')).toMatchObject({ ok: true, operationNames: [''] });
    expect(checkDocument(schema, 'query {', 'a.graphql')).toMatchObject({ ok: false, errors: [expect.stringContaining('Syntax Error')] });
    expect(checkDocument(schema, '{ item { nope } }')).toMatchObject({ ok: false });
    expect((checkDocument(schema, '{ item(sku: "a") { nope } }') as { errors: string[] }).errors[0]).toContain('Cannot query field "nope"');
    expect(checkDocument(schema, 'fragment F on Item { sku }')).toEqual({ ok: false, errors: ['it has no operation (only fragments)'] });
  });
});

describe('registered documents in checks', () => {
  const docs: ClientDocument[] = [
    { clientId: 'web', documentId: documentIdOf(BARCODE), body: BARCODE, registeredAt: new Date('2026-01-01T00:00:00Z') },
    { clientId: 'pos', documentId: documentIdOf(NAME), body: NAME, registeredAt: new Date('2026-01-02T00:00:00Z') },
  ];
  const parsed = (d: ClientDocument) => parse(d.body);

  it('count as usage of every coordinate they select, with their hash and operation name', () => {
    const rows = documentUsage(schema, docs, parsed).filter((r) => r.coordinate === 'Item.barcode');
    expect(rows).toEqual([
      { coordinate: 'Item.barcode', clientId: 'web', operationHash: documentIdOf(BARCODE).slice(7), operationName: 'Barcode', count: 0, lastSeen: docs[0]!.registeredAt, registered: true },
    ]);
  });

  it('are broken by a schema they no longer validate against', () => {
    expect(brokenDocuments(schema, docs, parsed)).toEqual([]);
    expect(brokenDocuments(without, docs, parsed)).toEqual([
      { clientId: 'web', documentId: documentIdOf(BARCODE), operationNames: ['Barcode'], errors: [expect.stringContaining('Cannot query field "barcode"')] },
    ]);
  });
});

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
