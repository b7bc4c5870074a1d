/**
 * Hive Gateway serving Omnistock's supergraph, with the inventory subgraph's subscriptions
 * (stockChanged) over graphql-ws, the one transport our subgraphs serve them on. Run it with
 *
 *   npx hive-gateway supergraph supergraph.graphql -c examples/peer-gateways/hive-gateway.config.ts
 *
 * where supergraph.graphql is the registry's latest supergraph
 * (`npm run --silent omnistock -- registry supergraph --local > supergraph.graphql`).
 * test/peer-gateway.test.ts runs this file as written.
 */
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  transportEntries: {
    inventory: {
      options: {
        // Relative to the subgraph's URL in the supergraph: the same /graphql path, as ws:// (wss:// for https://).
        subscriptions: { kind: 'ws', location: '/graphql' },
      },
    },
  },
});
