import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { servableSupergraph } from '../contracts/supergraph.js';
import { compose, readSupergraphConfig } from '../contracts/composition.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { demoId, demoItem } from '../scripts/demo/estate.js';
import { ensurePeerGateways } from '../scripts/peer-gateways.js';
import { tail, type ServiceName } from '../scripts/system.js';
import { cpuReading, type CpuPart } from './cpu.js';
import { drive, median, mergeRuns, renderTable, table, type Load, type LoadResult } from './run.js';
import { benchLogDir, spawnReaper, startBenchSystem, stoppingOnSignal, type BenchSystem } from './system.js';

/** The SKUs the bench seeds, which the distinct loads cycle through. */
const SKUS = 2000;

/**
 * The issue's three queries. `variables(n)` is request n's variables in the distinct load (every
 * request in flight at once asks something else, so no gateway can share work between them); the
 * same load sends request 0's to every request, as shoppers loading one product page do.
 */
const QUERIES = {
  storefront: {
    title: 'storefront: availability of 20 SKUs on one channel with location names (inventory, which provides the names)',
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

const APOLLO_PORT = 4107;
const HIVE_PORT = 4108;
/** 4109 is `bench -- gateway`'s bare gateway, 4110 the bench system's jobs process. */
const HIVE_RUST_PORT = 4111;

/** The Rust query planner's native addon, as a worker of Hive Gateway maps it once the router runtime has loaded it. */
const RUST_PLANNER_ADDON = 'hive_router_query_planner';

/** How long a peer's process group has after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 5_000;

interface Peer {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** Its processes: the gateway's own CPU. */
  processes: Pick<CpuPart, 'roots' | 'group'>;
}

/** A peer gateway run as the leader of its own process group, with Hive Gateway's forks in that group. */
interface PeerProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Where this run's lines begin in the log (the file is appended to run after run). */
  logOffset: number;
  /** Resolves when the group's leader has exited (or never started). */
  exited: Promise<void>;
}

const OURS = 'omnistock gateway';
const HIVE_JS = 'Hive Gateway (JS planner)';
const HIVE_RUST = 'Hive Gateway (Rust planner)';
const APOLLO = 'plain @apollo/gateway';

const progress = (text: string) => process.stderr.write(text);

export type PeerQuery = keyof typeof QUERIES;
export const PEER_QUERIES = Object.keys(QUERIES) as PeerQuery[];
export type PeerLoad = (typeof LOADS)[number];

/**
 * npm run bench -- peers: the same supergraph over the same running subgraphs, served by our
 * gateway (one worker per core), by Hive Gateway twice (its CLI, NODE_ENV=production and one fork
 * per core, as its docs recommend for production): with its default
 * JavaScript runtime and with HIVE_ROUTER_RUNTIME=true, which plans with Hive Router's Rust query
 * planner (@graphql-hive/router-runtime), and by an unmodified @apollo/gateway on @apollo/server,
 * each driven with the same load in alternating rounds. `workers` gives both gateways another
 * number of processes: on a machine whose cores also run the subgraphs, MariaDB, Redis and the
 * load, one per core oversubscribes them.
 */
