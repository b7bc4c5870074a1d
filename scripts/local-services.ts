/**
 * The MariaDB and Redis that `npm start` brings when none answers at MYSQL_URL or REDIS_URL: the
 * machine's own server binaries (`mariadbd` or `mysqld`, `redis-server`) run as children on a data
 * directory under `.omnistock/`, on the port the URL names (nothing listens there, so the URL, and
 * every command run later with the same settings, reach them); else `docker compose` with this
 * repository's docker-compose.yml when Docker is there and the URL names its port. Tests use the
 * same servers on temporary directories (test/private-mariadb.ts, test/private-redis.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';

const run = promisify(execFile);

/** Where a server binary is: PATH, then the sbin folders a non-root PATH often lacks. */
export function findBinary(names: readonly string[], path = process.env['PATH'] ?? ''): string | null {
  const folders = [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const name of names) {
    for (const folder of folders) {
      const file = join(folder, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return null;
}

async function waitUntil(what: string, ready: () => Promise<boolean>, alive: () => string | null, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const died = alive();
    if (died !== null) throw new Error(`${what} exited while starting:\n${died}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits before the n-th restart in a row of a supervised process (npm start's services and servers alike). */
export const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];
/** A process that ran this long before it exited starts its restarts from the first wait again. */
export const STABLE_AFTER_MS = 60_000;

/** The wait before restarting a process that exited after running `ranMs`, its `streak`-th restart in a row; and the streak that restart starts. */
export function restartDelay(streak: number, ranMs: number): { delayMs: number; streak: number } {
  const n = ranMs >= STABLE_AFTER_MS ? 0 : streak;
  return { delayMs: RESTART_BACKOFF_MS[Math.min(n, RESTART_BACKOFF_MS.length - 1)]!, streak: n + 1 };
}

/**
 * A server process of ours: started, stopped with the signal given, its output kept for errors.
 * Supervised (`supervise`), one that exits without stop() (a crash, a kill) is started again with
 * backoff on the same data and port, so clients that knew it reconnect by themselves.
 */
abstract class ChildServer {
  protected child: ChildProcess | null = null;
  protected output = '';
  private readonly killOnExit = () => this.child?.kill('SIGKILL');
  private exitHooked = false;
  private say: ((line: string) => void) | null = null;
  /** Set by stop(): the exit it causes is no crash. */
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private streak = 0;
  /** Counts stop() calls: a restart that finishes after one stops what it started. */
  private stops = 0;

  /** Starts the server and resolves once it answers. */
  abstract start(): Promise<void>;

  /** What the supervisor's lines call it. */
  protected abstract get label(): string;

  /** From now on, restarts the server whenever it exits without stop(); `say` hears of each exit and return. */
  supervise(say: (line: string) => void): void {
    this.say = say;
  }

  protected launch(binary: string, args: string[]): void {
    if (this.child) throw new Error('already running');
    this.output = '';
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const since = Date.now();
    child.stdout!.on('data', (d) => (this.output = (this.output + d).slice(-8000)));
    child.stderr!.on('data', (d) => (this.output = (this.output + d).slice(-8000)));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (this.say && !this.stopping) this.restartLater(Date.now() - since, signal ?? `code ${code}`);
    });
    this.child = child;
    // A parent that dies leaves no server behind.
    if (!this.exitHooked) process.once('exit', this.killOnExit);
    this.exitHooked = true;
  }

  private restartLater(ranMs: number, how: string): void {
    const say = this.say!;
    const { delayMs, streak } = restartDelay(this.streak, ranMs);
    this.streak = streak;
    say(`↻ ${this.label} exited (${how}); restarting in ${delayMs / 1000} s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping || this.child) return;
      const stops = this.stops;
      // A start that fails because the server exited again is restarted by that exit; one that times out is only reported.
      this.start().then(
        () => (this.stops === stops ? say(`✔ ${this.label} is back (pid ${this.pid})`) : void this.stop()),
        (err: Error) => say(`✖ ${this.label} did not come back: ${err.message.split('\n')[0]}`),
      );
    }, delayMs);
  }

  protected exitedOutput = (): string | null => (this.child ? null : this.output);

  /** Stops the server with `signal` (SIGKILL: a crash; SIGTERM: a clean shutdown) and waits until it has exited; a supervised one stays stopped. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stops++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    try {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    } finally {
      this.stopping = false;
    }
    process.off('exit', this.killOnExit);
    this.exitHooked = false;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

/**
 * How a server takes part in replication: its server id, and (a primary) a binary log with GTIDs
 * in row format that replicas follow. Without it, no binary log.
 */
export interface ReplicationRole {
  serverId: number;
  binlog: boolean;
}

/** A MariaDB (or MySQL) server on a data directory of ours and a port, root without a password on 127.0.0.1. */
export class MariaDbServer extends ChildServer {
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly binary: string,
    private readonly replication: ReplicationRole | null = null,
  ) {
    super();
  }

  protected get label(): string {
    return `MariaDB on port ${this.port}`;
  }

  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}`;
  }

  /** Creates the data directory's system tables unless they exist (mariadb-install-db, or mysqld --initialize-insecure). */
  async initialise(): Promise<void> {
    const data = join(this.dir, 'data');
    if (existsSync(join(data, 'mysql'))) return;
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    const installer = findBinary(['mariadb-install-db', 'mysql_install_db']);
    if (installer) {
      // Temporary files in a folder of its own: another server's in the shared /tmp broke a bootstrap ("Error on delete of '/tmp/#sql-temptable-…'").
      await run(installer, ['--no-defaults', '--auth-root-authentication-method=normal', `--datadir=${data}`, `--tmpdir=${join(this.dir, 'tmp')}`, `--user=${userInfo().username}`, '--skip-test-db'], { timeout: 120_000 });
    } else {
      await run(this.binary, ['--no-defaults', '--initialize-insecure', `--datadir=${data}`, `--user=${userInfo().username}`], { timeout: 120_000 });
    }
  }

  /** Starts the server (again, on the same data) and waits until it accepts connections. */
  async start(): Promise<void> {
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    this.launch(this.binary, [
      '--no-defaults',
      `--datadir=${join(this.dir, 'data')}`,
      `--port=${this.port}`,
      `--socket=${join(this.dir, 'sock')}`,
      `--pid-file=${join(this.dir, 'pid')}`,
      `--tmpdir=${join(this.dir, 'tmp')}`,
      '--bind-address=127.0.0.1',
      `--user=${userInfo().username}`,
      ...(this.replication ? [`--server-id=${this.replication.serverId}`] : []),
      ...(this.replication?.binlog ? [`--log-bin=${join(this.dir, 'data', 'binlog')}`, '--binlog-format=ROW'] : ['--skip-log-bin']),
      '--innodb-buffer-pool-size=128M',
      '--max-connections=500',
    ]);
    await waitUntil(
      `${this.binary} on port ${this.port}`,
      async () => {
        try {
          const conn = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 1000 });
          await conn.end();
          return true;
        } catch {
          return false;
        }
      },
      this.exitedOutput,
    );
  }
}

/**
 * A redis-server on a port; with a directory it keeps its data there (append-only file), without one
 * nothing. `args`: more of redis-server's options (the tests' cluster nodes: `--cluster-enabled yes`, …).
 */
export class RedisServer extends ChildServer {
  constructor(
    readonly port: number,
    private readonly opts: { binary: string; dir?: string; args?: readonly string[] },
  ) {
    super();
  }

  protected get label(): string {
    return `Redis on port ${this.port}`;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.opts.dir) await mkdir(this.opts.dir, { recursive: true });
    const persistence = this.opts.dir ? ['--dir', resolve(this.opts.dir), '--appendonly', 'yes', '--save', ''] : ['--save', '', '--appendonly', 'no'];
    this.launch(this.opts.binary, ['--port', String(this.port), '--bind', '127.0.0.1', ...persistence, ...(this.opts.args ?? [])]);
    await waitUntil(
      `redis-server on port ${this.port}`,
      () => redisAnswers(this.port),
      this.exitedOutput,
    );
  }
}

type Kind = 'mysql' | 'redis';
const LABEL: Record<Kind, string> = { mysql: 'MySQL', redis: 'Redis' };
const COMPOSE_PORT: Record<Kind, number> = { mysql: 3306, redis: 6379 };
const INSTALL: Record<Kind, string> = { mysql: 'mariadb-server (apt-get install mariadb-server)', redis: 'redis-server (apt-get install redis-server)' };

/** How a missing service can be brought: its binary, Docker, or nothing (then what to install). */
export type Provision = { how: 'binary'; binary: string } | { how: 'docker' } | { how: 'none'; reason: string };

/**
 * Decides how to bring a service whose URL nothing answers: only on this machine (a loopback host),
 * with the server binary when there is one, else with docker compose when Docker runs and the URL
 * names the compose file's port; otherwise says what to install.
 */
export function provision(kind: Kind, url: string, found: { binary: string | null; docker: boolean }): Provision {
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname)) {
    return { how: 'none', reason: `${url} is not on this machine: start it there, or point ${kind === 'mysql' ? 'MYSQL_URL' : 'REDIS_URL'} at one that runs` };
  }
  if (found.binary) return { how: 'binary', binary: found.binary };
  if (found.docker && Number(port || COMPOSE_PORT[kind]) === COMPOSE_PORT[kind]) return { how: 'docker' };
  return { how: 'none', reason: `nothing answers at ${url}, and neither its server nor Docker is installed: install ${INSTALL[kind]}, or start one and set ${kind === 'mysql' ? 'MYSQL_URL' : 'REDIS_URL'}` };
}

async function dockerRuns(): Promise<boolean> {
  if (!findBinary(['docker'])) return false;
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface LocalServices {
  /** What was started, one line each (empty when both answered already). */
  started: string[];
  /** Stops what was started. */
  stop(): Promise<void>;
}

/**
 * Makes sure MySQL and Redis answer at their URLs, starting what does not: `reachable(kind)` says
 * whether one answers. Data lives under `<dir>/mariadb` and `<dir>/redis` between starts. With
 * `say`, the servers it started are supervised: one that dies is restarted (`say` hears of it).
 * @throws Error naming what to install when a service cannot be brought
 */
export async function ensureLocalServices(
  urls: { mysql: string; redis: string },
  dir: string,
  reachable: (kind: Kind) => Promise<boolean>,
  say?: (line: string) => void,
): Promise<LocalServices> {
  const stops: (() => Promise<void>)[] = [];
  const started: string[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    for (const kind of ['mysql', 'redis'] as const) {
      if (await reachable(kind)) continue;
      const url = urls[kind];
      const binary = findBinary(kind === 'mysql' ? ['mariadbd', 'mysqld'] : ['redis-server']);
      const how = provision(kind, url, { binary, docker: !binary && (await dockerRuns()) });
      const port = Number(new URL(url).port || COMPOSE_PORT[kind]);
      if (how.how === 'none') throw new Error(`Cannot reach ${LABEL[kind]}: ${how.reason}`);
      if (how.how === 'docker') {
        const service = kind === 'mysql' ? 'mysql' : 'redis';
        await run('docker', ['compose', 'up', '-d', '--wait', service], { timeout: 300_000 });
        stops.push(() => run('docker', ['compose', 'stop', service]).then(() => {}));
        started.push(`${LABEL[kind]}: docker compose service ${service} on port ${port}`);
        continue;
      }
      if (kind === 'mysql') {
        const server = new MariaDbServer(join(dir, 'mariadb'), port, how.binary);
        await server.initialise();
        await server.start();
        if (say) server.supervise(say);
        stops.push(() => server.stop('SIGTERM'));
        started.push(`${LABEL[kind]}: ${how.binary} on port ${port}, data in ${server.dir}`);
      } else {
        const server = new RedisServer(port, { binary: how.binary, dir: join(dir, 'redis') });
        await server.start();
        if (say) server.supervise(say);
        stops.push(() => server.stop('SIGTERM'));
        started.push(`${LABEL[kind]}: ${how.binary} on port ${port}, data in ${join(dir, 'redis')}`);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { started, stop };
}

/** Whether a Redis server on 127.0.0.1:`port` answers a PING now (one try, no retries). */
export async function redisAnswers(port: number): Promise<boolean> {
  const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused until the server listens: the failed connect() says so; ioredis would also print it as an unhandled 'error'.
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
