import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { servableSupergraph } from '../contracts/supergraph.js';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { demoId, demoItem } from '../scripts/demo/estate.js';
import { tail } from '../scripts/system.js';
import { drive, mergeRuns, table, type Load, type LoadResult } from './run.js';
import { benchLogDir, startBenchSystem, stoppingOnSignal, type BenchSystem } from './system.js';

const APOLLO_PORT = 4107;
const HIVE_PORT = 4108;

/** The SKUs the bench seeds, which the distinct loads cycle through. */
const SKUS = 2000;

/**
 * The issue's three queries. `variables(n)` is request n's variables in the distinct load (every
 * request in flight at once asks something else, so no gateway can share work between them); the
 * same load sends request 0's to every request, as shoppers loading one product page do.
 */
const QUERIES = {
  storefront: {
    title: 'storefront: availability of 20 SKUs on one channel with location names (inventory, locations)',
    query: `query Storefront($c: ID!, $skus: [String!]!) {
  availability(channelId: $c, skus: $skus) { sku availableToSell status locations { available pickup location { name } } }
}`,
    variables: (n: number) => ({ c: demoId('channel', 'WEB-UK'), skus: Array.from({ length: 20 }, (_, i) => demoItem((n * 20 + i * 7) % SKUS).sku) }),
  },
  productPage: {
    title: 'product page: one SKU across the four subgraphs',
    query: `query ProductPage($sku: String!) {
  inventoryItem(sku: $sku) {
    sku name openOrderQuantity
    stockLevels { onHand available location { name type address { city } channels { code name status } } }
  }
}`,
    variables: (n: number) => ({ sku: demoItem((3 + n) % SKUS).sku }),
  },
  nested: {
    title: 'three entity hops: channels -> locations -> inventory -> orders',
    query: `query Nested($levels: Int!) {
  channels(first: 3) {
    edges { node { code allocationRule { sources { location { name stockLevels(first: $levels) { edges { node { sku available item { openOrderQuantity } } } } } } } } }
  }
}`,
    // 1 to 50 stock levels per location: the channels and locations fetches are alike, the rest differ.
    variables: (n: number) => ({ levels: n === 0 ? 5 : 1 + (n % 50) }),
  },
} as const;

/** Same: every request alike; distinct: every request in flight asks for something else. */
const LOADS = ['same', 'distinct'] as const;

interface Peer {
  name: string;
  url: string;
  headers?: Record<string, string>;
}

/**
 * npm run bench -- peers: the same supergraph over the same four running subgraphs, served by our
 * gateway (GATEWAY_WORKERS=auto: one worker per core), by Hive Gateway (its CLI, NODE_ENV=production
 * and one fork per core, as its docs recommend for production) and by an unmodified @apollo/gateway on @apollo/server, each driven
 * with the same load in alternating rounds.
 */
export type PeerQuery = keyof typeof QUERIES;
export const PEER_QUERIES = Object.keys(QUERIES) as PeerQuery[];
export type PeerLoad = (typeof LOADS)[number];