export async function benchPeers(opts: {
  connections: number;
  seconds: number;
  rounds: number;
  /** Warm-up before each measured run: `first` in the first round, `later` after (default 3 and 1 s). */
  warmupSeconds?: { first: number; later: number };
  queries?: PeerQuery[];
  loads?: PeerLoad[];
  /** Processes per gateway: our GATEWAY_WORKERS and Hive Gateway's FORK alike (default: one per core). */
  workers?: number;
}): Promise<void> {
  const warmup = opts.warmupSeconds ?? { first: 3, later: 1 };
  const forks = opts.workers ?? availableParallelism();
  // Ours with as many workers as Hive Gateway gets forks: one per core unless told otherwise.
  // SERVICE_AUTH=off: Hive Gateway and plain @apollo/gateway sign no service tokens, so our subgraphs
  // check none here and ours signs none either (bench -- gateway measures what the tokens cost).
  const { hiveGatewayBin } = await ensurePeerGateways((line) => progress(`▸ ${line}`));
  progress(`▸ starting the bench system (ports 4100-4110, ${SKUS} SKUs, SERVICE_AUTH=off, our gateway with GATEWAY_WORKERS=${forks})\n`);
  const started = Date.now();
  const system = await startBenchSystem({ skus: SKUS, env: { GATEWAY_WORKERS: String(forks), SERVICE_AUTH: 'off' } });
  const peerProcesses: PeerProcess[] = [];
  let reaper: ChildProcess | undefined;
  let supergraphFile: string | undefined;
  let stopping: Promise<void> | undefined;
  // Once only: Ctrl-C while the work is still unwinding must not stop twice.
  const stop = () =>
    (stopping ??= (async () => {
      progress('▸ stopping the peers and the bench system\n');
      try {
        await Promise.all(peerProcesses.map((p) => stopPeer(p)));
        if (reaper?.exitCode === null) reaper.kill();
      } finally {
        if (supergraphFile) rmSync(supergraphFile, { force: true });
        await system.stop();
      }
    })());
  // stoppingOnSignal handles the first SIGINT/SIGTERM once. tsx sends Ctrl-C to this process again
  // when its acknowledgement is 30 ms late, and with no listener left tsx's own handler would end the
  // process at once, leaving the peers (in process groups of their own, out of Ctrl-C's reach)
  // running: further signals are only acknowledged until the stop is done.
  const holdOn = () => {
    if (stopping) progress('▸ still stopping (what has not exited 5 s after SIGTERM gets SIGKILL)\n');
  };
  process.on('SIGINT', holdOn).on('SIGTERM', holdOn);
  try {
    await stoppingOnSignal(stop, async () => {
      supergraphFile = await writeSupergraph(system);
      progress(`▸ starting the peers: ${HIVE_JS} on ${HIVE_PORT} and ${HIVE_RUST} on ${HIVE_RUST_PORT} (FORK=${forks} each), ${APOLLO} on ${APOLLO_PORT}\n`);
      const hiveArgs = (port: number) => ['supergraph', supergraphFile!, '--host', '127.0.0.1', '--port', String(port)];
      const apollo = spawnPeer(APOLLO, 'peer-apollo', process.execPath, ['--import', 'tsx', 'bench/peers-apollo.ts', supergraphFile, String(APOLLO_PORT)], { NODE_ENV: 'production' });
      peerProcesses.push(apollo);
      // HIVE_ROUTER_RUNTIME=false: the JS one stays on Hive's default runtime even if the caller's environment says otherwise.
      const hive = spawnPeer(HIVE_JS, 'peer-hive', hiveGatewayBin, hiveArgs(HIVE_PORT), { NODE_ENV: 'production', FORK: String(forks), HIVE_ROUTER_RUNTIME: 'false' });
      peerProcesses.push(hive);
      const hiveRust = spawnPeer(HIVE_RUST, 'peer-hive-rust', hiveGatewayBin, hiveArgs(HIVE_RUST_PORT), { NODE_ENV: 'production', FORK: String(forks), HIVE_ROUTER_RUNTIME: 'true' });
      peerProcesses.push(hiveRust);
      // Should this process end without stopping the peers, their whole process groups (Hive Gateway's forks too) are stopped.
      reaper = spawnReaper({ groups: peerProcesses.flatMap((p) => (p.child.pid === undefined ? [] : [p.child.pid])), graceMs: STOP_GRACE_MS }) ?? undefined;
      const peers: Peer[] = [
        { name: OURS, url: system.url('gateway'), headers: system.headers, processes: { roots: [system.pid('gateway')!] } },
        { name: HIVE_JS, url: `http://127.0.0.1:${HIVE_PORT}/graphql`, processes: { group: hive.child.pid } },
        { name: HIVE_RUST, url: `http://127.0.0.1:${HIVE_RUST_PORT}/graphql`, processes: { group: hiveRust.child.pid } },
        { name: APOLLO, url: `http://127.0.0.1:${APOLLO_PORT}/`, processes: { group: apollo.child.pid } },
      ];
      // What a request costs each part of the system: the gateway's own processes first, then what its requests cost past it.
      const cpuParts = (peer: Peer): CpuPart[] => [
        { name: 'gateway', ...peer.processes },
        ...SHARED_PARTS.map(({ name, services }) => ({ name, roots: services.flatMap((n) => system.pid(n) ?? []) })),
        { name: 'MariaDB', comm: /^(mariadbd|mysqld)$/ },
        { name: 'Redis', comm: /^redis-server$/ },
        { name: 'load', pids: [process.pid] },
      ];
      await Promise.all([waitAnswering(peers[1]!, hive), waitAnswering(peers[2]!, hiveRust), waitAnswering(peers[3]!, apollo)]);
      // One fork may answer before the other listens: each must be up before they are checked and timed.
      await Promise.all([waitForks(hive, forks), waitForks(hiveRust, forks)]);
      progress(`▸ ${HIVE_RUST}: ${expectRustPlanner(hiveRust, forks)}; ${HIVE_JS}: ${expectNoRustPlanner(hive)}\n`);

      const groups = (opts.loads ?? LOADS).flatMap((mode) =>
        (opts.queries ?? PEER_QUERIES).map((name) => {
          const q = QUERIES[name];
          const bodyOf = (n: number) => JSON.stringify({ query: q.query, variables: q.variables(n) });
          const body = bodyOf(0);
          const title = `${q.title}; ${mode === 'same' ? 'every request alike' : 'every request different'}`;
          const loads = peers.map((p): MeteredLoad => ({ name: p.name, url: p.url, body, bodies: mode === 'distinct' ? bodyOf : undefined, headers: p.headers, cpu: cpuParts(p) }));
          return { label: `${name}, ${mode === 'same' ? 'alike' : 'different'}`, title, loads };
        }),
      );
      // The four must give the same answer before any of them is timed: each query's first request,
      // and for the distinct load two more of the requests it sends.
      progress(`▸ checking that the ${peers.length} give the same answers\n`);
      for (const group of groups) {
        const samples = group.loads[0]!.bodies ? [0, 1, 2].map(group.loads[0]!.bodies) : [group.loads[0]!.body];
        for (const body of samples) await expectSameAnswers(group.loads.map((l) => ({ ...l, body })));
      }

      const runs = opts.rounds * groups.length * peers.length;
      const perRun = (round: number) => (round === 0 ? warmup.first : warmup.later) + opts.seconds;
      let remaining = Array.from({ length: opts.rounds }, (_, r) => perRun(r) * groups.length * peers.length).reduce((a, b) => a + b, 0);
      progress(
        `▸ measuring: ${runs} runs (${opts.rounds} round${opts.rounds === 1 ? '' : 's'} x ${groups.length} query loads x ${peers.length} targets) of ${opts.seconds} s after a warm-up, ` +
          `about ${minutes(remaining)} (start-up took ${Math.round((Date.now() - started) / 1000)} s)\n`,
      );
      const results = new Map<Load, LoadResult[]>();
      const cpu = new Map<Load, number[][]>();
      let done = 0;
      for (let round = 0; round < opts.rounds; round++) {
        for (const group of groups) {
          // Each round starts with another target: none is always first after another query's runs (or the start-up) and the others after it.
          for (const load of group.loads.map((_, i, all) => all[(i + round) % all.length]!)) {
            if (stopping) return; // interrupted: stoppingOnSignal exits once everything has stopped
            done++;
            progress(`  [${done}/${runs}] round ${round + 1}/${opts.rounds} · ${group.label} · ${load.name} …`);
            const reading = cpuReading(load.cpu);
            const r = await drive(load, {
              connections: opts.connections,
              seconds: opts.seconds,
              warmupSeconds: round === 0 ? warmup.first : warmup.later,
              measuring: reading.start,
            });
            results.set(load, [...(results.get(load) ?? []), r]);
            const used = reading.perRequest(r.requests);
            if (used) cpu.set(load, [...(cpu.get(load) ?? []), used]);
            remaining -= perRun(round);
            const bad = r.errors + r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : '';
            const figures = r.requestsPerSec > 0 ? `${Math.round(r.requestsPerSec)} req/s, p99 ${r.p99.toFixed(1)} ms` : 'no request answered within the run';
            progress(` ${figures}${bad}${remaining > 0 ? ` (about ${minutes(remaining)} left)` : ''}\n`);
          }
        }
      }

      process.stdout.write(`\n${opts.connections} connections, ${opts.rounds} round${opts.rounds === 1 ? '' : 's'} of ${opts.seconds} s per gateway and query, alternating (median per target)\n`);
      const summary: string[][] = [];
      for (const group of groups) {
        const merged = group.loads.map((l) => mergeRuns(results.get(l)!));
        const ours = merged[0]!;
        process.stdout.write(`\n${group.title}\n\n${table(merged)}\n\n`);
        const against = merged.slice(1).map((peer) => [`ours / ${peer.name}`, ratio(ours.requestsPerSec, peer.requestsPerSec), ratio(ours.p99, peer.p99)]);
        process.stdout.write(`${renderTable(['ratio', 'req/s', 'p99'], against)}\n`);
        if (cpu.size) process.stdout.write(`\n${cpuTable(group.loads, cpu)}\n`);
        summary.push([group.label, ...merged.slice(1).map((peer) => ratio(ours.requestsPerSec, peer.requestsPerSec))]);
      }
      process.stdout.write(
        `\nours / peer, req/s (above 1: ours serves more)\n\n${renderTable(['query, requests', ...peers.slice(1).map((p) => `/ ${p.name}`)], summary)}\n`,
      );
    });
  } finally {
    process.off('SIGINT', holdOn).off('SIGTERM', holdOn);
  }
}

