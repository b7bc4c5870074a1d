import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../../contracts/composition.js';
import { servableSupergraph } from '../../contracts/supergraph.js';
import { SubscriptionPlanner } from './planner-adapter.js';

/** The contract with the pinned @apollo/gateway and @apollo/query-planner that the subscription bridge relies on. */

const SUBSCRIPTION = parse(`subscription($filter: StockChangedFilter!) {
  stockChanged(filter: $filter) {
    sequence sku availableToSell
    item { name }
    location { id name address { city } }
    channel { id name }
  }
}`);

/** Subgraphs answered in memory: each records what it was asked and answers entity fetches. */
const asked: Record<string, { query: string; variables: Record<string, any> }[]> = {};
function subgraph(name: string, entity: (rep: Record<string, any>) => Record<string, unknown>): GraphQLDataSource {
  return {
    async process({ request }) {
      (asked[name] ??= []).push({ query: request.query!, variables: request.variables ?? {} });
      const reps = (request.variables?.representations ?? []) as Record<string, any>[];
      return { data: { _entities: reps.map(entity) } };
    },
  };
}

let gateway: ApolloGateway;
let planner: SubscriptionPlanner;

beforeAll(async () => {
  const composed = compose(await readSupergraphConfig('supergraph.yaml'));
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  gateway = new ApolloGateway({
    supergraphSdl: servableSupergraph(composed.supergraphSdl),
    buildService: ({ name }) =>
      name === 'locations'
        ? subgraph(name, (rep) => ({ __typename: 'Location', id: rep.id, name: `Store ${rep.id}`, address: { city: 'York' } }))
        : name === 'channels'
          ? subgraph(name, (rep) => ({ __typename: 'Channel', id: rep.id, name: 'Web' }))
          : subgraph(name, () => {
              throw new Error(`${name} should not be asked`);
            }),
  });
  await gateway.load();
  planner = new SubscriptionPlanner(gateway);
});

afterAll(async () => {
  await gateway.stop();
});

describe('SubscriptionPlanner (contract with @apollo/gateway 2.14.4)', () => {
  it('plans stockChanged as a primary fetch to inventory and a rest of entity fetches to locations and channels', () => {
    const plan = planner.plan(SUBSCRIPTION);
    expect(plan.primary.serviceName).toBe('inventory');
    expect(plan.primary.operation).toMatch(/^subscription/);
    expect(plan.primary.operation).toContain('stockChanged(filter:$filter)');
    expect(plan.primary.operation).toMatch(/location\{__typename id\}/);
    // InventoryItem is inventory's own: its fields come with the primary result.
    expect(plan.primary.operation).toMatch(/item\s*\{\s*name\s*\}/);
    expect(plan.primary.variableUsages).toEqual(['filter']);
    expect(plan.restServices.sort()).toEqual(['channels', 'locations']);
    expect(planner.plan(SUBSCRIPTION)).toBe(plan);
  });

  it('executes the rest on a primary result and merges the entities into the client shape', async () => {
    const plan = planner.plan(SUBSCRIPTION);
    const result = await plan.execute(
      {
        data: {
          stockChanged: {
            sequence: '1-0',
            sku: 'SKU-1',
            availableToSell: 7,
            item: { name: 'Parka' },
            location: { __typename: 'Location', id: 'loc-1' },
            channel: { __typename: 'Channel', id: 'ch-1' },
          },
        },
      },
      { filter: { skus: ['SKU-1'] } },
      { requestId: 'contract', clientId: null },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      stockChanged: {
        sequence: '1-0',
        sku: 'SKU-1',
        availableToSell: 7,
        item: { name: 'Parka' },
        location: { id: 'loc-1', name: 'Store loc-1', address: { city: 'York' } },
        channel: { id: 'ch-1', name: 'Web' },
      },
    });
    expect(asked.locations!.at(-1)!.variables.representations).toEqual([{ __typename: 'Location', id: 'loc-1' }]);
    expect(asked.channels!.at(-1)!.variables.representations).toEqual([{ __typename: 'Channel', id: 'ch-1' }]);
    expect(asked.inventory).toBeUndefined();
  });
});
