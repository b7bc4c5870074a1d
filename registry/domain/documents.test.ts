import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { documentIdOf } from '../../contracts/trusted-documents.js';
import { brokenDocuments, checkDocument, documentUsage, type ClientDocument } from './documents.js';

const schema = buildSchema(`type Query { item(sku: String!): Item } type Item { sku: String! name: String barcode: String }`);
const without = buildSchema(`type Query { item(sku: String!): Item } type Item { sku: String! name: String }`);
const BARCODE = 'query Barcode($s: String!) { item(sku: $s) { sku barcode } }';
const NAME = 'query Name($s: String!) { item(sku: $s) { name } }';

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
