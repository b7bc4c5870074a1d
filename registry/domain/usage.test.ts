import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { coordinatesOfDocument } from './usage.js';

const schema = buildSchema(`
  type Query { item(sku: String!): Item items(filter: ItemFilterInput): [Item!]! }
  type Item { sku: String! price(currency: Currency = GBP): Money stock: Stock }
  type Money { amount: Int! }
  type Stock { onHand: Int! }
  enum Currency { GBP EUR }
  input ItemFilterInput { skus: [String!] range: RangeInput }
  input RangeInput { min: Int max: Int }
`);

describe('usage coordinates of a document', () => {
  it('records fields, their types, arguments and literal input fields', () => {
    const doc = parse('query Q { item(sku: "A") { sku price(currency: EUR) { amount } } items(filter: { skus: ["A"] }) { __typename sku } }');
    expect(coordinatesOfDocument(schema, doc, 'Q')).toEqual(
      [
        'Currency',
        'Item',
        'Item.price',
        'Item.price.currency',
        'Item.sku',
        'ItemFilterInput',
        'ItemFilterInput.skus',
        'Money',
        'Money.amount',
        'Query',
        'Query.item',
        'Query.item.sku',
        'Query.items',
        'Query.items.filter',
        'String',
        'Int',
      ].sort(),
    );
  });

  it('records each argument of a selected field the operation left out', () => {
    const doc = parse('query Q { item(sku: "A") { price { amount } } items { sku } }');
    const coordinates = coordinatesOfDocument(schema, doc, 'Q');
    expect(coordinates).toEqual(expect.arrayContaining(['Item.price.currency#omitted', 'Query.items.filter#omitted']));
    expect(coordinates).not.toContain('Item.price.currency');
    expect(coordinates).not.toContain('Query.item.sku#omitted');
  });

  it('records every input type a variable can reach, and only the executed operation', () => {
    const doc = parse('query A($f: ItemFilterInput) { items(filter: $f) { sku } } query B { item(sku: "x") { stock { onHand } } }');
    const a = coordinatesOfDocument(schema, doc, 'A');
    expect(a).toEqual(expect.arrayContaining(['ItemFilterInput', 'RangeInput', 'Query.items.filter']));
    expect(a).not.toContain('Stock.onHand');
    expect(coordinatesOfDocument(schema, doc, 'B')).toContain('Stock.onHand');
  });
});
