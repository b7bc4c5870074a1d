/**
 * `npm run example:pricing`: a partner team's subgraph, as in the README's partner onboarding
 * walkthrough. It extends inventory's `InventoryItem` (key: `sku`) with a `price`; publish
 * scripts/demo/pricing.graphql to the registry and the gateway serves it beside inventory's fields.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Command } from 'commander';
import { parse } from 'graphql';

const { port } = new Command('example:pricing')
  .description("A partner's pricing subgraph for the onboarding walkthrough")
  .option('-p, --port <port>', 'port to listen on', (v) => Number(v), 4020)
  .parse()
  .opts<{ port: number }>();

/** A made-up but stable price per SKU. */
function priceOf(sku: string): { amount: number; currency: string } {
  let h = 0;
  for (const c of sku) h = (h * 31 + c.charCodeAt(0)) % 10_000;
  return { amount: 499 + h, currency: 'GBP' };
}

const server = new ApolloServer({
  schema: buildSubgraphSchema({
    typeDefs: parse(readFileSync(new URL('demo/pricing.graphql', import.meta.url), 'utf8')),
    resolvers: { InventoryItem: { __resolveReference: (ref: { sku: string }) => ({ sku: ref.sku, price: priceOf(ref.sku) }) } },
  }),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});
const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
process.stdout.write(`pricing subgraph at ${url}graphql  (Ctrl-C stops it)\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void server.stop().then(() => process.exit(0)));