/** The parts of the system past the gateway, by the services they are made of. */
const SHARED_PARTS: { name: string; services: ServiceName[] }[] = [
  { name: 'inventory', services: ['inventory'] },
  { name: 'orders', services: ['orders'] },
  { name: 'locations', services: ['locations'] },
  { name: 'channels', services: ['channels'] },
  { name: 'other subgraphs', services: ['marketplaces', 'exceptions'] },
  { name: 'jobs', services: ['jobs'] },
];

type MeteredLoad = Load & { cpu: CpuPart[] };

/**
 * CPU ms per request by part of the system, median per target over its rounds: the gateway's own,
 * then what its requests cost past it (subgraphs, jobs, MariaDB, Redis, the load generator: alike
 * for every gateway but for how many and how large the subgraph requests it sends are), and all of
 * it, which bounds req/s on a machine the whole system shares.
 */
function cpuTable(loads: MeteredLoad[], cpu: Map<Load, number[][]>): string {
  const names = loads[0]!.cpu.map((p) => p.name);
  const rows = loads.flatMap((load) => {
    const runs = cpu.get(load);
    if (!runs?.length) return [];
    const cells = names.map((_, i) => median(runs.map((r) => r[i]!)));
    const all = median(runs.map((r) => r.reduce((a, b) => a + b, 0)));
    return [[load.name, ...[...cells, all].map((v) => v.toFixed(2))]];
  });
  return `CPU ms per request (/proc, user + system, median per target)\n\n${renderTable(['target', ...names, 'all'], rows)}`;
}

