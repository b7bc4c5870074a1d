import { describe, expect, it } from 'vitest';
import { fieldResolvers, takeoversOf } from './ownership.js';

const supergraph = (orderField: string) => `
schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION) { query: Query }
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
scalar join__FieldSet
enum join__Graph { ORDERS @join__graph(name: "orders", url: "http://o") PRICING @join__graph(name: "pricing", url: "http://p") }
type Query @join__type(graph: ORDERS) @join__type(graph: PRICING) {
  ${orderField}
  price(sku: String!): Int @join__field(graph: PRICING)
}
type Order @join__type(graph: ORDERS, key: "id") { id: ID! total: Int }
type Money @join__type(graph: ORDERS) @join__type(graph: PRICING) { amount: Int }
`;

describe('fieldResolvers', () => {
  it('reads who resolves each root and entity field, an override moving it', () => {
    const before = fieldResolvers(supergraph('order(id: ID!): Order @join__field(graph: ORDERS)'));
    expect(before.get('Query.order')).toEqual(new Set(['orders']));
    expect(before.get('Query.price')).toEqual(new Set(['pricing']));
    expect(before.get('Order.total')).toEqual(new Set(['orders']));
    // Key fields identify the entity wherever it is defined: not tracked.
    expect(before.has('Order.id')).toBe(false);
    // A value type is resolved by whoever returned its parent: not tracked.
    expect(before.has('Money.amount')).toBe(false);
    const after = fieldResolvers(supergraph('order(id: ID!): Order @join__field(graph: ORDERS, usedOverridden: true) @join__field(graph: PRICING, override: "orders")'));
    expect(after.get('Query.order')).toEqual(new Set(['pricing']));
  });
});

describe('takeoversOf', () => {
  const before = fieldResolvers(supergraph('order(id: ID!): Order @join__field(graph: ORDERS)'));
  const after = fieldResolvers(supergraph('order(id: ID!): Order @join__field(graph: ORDERS, usedOverridden: true) @join__field(graph: PRICING, override: "orders")'));
  it("names a field taken from another team's subgraph, with a stable fingerprint", () => {
    const teams: Record<string, string> = { orders: 'platform', pricing: 'pricing' };
    const found = takeoversOf(before, after, 'pricing', (s) => teams[s] ?? null);
    expect(found).toEqual([{ coordinate: 'Query.order', from: ['orders'], fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    expect(takeoversOf(before, after, 'pricing', (s) => teams[s] ?? null)[0]!.fingerprint).toBe(found[0]!.fingerprint);
  });
  it("lets a team move its own fields, and finds nothing when nothing moved", () => {
    expect(takeoversOf(before, after, 'pricing', () => 'platform')).toEqual([]);
    expect(takeoversOf(before, before, 'pricing', () => null)).toEqual([]);
  });
});
