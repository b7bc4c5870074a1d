/**
 * The baseline of `npm run bench -- peers`: an unmodified @apollo/gateway on @apollo/server's
 * standalone HTTP server, serving a supergraph file. Usage: tsx bench/peers-apollo.ts <supergraph.graphql> <port>
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const [file, port] = process.argv.slice(2);
if (!file || !port) throw new Error('usage: peers-apollo.ts <supergraph.graphql> <port>');
// Only keeps the gateway from reporting to Apollo and probing cloud metadata endpoints.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: readFileSync(file, 'utf8') }) });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(port) } });
process.stdout.write(`plain @apollo/gateway at ${url}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void server.stop().finally(() => process.exit(0)));