const minutes = (seconds: number) => (seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`);

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

/**
 * Starts a peer as the leader of a process group of its own (detached), so that stopping it reaches
 * Hive Gateway's forks too. Its output goes straight to its log file: no pipe of ours keeps this
 * process alive, and no stream is left to close.
 */
function spawnPeer(name: string, logName: string, command: string, args: string[], env: Record<string, string>): PeerProcess {
  mkdirSync(benchLogDir(), { recursive: true });
  const logFile = join(benchLogDir(), `${logName}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return { name, child, logFile, logOffset: statSync(logFile).size, exited };
}

/** Sends `signal` to the whole process group of `pgid`. @returns false when no process of it is left */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * SIGTERM to the peer's whole process group, SIGKILL to what is left of it after STOP_GRACE_MS, and
 * waits until every process of the group has gone. Hive Gateway's primary only passes SIGTERM on to
 * its forks, which close their servers and then stay up, so the primary never exits by itself: a
 * group signal reaches each fork directly.
 */
async function stopPeer(peer: PeerProcess): Promise<void> {
  const pgid = peer.child.pid;
  if (pgid === undefined) return; // never started
  if (signalGroup(pgid, 'SIGTERM') && !(await groupGone(pgid, STOP_GRACE_MS))) {
    progress(`  ${peer.name} still running ${STOP_GRACE_MS / 1000} s after SIGTERM: SIGKILL\n`);
    signalGroup(pgid, 'SIGKILL');
    if (!(await groupGone(pgid, STOP_GRACE_MS))) progress(`  ${peer.name}: process group ${pgid} still there after SIGKILL\n`);
  }
  await peer.exited;
}

