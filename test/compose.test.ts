import { describe, expect, it } from 'vitest';
import { Supergraph } from '@apollo/federation-internals';
import { parse, validate } from 'graphql';
import { compose, formatCompositionErrors, readSupergraphConfig } from '../contracts/composition.js';
import type { ProblemAction } from '../contracts/events.js';
import { operationOf } from '../subgraphs/exceptions/domain/exception-rules.js';

describe('composition', () => {
  it('composes supergraph.yaml with all six subgraphs', async () => {
    const subgraphs = await readSupergraphConfig('supergraph.yaml');
    expect(subgraphs.map((s) => s.name).sort()).toEqual(['channels', 'exceptions', 'inventory', 'locations', 'marketplaces', 'orders']);
    const result = compose(subgraphs);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.supergraphSdl).toContain('join__Graph');
      for (const type of ['InventoryItem', 'Order', 'Location', 'Channel', 'MarketplaceSync']) expect(result.supergraphSdl).toContain(`type ${type}`);
      // Channel is the channels subgraph's; marketplaces adds its connection and sync state to it.
      expect(result.supergraphSdl).toMatch(/marketplaceSync: MarketplaceSync @join__field\(graph: MARKETPLACES/);
    }
  });

  it('reports each error with its code and the subgraphs involved', async () => {
    const subgraphs = await readSupergraphConfig('supergraph.yaml');
    // A partner redefines Location.name with another type: a field type conflict between two subgraphs.
    const partner = {
      name: 'partner',
      url: 'http://localhost:4999/graphql',
      sdl: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
            type Location @key(fields: "id") { id: ID! name: Int! @shareable }
            type Query { partnerPing: Boolean }`,
    };
    const result = compose([...subgraphs, partner]);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const error = result.errors.find((e) => e.message.includes('Location.name'));
      expect(error).toBeDefined();
      expect(error!.code).toMatch(/^[A-Z_]+$/);
      expect(error!.subgraphs).toEqual(expect.arrayContaining(['locations', 'partner']));
      expect(formatCompositionErrors(result.errors)).toContain('Location.name');
    }
  });
});

describe('exception actions', () => {
  it('are operations the supergraph validates: each names a mutation its owner serves', async () => {
    const result = compose(await readSupergraphConfig('supergraph.yaml'));
    if (!result.ok) throw new Error(formatCompositionErrors(result.errors));
    const api = Supergraph.build(result.supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
    const actions: ProblemAction[] = [
      { kind: 'REPLAY_DEAD_LETTERS', channelId: 'c' },
      { kind: 'APPLY_RECONCILIATION', runId: 'r' },
      { kind: 'CANCEL_ORDER', orderId: 'o' },
      { kind: 'SET_BUFFER', channelId: 'c', units: 3 },
      { kind: 'MAP_LISTING', channelId: 'c', marketplaceSku: 'm' },
      { kind: 'RETRY_ORDER', orderId: 'o' },
      { kind: 'REQUEST_DRIFT_REPAIR', channelId: 'c' },
    ];
    for (const action of actions) {
      const op = operationOf(action, 'x');
      expect(validate(api, parse(op.operation)), action.kind).toEqual([]);
    }
  });
});
