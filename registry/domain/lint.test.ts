import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { deprecationsOf, lintSubgraph, type LintContext } from './lint.js';

const NOW = new Date('2026-01-10T12:00:00Z');
const ctx = (over: Partial<LintContext> = {}): LintContext => ({ now: NOW, firstDeprecated: () => undefined, usage: () => 0, ...over });
const HEADER = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n';
const rules = (sdl: string, c = ctx()) => lintSubgraph(parse(HEADER + sdl), c).map((i) => `${i.rule} ${i.coordinate}`);

describe('registry lint', () => {
  it('passes a described, well-named schema', () => {
    expect(
      rules(`
        "A price." type Price { "Minor units." amount: Int! "ISO 4217." currency: Currency! }
        "Currencies." enum Currency { GBP US_DOLLAR }
        "A query." input PriceQueryInput { "SKU." sku: String! }
        type Query { "Prices." prices("Filter." where: PriceQueryInput, "Count." first: Int = 10): [Price!]! }`),
    ).toEqual([]);
  });

  it('wants descriptions on types, fields, input fields and arguments', () => {
    expect(rules(`type Price { amount: Int! } input PriceInput { sku: String } type Query { "Prices." prices(first: Int): [Price!]! }`)).toEqual([
      'DESCRIPTION Price',
      'DESCRIPTION Price.amount',
      'DESCRIPTION PriceInput',
      'DESCRIPTION PriceInput.sku',
      'DESCRIPTION Query.prices.first',
    ]);
  });

  it('checks names: PascalCase types, camelCase fields and arguments, UPPER_SNAKE values, Input suffix', () => {
    expect(
      rules(`
        "x" type price_row { "x" Amount: Int! }
        "x" enum Colour { dark_red }
        "x" input PriceFilter { "x" sku: String }
        type Query { "x" prices("x" First_N: Int): [price_row!]! }`),
    ).toEqual(['TYPE_NAME price_row', 'FIELD_NAME price_row.Amount', 'ENUM_VALUE_NAME Colour.dark_red', 'INPUT_SUFFIX PriceFilter', 'ARGUMENT_NAME Query.prices.First_N']);
  });

  it('exempts root types, type extensions, entity stubs, federation names and the legacy filter inputs', () => {
    expect(
      rules(`
        type Channel @key(fields: "id", resolvable: false) { id: ID! }
        extend type Mutation { "x" ping: Boolean }
        "x" input StockChangedFilter { "x" skus: [String!] }
        scalar _Any
        type Query { "x" channel: Channel }`),
    ).toEqual([]);
  });

  it('wants a replacement and a removal date at least 90 days after the deprecation was first published', () => {
    const field = (reason: string) => `"x" type Query { "x" old: Int @deprecated(reason: "${reason}") }`;
    expect(rules(field('Use `new`. Removal: 2026-04-10'))).toEqual([]);
    expect(rules(field('Use `new`. Removal: 2026-04-09'))).toEqual(['DEPRECATION_REASON Query.old']);
    expect(rules(field('Removal: 2026-06-01'))).toEqual(['DEPRECATION_REASON Query.old']);
    expect(rules(field('Use `new`.'))).toEqual(['DEPRECATION_REASON Query.old']);
    expect(rules(field('Use `new`. Removal: 2026-02-30'))).toEqual(['DEPRECATION_REASON Query.old']);
    // Counted from when it was first published, not from today.
    const since = ctx({ firstDeprecated: () => new Date('2025-12-01T00:00:00Z') });
    expect(rules(field('Use `new`. Removal: 2026-03-01'), since)).toEqual([]);
  });

  it('allows removing a deprecated field only on or after its removal date and without usage', () => {
    const previous = parse(HEADER + '"x" type Query { "x" keep: Int "x" old: Int @deprecated(reason: "Use `keep`. Removal: 2026-01-10") }');
    const next = '"x" type Query { "x" keep: Int }';
    expect(rules(next, ctx({ previous }))).toEqual([]);
    expect(rules(next, ctx({ previous, now: new Date('2026-01-09T23:00:00Z') }))).toEqual(['DEPRECATED_REMOVAL Query.old']);
    expect(rules(next, ctx({ previous, usage: (c) => (c === 'Query.old' ? 3 : 0) }))).toEqual(['DEPRECATED_REMOVAL Query.old']);
  });

  it('lists deprecations with their removal dates', () => {
    expect(deprecationsOf(parse('type Query { a: Int @deprecated(reason: "Use `b`. Removal: 2027-03-01") b(x: Int @deprecated): Int }'))).toEqual([
      { coordinate: 'Query.a', reason: 'Use `b`. Removal: 2027-03-01', removalDate: '2027-03-01' },
      { coordinate: 'Query.b.x', reason: 'No longer supported', removalDate: null },
    ]);
  });
});
