import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from './ports.js';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';

/**
 * A MariaDB server of the test's own (a `mariadbd` child process on a temporary datadir and a free
 * port), for tests that stop the database: the machine's MariaDB is shared with every other test and
 * must never be stopped. stop() kills it the way an outage would; start() brings it back on the same
 * datadir and port, so clients that knew it reconnect by themselves.
 */
export class PrivateMariaDb {
  private child: ChildProcess | null = null;
  private output = '';
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** root without a password on 127.0.0.1:port. */
  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}`;
  }

  /** Initialises a datadir and starts the server; resolves once it accepts connections. */
  static async create(): Promise<PrivateMariaDb> {
    const dir = await mkdtemp(join(tmpdir(), 'omnistock-mariadb-'));
    // Rejects (with its output) when it exits non-zero.
    await promisify(execFile)(
      'mariadb-install-db',
      ['--no-defaults', '--auth-root-authentication-method=normal', `--datadir=${join(dir, 'data')}`, `--user=${userInfo().username}`, '--skip-test-db'],
      { timeout: 60_000 },
    );
    const server = new PrivateMariaDb(dir, await freePort());
    await server.start();
    return server;
  }

  /** Starts mariadbd (again) and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.child) throw new Error('already running');
    this.output = '';
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--port=${this.port}`,
        `--socket=${join(this.dir, 'sock')}`,
        `--pid-file=${join(this.dir, 'pid')}`,
        '--bind-address=127.0.0.1',
        `--user=${userInfo().username}`,
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        '--max-connections=500',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    process.once('exit', this.killOnExit);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!this.child) throw new Error(`mariadbd exited while starting:\n${this.output}`);
      try {
        const conn = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 1000 });
        await conn.end();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections within 60 s: ${(err as Error).message}\n${this.output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Stops the server with `signal` (SIGKILL: a crash, SIGTERM: a clean shutdown) and waits until it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    process.off('exit', this.killOnExit);
  }

  /** Stops the server and deletes its datadir. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
