import { composeServices } from '@apollo/composition';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { buildOperationContext, type ServiceMap } from '@apollo/gateway';
import { QueryPlanner } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  execute,
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isListType,
  isObjectType,
  parse,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { describe, expect, it } from 'vitest';
import { CompiledPlanExecution, valuesAt } from './plan-execution.js';

/** Four subgraphs with what a plan can hold: entity hops, lists of lists of entities, @requires, an interface and a union, rewrites. */
const SUBGRAPHS = {
  channels: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
    type Query { channels(first: Int): [Channel!]! channel(code: String!): Channel }
    type Channel @key(fields: "id") { id: ID! code: String! sources: [Source!] places: [Place] }
    type Source { priority: Int location: Location }
    type Location @key(fields: "id", resolvable: false) { id: ID! }
    union Place = Location | Store
    type Store @key(fields: "id") { id: ID! label: String }
  `,
  locations: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    interface Node @key(fields: "id") { id: ID! }
    enum Kind { STORE WAREHOUSE }
    type Location implements Node @key(fields: "id") { id: ID! name: String kind: Kind! region: Region }
    type Region implements Node @key(fields: "id") { id: ID! title: String }
    type Query { node(id: ID!): Node }
  `,
  inventory: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Location @key(fields: "id") { id: ID! levels(first: Int): [Level!] grid: [[Level]] }
    type Level { sku: String! available: Int item: Item }
    type Item @key(fields: "sku") { sku: String! weight: Int }
  `,
  orders: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires"])
    type Item @key(fields: "sku") { sku: String! weight: Int @external open: Int shipping: Float @requires(fields: "weight") }
  `,
  // An @interfaceObject: its fetches rewrite __typename going out and coming back.
  tags: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@interfaceObject"])
    type Node @key(fields: "id") @interfaceObject { id: ID! tags: [String!] }
    type Query { tagged: [Node!]! }
  `,
  // A field whose type differs between the types a fetch asks it of (String! here, String in the
  // supergraph): the planner aliases one and renames it back in the answer (an output rewrite).
  catalog: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
    type Query { things: [Thing] }
    union Thing = Gadget | Widget
    type Gadget @key(fields: "id") { id: ID! label: String! @shareable }
    type Widget @key(fields: "id") { id: ID! label: String @shareable }
  `,
  labels: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
    type Gadget @key(fields: "id") { id: ID! label: String @shareable }
  `,
} as const;

const OPERATIONS = [
  `query Q($n: Int, $l: Int) { channels(first: $n) { code sources { priority location { name kind levels(first: $l) { sku available item { open shipping } } } } } }`,
  `query Q { channels { id places { __typename ... on Location { name grid { sku item { open } } } ... on Store { label } } } }`,
  `query Q($c: String!) { channel(code: $c) { code sources { location { id region { title } } } } node(id: "r1") { id ... on Location { name levels { available } } } }`,
  `query Q($n: Int, $s: Boolean!) { a: channels(first: $n) { sources { location { name @skip(if: $s) levels { item { shipping } } } } } b: channels { code } }`,
  `query Q { channels { sources { location { ... on Location { levels { item { sku open } } } } } } __schema { queryType { name } } }`,
  `query Q { node(id: "r1") { id tags ... on Location { name tags } } tagged { __typename id tags ... on Region { title } ... on Location { kind levels { sku } } } }`,
  `query Q { things { __typename ... on Gadget { id label } ... on Widget { label } } }`,
];

const VARIABLES = [{ n: 3, l: 2 }, {}, { c: 'WEB' }, { n: 2, s: false }, {}, {}, {}];

const composed = composeServices(Object.entries(SUBGRAPHS).map(([name, sdl]) => ({ name, url: `http://${name}`, typeDefs: parse(sdl) })));
if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
const supergraph = Supergraph.build(composed.supergraphSdl);
const apiSchema = supergraph.apiSchema();
const apiGraphQLSchema = apiSchema.toGraphQLJSSchema();
const supergraphGraphQLSchema = supergraph.schema.toGraphQLJSSchema();
const planner = new QueryPlanner(supergraph);
const subgraphSchemas = Object.fromEntries(Object.entries(SUBGRAPHS).map(([name, sdl]) => [name, buildSubgraphSchema({ typeDefs: parse(sdl) })])) as Record<string, GraphQLSchema>;

const pick = <T,>(rng: RandomGenerator, values: readonly T[]): T => values[unsafeUniformIntDistribution(0, values.length - 1, rng)]!;

/**
 * A subgraph answering any field at random (and consistently with the representations it is given):
 * nulls, errors (with their paths), lists of 0 to 3, a few distinct keys so entities repeat.
 */
function randomResolver(rng: RandomGenerator): GraphQLFieldResolver<Record<string, unknown>, unknown> {
  const value = (type: GraphQLOutputType): unknown => {
    const nullable = getNullableType(type);
    if (isListType(nullable)) return Array.from({ length: unsafeUniformIntDistribution(0, 3, rng) }, () => (unsafeUniformIntDistribution(0, 9, rng) === 0 ? null : value(nullable.ofType)));
    const named = getNamedType(nullable);
    if (isAbstractType(named)) return { __typename: pick(rng, ['Location', 'Store', 'Region', 'Gadget', 'Widget'].filter((t) => subgraphTypeIs(named.name, t))) };
    if (isObjectType(named)) return {};
    if (isEnumType(named)) return pick(rng, named.getValues()).value;
    switch (named.name) {
      case 'Int':
        return unsafeUniformIntDistribution(0, 50, rng);
      case 'Float':
        return unsafeUniformIntDistribution(0, 500, rng) / 4;
      case 'Boolean':
        return unsafeUniformIntDistribution(0, 1, rng) === 1;
      default:
        return pick(rng, ['a', 'b', 'c', 'd']) + unsafeUniformIntDistribution(0, 2, rng);
    }
  };
  return (source, _args, _context, info) => {
    if (Object.hasOwn(source, info.fieldName)) return source[info.fieldName];
    const roll = unsafeUniformIntDistribution(0, 99, rng);
    if (roll < 6) return null;
    if (roll < 10) throw new Error(`no ${info.parentType.name}.${info.fieldName} today`);
    return value(info.returnType);
  };
}

function subgraphTypeIs(abstract: string, type: string): boolean {
  if (abstract === 'Place') return type === 'Location' || type === 'Store';
  if (abstract === 'Node') return type === 'Location' || type === 'Region';
  if (abstract === 'Thing') return type === 'Gadget' || type === 'Widget';
  return false;
}

/** The subgraphs as data sources: answered at random once, and the same body answered again the same way. */
function services(rng: RandomGenerator, answers: Map<string, string>): ServiceMap {
  return Object.fromEntries(
    Object.keys(SUBGRAPHS).map((name) => [
      name,
      {
        async process({ request }: { request: { query?: string; variables?: Record<string, unknown> } }) {
          const key = `${name}\n${request.query}\n${JSON.stringify(request.variables)}`;
          let answer = answers.get(key);
          if (answer === undefined) {
            const result = await execute({ schema: subgraphSchemas[name]!, document: parse(request.query!), rootValue: {}, variableValues: request.variables, fieldResolver: randomResolver(rng) });
            // Some subgraphs leave out the entities' __typename: the gateway fills it in from the entity it asked for.
            const entities = (result.data as { _entities?: ({ __typename?: string } | null)[] } | null | undefined)?._entities;
            for (const entity of entities ?? []) if (entity && unsafeUniformIntDistribution(0, 3, rng) === 0) delete entity.__typename;
            answers.set(key, (answer = JSON.stringify(result)));
          }
          return JSON.parse(answer);
        },
      },
    ]),
  ) as unknown as ServiceMap;
}

async function run(executor: CompiledPlanExecution['original'], query: string, variables: Record<string, unknown>, serviceMap: ServiceMap): Promise<unknown> {
  const document = parse(query);
  const operationContext = buildOperationContext({ schema: apiGraphQLSchema, operationDocument: document });
  const plan = planner.buildQueryPlan(operationFromDocument(apiSchema, document));
  const requestContext = {
    request: { query, variables: { ...variables } },
    context: {},
    metrics: {},
    logger: console,
    document,
    operation: operationContext.operation,
    schema: apiGraphQLSchema,
  } as unknown as GatewayGraphQLRequestContext;
  // Errors compared as they are sent (message, path, extensions).
  return JSON.parse(JSON.stringify(await executor(plan, serviceMap, requestContext, operationContext, supergraphGraphQLSchema, apiSchema)));
}

describe('CompiledPlanExecution', () => {
  const ours = new CompiledPlanExecution(CompiledPlanExecution.original(), () => false);

  it("executes plans as @apollo/gateway's executeQueryPlan does: same data, errors at the same paths, same subgraph requests (200 random answers per operation)", async () => {
    for (const [i, query] of OPERATIONS.entries()) {
      for (let seed = 1; seed <= 200; seed++) {
        const answers = new Map<string, string>();
        const original = await run(CompiledPlanExecution.original(), query, VARIABLES[i]!, services(xoroshiro128plus(seed), answers));
        const asked = new Set(answers.keys());
        // Ours gets the very answers the original got, and must ask for nothing else.
        const compiled = await run((...args) => ours.execute(...args), query, VARIABLES[i]!, services(xoroshiro128plus(-seed), answers));
        expect(compiled, `operation ${i}, seed ${seed}`).toEqual(original);
        expect(new Set(answers.keys()), `operation ${i}, seed ${seed}: requests`).toEqual(asked);
      }
    }
  });

  it('covers what the operations are for: entity hops, @requires, errors at entity paths, nulls', async () => {
    let entityErrors = 0;
    let requires = 0;
    let levels = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const answers = new Map<string, string>();
      const result = (await run((...args) => ours.execute(...args), OPERATIONS[0]!, VARIABLES[0]!, services(xoroshiro128plus(seed), answers))) as { data?: unknown; errors?: { path?: unknown[] }[] };
      if (result.errors?.some((e) => Array.isArray(e.path) && e.path.includes('levels'))) entityErrors++;
      if ([...answers.keys()].some((key) => key.startsWith('orders\n') && key.includes('"weight"'))) requires++;
      if (JSON.stringify(result.data).includes('"shipping":')) levels++;
    }
    expect(entityErrors).toBeGreaterThan(10);
    expect(requires).toBeGreaterThan(10);
    expect(levels).toBeGreaterThan(10);
  });

  it('is what ApolloGateway runs once installed, and leaves executions with captured traces to the original', async () => {
    CompiledPlanExecution.install(() => false);
    const module = (await import('@apollo/gateway/dist/executeQueryPlan.js')) as unknown as { default?: { executeQueryPlan: unknown }; executeQueryPlan?: unknown };
    const installed = (module.default ?? module).executeQueryPlan as { compiled?: CompiledPlanExecution };
    expect(installed.compiled).toBeInstanceOf(CompiledPlanExecution);
    // Installing again changes nothing.
    CompiledPlanExecution.install(() => false);
    expect(((module.default ?? module).executeQueryPlan as { compiled?: CompiledPlanExecution }).compiled).toBe(installed.compiled);
    let called = 0;
    const spy = new CompiledPlanExecution(async () => (called++, { data: { spied: true } }), () => false);
    const traced = { request: { variables: {} }, metrics: { captureTraces: true } } as unknown as GatewayGraphQLRequestContext;
    expect(await spy.execute({ kind: 'QueryPlan', node: undefined }, {}, traced, {} as never, supergraphGraphQLSchema, apiSchema)).toEqual({ data: { spied: true } });
    const exporting = new CompiledPlanExecution(async () => (called++, { data: { spied: true } }), () => true);
    expect(await exporting.execute({ kind: 'QueryPlan', node: undefined }, {}, { ...traced, metrics: {} }, {} as never, supergraphGraphQLSchema, apiSchema)).toEqual({ data: { spied: true } });
    expect(called).toBe(2);
  });

  it('finds the entities at a plan path as @apollo/gateway does: `@` a list level, lists at the end spread, nulls kept for the fetch to drop', () => {
    const data = { a: [{ b: [{ c: 1 }, { c: [2, 3] }, null, {}] }, { b: null }], d: { e: [5, [6]] }, g: [[{ c: 7 }], [{ c: 8 }, null]] };
    expect(valuesAt(data, ['a', '@', 'b', '@', 'c'])).toEqual([1, 2, 3, null, undefined, null]);
    expect(valuesAt(data, ['a', '@', 'b'])).toEqual([{ c: 1 }, { c: [2, 3] }, null, {}, null]);
    expect(valuesAt(data, ['g', '@', '@', 'c'])).toEqual([7, 8, null]);
    expect(valuesAt(data, ['d', 'e'])).toEqual([5, [6]]);
    expect(valuesAt(data, ['d', 'e', '@'])).toEqual([5, 6]);
    expect(valuesAt(data, ['x', 'y'])).toBeUndefined();
    expect(valuesAt(null, ['a'])).toBeNull();
    // Inherited members are not the response's.
    expect(valuesAt({}, ['constructor'])).toBeUndefined();
    expect(() => valuesAt(data, ['a', 'b'])).toThrow(/Unexpected array in result for path element b/);
  });
});
