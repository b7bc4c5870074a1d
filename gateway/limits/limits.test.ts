import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GatewayLimits, measureKey, querySize, type LimitSettings } from './limits.js';

const schema = buildSchema(`
  type Level { available: Int }
  type Availability { sku: String levels(first: Int): [Level] }
  type Query { availability(channelId: ID!, skus: [String!]!): [Availability] }
`);
const document = parse(`query Storefront($c: ID!, $skus: [String!]!, $first: Int, $withLevels: Boolean!) {
  availability(channelId: $c, skus: $skus) { sku levels(first: $first) @include(if: $withLevels) { available } }
}`);
const settings: LimitSettings = { perMinute: 0, perClient: {}, maxCost: 0, maxCostPerClient: {}, maxDepth: 0, maxFields: 2000, maxTokens: 15_000, keyPrefix: 'test', windowMs: 60_000, leaseMs: 0 };

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

describe('querySize', () => {
  it('counts the selections of the expanded operation and its depth, measuring each fragment once', () => {
    const doc = parse(`query Q { a { ...F ...F b { ...G } } }
      fragment F on T { x y }
      fragment G on T { ...F z { w } }`);
    // a(1) + F(2) + F(2) + b(1) + G: F(2) + z(1) + w(1)
    expect(querySize(doc, 'Q')).toEqual({ fields: 10, depth: 4 });
  });

  it('stops counting one past the cap, however large the expansion', () => {
    const spreads = (f: string, n: number) => Array.from({ length: n }, () => `...${f}`).join(' ');
    const doc = parse(`{ a { ...L4 } } fragment L0 on T { x } fragment L1 on T { ${spreads('L0', 100)} }
      fragment L2 on T { ${spreads('L1', 100)} } fragment L3 on T { ${spreads('L2', 100)} } fragment L4 on T { ${spreads('L3', 100)} }`);
    expect(querySize(doc, undefined, 2000)).toEqual({ fields: 2001, depth: 2 });
  });
});