export async function benchPeers(opts: { connections: number; seconds: number; rounds: number; queries?: PeerQuery[]; loads?: PeerLoad[] }): Promise<void> {
  // Ours with one worker per core, as Hive Gateway gets one fork per core.
  // SERVICE_AUTH=off: Hive Gateway and plain @apollo/gateway sign no service tokens, so our subgraphs
  // check none here and ours signs none either (bench -- gateway measures what the tokens cost).
  const system = await startBenchSystem({ skus: SKUS, env: { GATEWAY_WORKERS: 'auto', SERVICE_AUTH: 'off' } });
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await system.stop();
  };
  await stoppingOnSignal(stop, async () => {
    const supergraphFile = await writeSupergraph(system);
    const apollo = spawnPeer('peer-apollo', process.execPath, ['--import', 'tsx', 'bench/peers-apollo.ts', supergraphFile, String(APOLLO_PORT)], { NODE_ENV: 'production' });
    const hive = spawnPeer('peer-hive', hiveGatewayBin(), ['supergraph', supergraphFile, '--host', '127.0.0.1', '--port', String(HIVE_PORT)], {
      NODE_ENV: 'production',
      FORK: String(availableParallelism()),
    });
    children.push(apollo.child, hive.child);
    const peers: Peer[] = [
      { name: 'omnistock gateway', url: system.url('gateway'), headers: system.headers },
      { name: 'Hive Gateway', url: `http://127.0.0.1:${HIVE_PORT}/graphql` },
      { name: 'plain @apollo/gateway', url: `http://127.0.0.1:${APOLLO_PORT}/` },
    ];
    await Promise.all([waitAnswering(peers[1]!, hive), waitAnswering(peers[2]!, apollo)]);

    const groups = (opts.loads ?? LOADS).flatMap((mode) =>
      (opts.queries ?? PEER_QUERIES).map((name) => QUERIES[name]).map((q) => {
        const bodyOf = (n: number) => JSON.stringify({ query: q.query, variables: q.variables(n) });
        const body = bodyOf(0);
        const title = `${q.title}; ${mode === 'same' ? 'every request alike' : 'every request different'}`;
        return { title, loads: peers.map((p): Load => ({ name: p.name, url: p.url, body, bodies: mode === 'distinct' ? bodyOf : undefined, headers: p.headers })) };
      }),
    );
    // The three must give the same answer before any of them is timed.
    for (const group of groups) await expectSameAnswers(group.loads);

    const results = new Map<Load, LoadResult[]>();
    for (let round = 0; round < opts.rounds; round++) {
      for (const load of groups.flatMap((g) => g.loads)) {
        const r = await drive(load, { connections: opts.connections, seconds: opts.seconds, warmupSeconds: round === 0 ? 3 : 1 });
        results.set(load, [...(results.get(load) ?? []), r]);
      }
    }
    process.stdout.write(`\n${opts.connections} connections, ${opts.rounds} rounds of ${opts.seconds} s per gateway and query, alternating (median per target)\n`);
    for (const group of groups) {
      const [ours, hiveRun, apolloRun] = group.loads.map((l) => mergeRuns(results.get(l)!));
      process.stdout.write(`\n${group.title}\n\n${table([ours!, hiveRun!, apolloRun!])}\n\n`);
      process.stdout.write(
        `ours/Hive: req/s ${ratio(ours!.requestsPerSec, hiveRun!.requestsPerSec)}, p99 ${ratio(ours!.p99, hiveRun!.p99)}; ` +
          `ours/plain Apollo: req/s ${ratio(ours!.requestsPerSec, apolloRun!.requestsPerSec)}, p99 ${ratio(ours!.p99, apolloRun!.p99)}\n`,
      );
    }
  });
}

/** The supergraph composed from supergraph.yaml with the bench system's subgraph URLs, as a file the peers can load. */
async function writeSupergraph(system: BenchSystem): Promise<string> {
  const sources = (await readSupergraphConfig('supergraph.yaml')).map((s) =>
    SUBGRAPH_NAMES.includes(s.name as never) ? { ...s, url: system.url(s.name as (typeof SUBGRAPH_NAMES)[number]) } : s,
  );
  const composed = compose(sources);
  if (!composed.ok) throw new Error(JSON.stringify(composed.errors));
  const file = join(tmpdir(), `omnistock-bench-supergraph-${process.pid}.graphql`);
  // @apollo/gateway refuses @requiresScopes links marked `for: SECURITY` unless the gateway enforces them, as ours does.
  writeFileSync(file, servableSupergraph(composed.supergraphSdl));
  return file;
}

function hiveGatewayBin(): string {
  const pkg = createRequire(import.meta.url).resolve('@graphql-hive/gateway/package.json');
  return join(dirname(pkg), 'dist', 'bin.js');
}

function spawnPeer(name: string, command: string, args: string[], env: Record<string, string>): { child: ChildProcess; logFile: string } {
  mkdirSync(benchLogDir(), { recursive: true });
  const logFile = join(benchLogDir(), `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return { child, logFile };
}

async function waitAnswering(peer: Peer, proc: { child: ChildProcess; logFile: string }, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${peer.name} exited with code ${proc.child.exitCode}\n${tail(proc.logFile)}`);
    try {
      const res = await fetch(peer.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${peer.name} did not answer at ${peer.url} within ${timeoutMs} ms\n${tail(proc.logFile)}`);
}

async function expectSameAnswers(loads: Load[]): Promise<void> {
  const answers = await Promise.all(
    loads.map(async (load) => {
      const res = await fetch(load.url, { method: 'POST', headers: { 'content-type': 'application/json', ...load.headers }, body: load.body });
      const json = (await res.json()) as { data?: unknown; errors?: unknown };
      if (json.errors || !json.data) throw new Error(`${load.name}: bad response ${JSON.stringify(json).slice(0, 300)}`);
      return json.data;
    }),
  );
  for (const [i, answer] of answers.entries()) {
    if (!isDeepStrictEqual(answer, answers[0])) throw new Error(`${loads[i]!.name} answered differently from ${loads[0]!.name}`);
  }
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
