import { createRequire } from 'node:module';
import { buildSchema, isCompositeType, isListType, isNonNullType, operationFromDocument, possibleRuntimeTypes, type Operation, type Schema, type Selection, type SelectionSet, type Type } from '@apollo/federation-internals';
import type { GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { parse, type GraphQLError } from 'graphql';
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { describe, expect, it } from 'vitest';
import { CompiledResultShaping } from './result-shaping.js';

type ComputeResponse = CompiledResultShaping['computeResponse'];
// @apollo/gateway's own result shaping, as it is before (or without) CompiledResultShaping.install().
const shapingModule = createRequire(import.meta.url)('@apollo/gateway/dist/resultShaping.js') as { computeResponse: ComputeResponse & { compiled?: CompiledResultShaping } };
const original: ComputeResponse = shapingModule.computeResponse.compiled ? shapingModule.computeResponse.compiled.original : shapingModule.computeResponse;

const schema: Schema = buildSchema(`
  scalar JSON
  enum Status { IN_STOCK LOW_STOCK OUT_OF_STOCK }
  interface Node { id: ID! }
  type Level implements Node { id: ID! available: Int! location: Location }
  type Location implements Node { id: ID! name: String open: Boolean }
  type Item implements Node {
    id: ID! sku: String! qty: Int price: Float active: Boolean! status: Status tags: [String!] grid: [[Int]] meta: JSON
    levels: [Level!]! related: [Item] primary: Location!
  }
  union Thing = Item | Location
  type Query { item(id: ID!): Item items: [Item!] things: [Thing] node: Node nodes: [Node!]! count: Int! }
`);

const OPERATIONS = {
  everyKind: `query Q { items { id sku qty price active status tags grid meta levels { id available location { name open __typename } } related { id sku } primary { id } } count }`,
  aliasesAndFragments: `query Q {
    item(id: "1") { id ...F ... on Item { qty extra: sku levels { available } } again: sku t: __typename ... { active } }
    count
  }
  fragment F on Item { sku levels { id location { name } } }`,
  conditions: `query Q($s: Boolean!, $i: Boolean = true, $o: Boolean) {
    items { id sku @skip(if: $s) qty @include(if: $i) price @include(if: false) status @skip(if: false)
      ... on Item @include(if: $i) { active levels @skip(if: $s) { available } }
      meta @include(if: $o) }
    count @skip(if: $s)
  }`,
  abstract: `query Q {
    things { __typename ... on Item { id sku status } ... on Location { id name } ... on Node { id } }
    node { id ... on Location { name } ... on Item { qty } }
    nodes { __typename id ... on Level { available } }
  }`,
  // Response names an object inherits from Object.prototype: only ever the output's own members.
  inheritedNames: `query Q { item(id: "1") { constructor: sku toString: qty __proto__: id hasOwnProperty: levels { valueOf: available } } }`,
  introspection: `query Q { __schema { queryType { name } } count item(id: "1") { id __typename } }`,
};

/** A value for `type` at a place the operation asks for: mostly valid, sometimes null, absent or of another kind. */
function generate(rng: RandomGenerator, type: Type, selectionSet: SelectionSet | undefined, depth: number): unknown {
  const roll = unsafeUniformIntDistribution(0, 99, rng);
  if (roll < 5) return null;
  if (roll < 7) return undefined;
  if (roll < 10) return pick(rng, ['x', 1.5, 2, -3, true, false, {}, [], '7', 'BOGUS', 2 ** 40, Number.NaN]);
  if (isNonNullType(type)) return generate(rng, type.ofType, selectionSet, depth);
  if (isListType(type)) {
    if (depth > 4) return [];
    return Array.from({ length: unsafeUniformIntDistribution(0, 3, rng) }, () => generate(rng, type.ofType, selectionSet, depth + 1));
  }
  if (isCompositeType(type)) {
    const object: Record<string, unknown> = {};
    const kinds = possibleRuntimeTypes(type).map((t) => t.name);
    const typename = unsafeUniformIntDistribution(0, 9, rng);
    if (typename < 6) object.__typename = pick(rng, kinds);
    else if (typename === 6) object.__typename = pick(rng, ['Nope', 'String', 'Status', 'Item', 'Location', 'Level', 'Node']);
    else if (typename === 7) object.__typename = pick(rng, [3, true]);
    if (selectionSet && depth <= 6) fill(rng, object, selectionSet, depth + 1);
    if (unsafeUniformIntDistribution(0, 9, rng) === 0) object.unasked = 'extra';
    return object;
  }
  switch (type.name) {
    case 'Int':
      return pick(rng, [0, 7, -12, 42, 1.5, '3']);
    case 'Float':
      return pick(rng, [0.5, 3, -2.25, 'x']);
    case 'Boolean':
      return pick(rng, [true, false, 1]);
    case 'ID':
      return pick(rng, ['a1', 17, 2.5, true]);
    case 'Status':
      return pick(rng, ['IN_STOCK', 'LOW_STOCK', 'OUT_OF_STOCK', 'NOPE']);
    case 'JSON':
      return pick(rng, [{ any: 'thing' }, 3, 'text', [1, 2]]);
    default:
      return pick(rng, ['text', 'SKU-1', 5]);
  }
}

function fill(rng: RandomGenerator, object: Record<string, unknown>, selectionSet: SelectionSet, depth: number): void {
  for (const selection of selectionSet.selections()) {
    if (selection.kind === 'FragmentSelection') {
      fill(rng, object, selection.selectionSet, depth);
      continue;
    }
    const field = selection.element;
    if (field.name === '__typename' || field.definition.isSchemaIntrospectionField()) continue;
    const value = generate(rng, field.definition.type!, selection.selectionSet, depth);
    if (value !== undefined) object[field.responseName()] = value;
  }
}

function pick<T>(rng: RandomGenerator, values: readonly T[]): T {
  return values[unsafeUniformIntDistribution(0, values.length - 1, rng)]!;
}

/** What a shaping produced, comparable: its data, and each error's message, path and code; or what it threw. */
function outcome(run: () => { data: unknown; errors: GraphQLError[] }): unknown {
  try {
    const { data, errors } = run();
    return { data: JSON.parse(JSON.stringify(data ?? null)), errors: errors.map((e) => ({ message: e.message, path: e.path, code: e.extensions.code })) };
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

const introspectionHandling = (selection: Selection) => ({ answeredFor: selection.element.toString() });

/** Runs `shaping.wrap`ped executions whose "execution" is the result shaping of `input`, as @apollo/gateway's executor calls it. */
function compiledShaping() {
  const shaping = new CompiledResultShaping(original);
  let pending: { operation: Operation; input: Record<string, unknown> };
  const executor = shaping.wrap((async (rc: GatewayGraphQLRequestContext) =>
    shaping.computeResponse({ operation: pending.operation, variables: rc.request.variables, input: pending.input, introspectionHandling })) as unknown as GatewayExecutor);
  const documentsOf = new Map<string, ReturnType<typeof parse>>();
  const apiSchema = {} as GatewayGraphQLRequestContext['schema'];
  return {
    shaping,
    async run(text: string, operation: Operation, input: Record<string, unknown>, variables: Record<string, unknown>) {
      pending = { operation, input };
      let document = documentsOf.get(text);
      if (!document) documentsOf.set(text, (document = parse(text)));
      const rc = { schema: apiSchema, document, operationName: 'Q', request: { variables } } as unknown as GatewayGraphQLRequestContext;
      return (await executor(rc)) as unknown as { data: unknown; errors: GraphQLError[] };
    },
  };
}

describe('compiled result shaping', () => {
  it("shapes every answer as @apollo/gateway's result shaping does: data, errors and failures alike (random answers, seed printed)", async () => {
    const seed = Number(process.env.RESULT_SHAPING_SEED ?? Math.floor(Math.random() * 2 ** 31));
    // Printed so that a failing answer can be shaped again: RESULT_SHAPING_SEED=<seed> npx vitest run gateway/result-shaping.test.ts
    process.stdout.write(`compiled result shaping: RESULT_SHAPING_SEED=${seed}\n`);
    const rng = xoroshiro128plus(seed);
    const compiled = compiledShaping();
    const seen = { nullData: 0, errors: 0, threw: 0, clean: 0 };
    for (const [name, text] of Object.entries(OPERATIONS)) {
      for (let n = 0; n < 600; n++) {
        // Each request's own Operation, as @apollo/gateway builds one per execution.
        const operation = operationFromDocument(schema, parse(text), { operationName: 'Q' });
        const input: Record<string, unknown> = {};
        fill(rng, input, operation.selectionSet, 0);
        const variables: Record<string, unknown> = { s: unsafeUniformIntDistribution(0, 1, rng) === 1 };
        if (unsafeUniformIntDistribution(0, 2, rng) > 0) variables.i = unsafeUniformIntDistribution(0, 1, rng) === 1;
        if (unsafeUniformIntDistribution(0, 5, rng) === 0) variables.o = pick(rng, [true, false, 'yes']);
        const expected = outcome(() => original({ operation, variables, input, introspectionHandling }));
        const actual = await compiled.run(text, operation, input, variables).then((r) => outcome(() => r), (err: Error) => ({ threw: err.message }));
        expect(actual, `${name} #${n}: ${JSON.stringify(input)} ${JSON.stringify(variables)}`).toEqual(expected);
        const e = expected as { threw?: string; data?: unknown; errors?: unknown[] };
        if (e.threw) seen.threw++;
        else if (e.data === null) seen.nullData++;
        else if (e.errors!.length) seen.errors++;
        else seen.clean++;
      }
    }
    // The mix reached every outcome: clean answers, errors, nulls bubbled to the root, and failed assertions.
    expect(Object.values(seen).every((count) => count > 50), JSON.stringify(seen)).toBe(true);
  });

  it('shapes an execution it did not see with the original, and never with the steps of another execution sharing its variables', async () => {
    const calls: string[] = [];
    const shaping = new CompiledResultShaping((args) => {
      calls.push('original');
      return original(args);
    });
    const text = (field: string) => `query Q { item(id: "1") { ${field} } }`;
    const operationOf = (field: string) => operationFromDocument(schema, parse(text(field)), { operationName: 'Q' });
    // Not wrapped (no execution of ours): the original shapes it.
    const variables = { s: true };
    const shaped = shaping.computeResponse({ operation: operationOf('sku'), variables, input: { item: { sku: 'A' } }, introspectionHandling });
    expect(calls).toEqual(['original']);
    expect(JSON.parse(JSON.stringify(shaped.data))).toEqual({ item: { sku: 'A' } });
    // Two concurrent executions of different documents given the same variables object: each is shaped by its own steps.
    const apiSchema = {} as GatewayGraphQLRequestContext['schema'];
    const started: { rc: GatewayGraphQLRequestContext; release: () => void }[] = [];
    const fieldOf = new Map<unknown, string>();
    const executor = shaping.wrap(((rc: GatewayGraphQLRequestContext) =>
      new Promise<void>((release) => started.push({ rc, release })).then(() =>
        shaping.computeResponse({ operation: operationOf(fieldOf.get(rc.document)!), variables: rc.request.variables, input: { item: { sku: 'A', qty: 3 } }, introspectionHandling }),
      )) as unknown as GatewayExecutor);
    const request = (field: string) => {
      const document = parse(text(field));
      fieldOf.set(document, field);
      return { schema: apiSchema, document, operationName: 'Q', request: { variables } } as unknown as GatewayGraphQLRequestContext;
    };
    const skuAnswer = executor(request('sku'));
    const qtyAnswer = executor(request('qty'));
    for (const s of started) s.release();
    const [sku, qty] = (await Promise.all([skuAnswer, qtyAnswer])) as unknown as { data: unknown }[];
    expect(JSON.parse(JSON.stringify(sku!.data))).toEqual({ item: { sku: 'A' } });
    expect(JSON.parse(JSON.stringify(qty!.data))).toEqual({ item: { qty: 3 } });
    expect(calls).toEqual(['original']);
    // The caller's variables object is left as it was.
    expect(started[0]!.rc.request.variables).not.toBe(variables);
    expect(variables).toEqual({ s: true });
  });
});
