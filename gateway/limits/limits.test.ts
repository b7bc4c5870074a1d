import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GatewayLimits, measureKey, type LimitSettings } from './limits.js';

const schema = buildSchema(`
  type Level { available: Int }
  type Availability { sku: String levels(first: Int): [Level] }
  type Query { availability(channelId: ID!, skus: [String!]!): [Availability] }
`);
const document = parse(`query Storefront($c: ID!, $skus: [String!]!, $first: Int, $withLevels: Boolean!) {
  availability(channelId: $c, skus: $skus) { sku levels(first: $first) @include(if: $withLevels) { available } }
}`);
const settings: LimitSettings = { perMinute: 0, perClient: {}, maxCost: 0, maxCostPerClient: {}, maxDepth: 0, keyPrefix: 'test', windowMs: 60_000 };

describe('measureKey', () => {
  it('keeps what a cost depends on (numbers, booleans, list lengths) and drops the strings', () => {
    expect(measureKey({ c: 'WEB-UK', skus: ['a', 'b'], first: 5, on: true, input: { lines: [{}, {}, {}], note: 'x' } })).toBe('{c:,skus:[2],first:5,on:true,input:{lines:[3],note:,},}');
    expect(measureKey({ c: 'POS-UK', skus: ['c', 'd'], first: 5, on: true, input: { lines: [{}, {}, {}], note: 'y' } })).toBe(measureKey({ c: 'WEB-UK', skus: ['a', 'b'], first: 5, on: true, input: { lines: [{}, {}, {}], note: 'x' } }));
  });
});

describe('GatewayLimits.measure', () => {
  it('measures other SKUs of the same count once, and recounts when a count or a switch changes', () => {
    const limits = new GatewayLimits(settings, null, null);
    const vars = (skus: string[], first: number, withLevels = true) => ({ c: 'WEB-UK', skus, first, withLevels });
    const first = limits.measure(schema, document, 'Storefront', vars(['a', 'b'], 10));
    expect(limits.measure(schema, document, 'Storefront', vars(['c', 'd'], 10))).toBe(first);
    // 2 SKUs × (1 + sku + 10 levels × (1 + available))
    expect(first.cost).toBe(2 * (1 + 1 + 10 * 2));
    expect(limits.measure(schema, document, 'Storefront', vars(['a', 'b', 'c'], 10)).cost).toBe(3 * (1 + 1 + 10 * 2));
    expect(limits.measure(schema, document, 'Storefront', vars(['a', 'b'], 3)).cost).toBe(2 * (1 + 1 + 3 * 2));
    expect(limits.measure(schema, document, 'Storefront', vars(['a', 'b'], 10, false)).cost).toBe(2 * (1 + 1));
  });
});