/** This run's lines of the peer's log. */
function logSince(peer: PeerProcess): string {
  const fd = openSync(peer.logFile, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - peer.logOffset));
    readSync(fd, buf, 0, buf.length, peer.logOffset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The processes of a process group other than its leader (Hive Gateway's forks), from /proc; null where there is no /proc. */
function groupWorkers(pgid: number): number[] | null {
  if (!existsSync('/proc/self/stat')) return null;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pgid) continue;
    try {
      // Fields after the command name, which is in parentheses and may hold spaces: state, ppid, pgrp, ...
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const mapsPlanner = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes(RUST_PLANNER_ADDON);
  } catch {
    return false;
  }
};

/**
 * That Hive Gateway with HIVE_ROUTER_RUNTIME=true really plans in Rust: every fork logged "Using Hive
 * Router Runtime" (and none fell back to the default runtime for want of the package), and every fork
 * has the planner's native addon loaded. @returns what was found @throws when it does not
 */
function expectRustPlanner(peer: PeerProcess, forks: number): string {
  const log = plainLog(peer);
  const using = (log.match(/Using Hive Router Runtime/g) ?? []).length;
  const fail = (why: string) => new Error(`${peer.name} does not run the Rust query planner: ${why}\n${tail(peer.logFile)}`);
  if (log.includes('Could not load the @graphql-hive/router-runtime package')) throw fail('@graphql-hive/router-runtime could not be loaded');
  // The primary logs it too when it forks.
  if (using < forks) throw fail(`"Using Hive Router Runtime" logged ${using} times, for ${forks} forks`);
  // With FORK=1 Hive Gateway serves from its one process.
  const workers = forks > 1 ? groupWorkers(peer.child.pid!) : existsSync('/proc/self/stat') ? [peer.child.pid!] : null;
  if (workers === null) return `"Using Hive Router Runtime" logged by its forks (no /proc to check the planner's addon)`;
  if (workers.length < forks) throw fail(`${workers.length} forks running, ${forks} expected`);
  const without = workers.filter((pid) => !mapsPlanner(pid));
  if (without.length) throw fail(`fork(s) ${without.join(', ')} have not loaded ${RUST_PLANNER_ADDON}`);
  return `Rust query planner (${RUST_PLANNER_ADDON}.node) loaded in its ${workers.length} forks`;
}

/** That the JS one is the comparison it claims to be: no process of it loaded the Rust planner. */
function expectNoRustPlanner(peer: PeerProcess): string {
  const workers = [peer.child.pid!, ...(groupWorkers(peer.child.pid!) ?? [])];
  if (workers.some(mapsPlanner) || plainLog(peer).includes('Using Hive Router Runtime')) {
    throw new Error(`${peer.name} runs the Rust query planner, though HIVE_ROUTER_RUNTIME=false\n${tail(peer.logFile)}`);
  }
  return 'its default runtime';
}

const plainLog = (peer: PeerProcess) => logSince(peer).replace(/\x1b\[[0-9;]*m/g, '');

/** Until each of Hive Gateway's `forks` workers has logged "Listening on". */
async function waitForks(peer: PeerProcess, forks: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let listening = 0;
  while (Date.now() < deadline) {
    if (peer.child.exitCode !== null) throw new Error(`${peer.name} exited with code ${peer.child.exitCode}\n${tail(peer.logFile)}`);
    listening = (plainLog(peer).match(/Listening on /g) ?? []).length;
    if (listening >= forks) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${peer.name}: ${listening} of its ${forks} forks listening after ${timeoutMs} ms\n${tail(peer.logFile)}`);
}

async function waitAnswering(peer: Peer, proc: PeerProcess, timeoutMs = 60_000): Promise<void> {
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
    if (!isDeepStrictEqual(answer, answers[0])) {
      const show = (a: unknown) => JSON.stringify(a).slice(0, 400);
      throw new Error(`${loads[i]!.name} answered differently from ${loads[0]!.name} to ${loads[0]!.body.slice(0, 200)}\n${loads[0]!.name}: ${show(answers[0])}\n${loads[i]!.name}: ${show(answer)}`);
    }
  }
}

/** a/b, or a dash when either side answered nothing in its run (no figure to compare). */
const ratio = (a: number, b: number) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}x` : '–');
