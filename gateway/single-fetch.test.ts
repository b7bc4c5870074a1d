import type { GraphQLDataSource } from '@apollo/gateway';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { buildSchema, getOperationAST, Kind, OperationTypeNode, parse, print, stripIgnoredCharacters, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SingleFetchQueries } from './single-fetch.js';

const API = buildSchema(`
  type Query { item(sku: String!): Item, items: [Item!]!, node(id: ID!): Node }
  interface Node { id: ID! }
  type Item implements Node { id: ID! sku: String! status: Status! grade: Grade }
  enum Status { ACTIVE DISCONTINUED }
  enum Grade { A B }
`);
// The supergraph's Grade has a value the API hides (@inaccessible): an answer may carry it.
const SUPERGRAPH = `enum Status { ACTIVE DISCONTINUED } enum Grade { A B INTERNAL @inaccessible }`;

interface Sent {
  query: string;
  variables: Record<string, unknown>;
}

function setup() {
  const queries = new SingleFetchQueries();
  queries.onSchema({ apiSchema: API, coreSupergraphSdl: SUPERGRAPH });
  const sent: Sent[] = [];
  const service = {
    process: async ({ request }: { request: Sent }) => {
      sent.push(request);
      return { data: { item: { sku: 'A-1' } } };
    },
  } as unknown as GraphQLDataSource;
  let shaped = 0;
  const executor = queries.wrap(async () => {
    shaped++;
    return { data: { shaped: true } };
  });
  /** One request of `text` as @apollo/gateway would see it, its plan one fetch of `fetchText` (the client's own operation when omitted). */
  const request = async (document: DocumentNode, variables: Record<string, unknown> = {}, fetchText?: string) => {
    const operation = getOperationAST(document)!;
    const requestContext = { schema: API, document, operation, operationName: operation.name?.value ?? null, request: { variables }, context: {} } as unknown as GatewayGraphQLRequestContext;
    const renamed: OperationDefinitionNode = { ...operation, name: operation.name ? { kind: Kind.NAME, value: `${operation.name.value}__catalog__0` } : undefined };
    const fetch = { kind: 'Fetch' as const, serviceName: 'catalog', operation: fetchText ?? stripIgnoredCharacters(print(renamed)), operationName: renamed.name?.value, operationKind: operation.operation, variableUsages: Object.keys(variables) };
    const answer = await executor(requestContext);
    // What @apollo/gateway's executor does on the usual path: tell the plan.
    if (shaped && !sent.length) queries.observe({ queryPlan: { kind: 'QueryPlan', node: fetch }, serviceMap: { catalog: service }, requestContext, operationContext: {} as never });
    return answer;
  };
  return { queries, sent, request, shapedCount: () => shaped };
}

/** Whether the second request of the document went straight to its fetch. */
async function goesDirect(text: string, variables: Record<string, unknown> = {}, fetchText?: string): Promise<boolean> {
  const { request, sent } = setup();
  const document = parse(text);
  await request(document, variables, fetchText);
  await request(document, variables, fetchText);
  return sent.length === 1;
}

describe('single-fetch queries', () => {
  it('answers a document straight from its fetch once it knows the plan, passing only the variables the fetch uses', async () => {
    const { request, sent, shapedCount } = setup();
    const document = parse('query Item($sku: String!) { item(sku: $sku) { sku status } }');
    expect(await request(document, { sku: 'A-1' })).toEqual({ data: { shaped: true } });
    expect(await request(document, { sku: 'A-1', unused: 1 })).toEqual({ data: { item: { sku: 'A-1' } } });
    expect(shapedCount()).toBe(1);
    expect(sent).toEqual([expect.objectContaining({ query: 'query Item__catalog__0($sku:String!){item(sku:$sku){sku status}}' })]);
    expect({ ...sent[0]!.variables }).toEqual({ sku: 'A-1' });
  });

  it('shapes what the fetch does not ask as the client did, and what an answer could carry the API hides', async () => {
    // The planner asked something else (a key, a __typename it added).
    expect(await goesDirect('{ item(sku: "A") { sku } }', {}, '{item(sku:"A"){sku id}}')).toBe(false);
    // Fragments.
    expect(await goesDirect('{ item(sku: "A") { ...F } } fragment F on Item { sku }')).toBe(false);
    // An abstract type: its __typename is the gateway's to give.
    expect(await goesDirect('{ node(id: "1") { id } }')).toBe(false);
    // An enum with a value hidden from the API.
    expect(await goesDirect('{ item(sku: "A") { grade } }')).toBe(false);
    // Not a query.
    expect(await goesDirect('mutation { item(sku: "A") { sku } }')).toBe(false);
    // An enum the API shows whole, aliases, a list: direct.
    expect(await goesDirect('{ first: item(sku: "A") { sku status } items { sku } }')).toBe(true);
  });

  it('answers each root field null when the subgraph brought no data, or null as a whole when one may not be', async () => {
    const queries = new SingleFetchQueries();
    queries.onSchema({ apiSchema: API, coreSupergraphSdl: SUPERGRAPH });
    const down = {
      process: async () => ({ errors: [{ message: 'inventory is unavailable', path: ['item'], extensions: { code: 'SUBGRAPH_UNAVAILABLE' } }] }),
    } as unknown as GraphQLDataSource;
    const executor = queries.wrap(async () => ({ data: null }));
    for (const [text, data] of [
      ['{ item(sku: "A") { sku } }', { item: null }],
      ['{ items { sku } }', null],
    ] as const) {
      const document = parse(text);
      const operation = getOperationAST(document)!;
      const requestContext = { schema: API, document, operation, operationName: null, request: {}, context: {} } as unknown as GatewayGraphQLRequestContext;
      const fetch = { kind: 'Fetch' as const, serviceName: 'inventory', operation: stripIgnoredCharacters(print(operation)), operationName: undefined, operationKind: OperationTypeNode.QUERY };
      queries.observe({ queryPlan: { kind: 'QueryPlan', node: fetch }, serviceMap: { inventory: down }, requestContext, operationContext: {} as never });
      const answer = await executor(requestContext);
      expect(answer.data).toEqual(data);
      expect(answer.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'inventory' });
    }
  });
});
