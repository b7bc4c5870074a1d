import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { explorerTypes, ownersOf } from './explorer.js';

const SUPERGRAPH = `
schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION) { query: Query }
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
scalar join__FieldSet
enum join__Graph { INVENTORY @join__graph(name: "inventory", url: "http://i") PRICING @join__graph(name: "pricing", url: "http://p") }
type Query @join__type(graph: INVENTORY) @join__type(graph: PRICING) {
  item(sku: String!): Item @join__field(graph: INVENTORY)
}
type Item @join__type(graph: INVENTORY, key: "sku") @join__type(graph: PRICING, key: "sku") {
  sku: String!
  name: String @join__field(graph: INVENTORY)
  price: Int @join__field(graph: PRICING) @join__field(graph: INVENTORY, usedOverridden: true)
  weight: Int @join__field(graph: INVENTORY, external: true) @join__field(graph: PRICING)
}
enum Status @join__type(graph: INVENTORY) { ACTIVE GONE }
`;

const API = buildSchema(`
"Reads."
type Query { "One item." item(sku: String!): Item }
"A SKU."
type Item {
  "Its code."
  sku: String!
  name: String @deprecated(reason: "Use \`title\`. Removal: 2027-09-01")
  price: Int
  weight: Int @deprecated
}
enum Status { ACTIVE GONE @deprecated(reason: "Use \`ACTIVE\`.") }
`);

describe('the explorer view of a supergraph', () => {
  it('names the subgraphs resolving each field: join__field, else the type’s subgraphs; overridden and external ones left out', () => {
    const { types, fields } = ownersOf(SUPERGRAPH);
    expect(types.get('Item')).toEqual(['inventory', 'pricing']);
    expect(fields.get('Item.sku')).toEqual(['inventory', 'pricing']);
    expect(fields.get('Item.name')).toEqual(['inventory']);
    expect(fields.get('Item.price')).toEqual(['pricing']);
    expect(fields.get('Item.weight')).toEqual(['pricing']);
    expect(types.get('Status')).toEqual(['inventory']);
    expect(types.has('join__Graph')).toBe(false);
  });

  it('lists types with their fields, descriptions, owners and deprecations with removal dates', () => {
    const types = explorerTypes(SUPERGRAPH, API);
    expect(types.map((t) => t.name)).toEqual(['Item', 'Query', 'Status']);
    const item = types.find((t) => t.name === 'Item')!;
    expect(item).toMatchObject({ kind: 'OBJECT', description: 'A SKU.', subgraphs: ['inventory', 'pricing'] });
    expect(item.fields.find((f) => f.name === 'sku')).toEqual({
      name: 'sku',
      coordinate: 'Item.sku',
      type: 'String!',
      description: 'Its code.',
      subgraphs: ['inventory', 'pricing'],
      deprecationReason: null,
      removalDate: null,
    });
    expect(item.fields.find((f) => f.name === 'name')).toMatchObject({ deprecationReason: 'Use `title`. Removal: 2027-09-01', removalDate: '2027-09-01', subgraphs: ['inventory'] });
    expect(item.fields.find((f) => f.name === 'weight')).toMatchObject({ deprecationReason: 'No longer supported', removalDate: null });
    const status = types.find((t) => t.name === 'Status')!;
    expect(status.kind).toBe('ENUM');
    expect(status.fields.find((f) => f.name === 'GONE')).toMatchObject({ coordinate: 'Status.GONE', type: null, subgraphs: ['inventory'], deprecationReason: 'Use `ACTIVE`.', removalDate: null });
  });
});
