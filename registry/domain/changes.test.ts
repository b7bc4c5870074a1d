import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, schemaChanges, usageCoordinatesOf } from './changes.js';

describe('client-facing changes', () => {
  it('classifies removals as breaking and additions as safe, with coordinates and stable fingerprints', async () => {
    const before = buildSchema('type Query { item(sku: String!): Item } type Item { sku: String! barcode: String } enum Status { A B }');
    const after = buildSchema('type Query { item(sku: String!, at: Int!): Item } type Item { sku: String! gtin: String } enum Status { A B C }');
    const changes = await schemaChanges(before, after);
    const by = Object.fromEntries(changes.map((c) => [`${c.type} ${c.coordinate}`, c]));
    expect(by['FIELD_REMOVED Item.barcode']).toMatchObject({ criticality: 'BREAKING', usageCoordinates: ['Item.barcode'] });
    expect(by['FIELD_ADDED Item.gtin']).toMatchObject({ criticality: 'SAFE' });
    expect(by['FIELD_ARGUMENT_ADDED Query.item.at']).toMatchObject({ criticality: 'BREAKING', usageCoordinates: ['Query.item'] });
    expect(by['ENUM_VALUE_ADDED Status.C']).toMatchObject({ criticality: 'DANGEROUS' });
    const again = await schemaChanges(before, after);
    expect(again.map((c) => c.fingerprint)).toEqual(changes.map((c) => c.fingerprint));
    expect(new Set(changes.map((c) => c.fingerprint)).size).toBe(changes.length);
  });

  it('maps changes a document cannot show precisely to any use of their type', () => {
    expect(usageCoordinatesOf({ type: 'INPUT_FIELD_REMOVED', path: 'PriceInput.sku' })).toEqual(['PriceInput']);
    expect(usageCoordinatesOf({ type: 'ENUM_VALUE_REMOVED', path: 'Status.B' })).toEqual(['Status']);
    expect(usageCoordinatesOf({ type: 'TYPE_REMOVED', path: 'Item' })).toEqual(['Item']);
    expect(usageCoordinatesOf({ type: 'FIELD_ARGUMENT_REMOVED', path: 'Query.item.at' })).toEqual(['Query.item.at']);
  });

  it('judges an argument made required and a changed default against the operations that leave the argument out', async () => {
    const before = buildSchema('type Query { items(ids: [ID!], limit: Int = 10, at: Int): [Int] }');
    const after = buildSchema('type Query { items(ids: [ID!]!, limit: Int = 20, at: String): [Int] }');
    const by = Object.fromEntries((await schemaChanges(before, after)).map((c) => [c.coordinate, c]));
    expect(by['Query.items.ids']).toMatchObject({ criticality: 'BREAKING', usageCoordinates: ['Query.items.ids', 'Query.items.ids#omitted'] });
    expect(by['Query.items.limit']!.usageCoordinates).toEqual(['Query.items.limit#omitted']);
    expect(by['Query.items.at']!.usageCoordinates).toEqual(['Query.items.at']);
  });

  it('does not count operations that leave out an argument made required with a default (they still get a value)', async () => {
    const before = buildSchema('type Query { items(first: Int): [Int] }');
    const after = buildSchema('type Query { items(first: Int! = 10): [Int] }');
    const [change] = (await schemaChanges(before, after)).filter((c) => c.type === 'FIELD_ARGUMENT_TYPE_CHANGED');
    expect(change!.usageCoordinates).toEqual(['Query.items.first']);
  });

  it('fingerprints differ by details', () => {
    expect(fingerprintOf({ type: 'FIELD_TYPE_CHANGED', path: 'A.b', meta: { oldFieldType: 'Int', newFieldType: 'String' } })).not.toBe(
      fingerprintOf({ type: 'FIELD_TYPE_CHANGED', path: 'A.b', meta: { oldFieldType: 'Int', newFieldType: 'Float' } }),
    );
  });
});
