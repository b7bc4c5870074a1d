import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, MariaDbServer } from '../scripts/local-services.js';
import { freePort } from './ports.js';

/**
 * A MariaDB server of the test's own (npm start's MariaDbServer on a temporary datadir and a free
 * port), for tests that stop the database: the machine's MariaDB is shared with every other test and
 * must never be stopped. stop() kills it the way an outage would; start() brings it back on the same
 * datadir and port, so clients that knew it reconnect by themselves.
 */
export class PrivateMariaDb extends MariaDbServer {
  /** Initialises a datadir and starts the server; resolves once it accepts connections. */
  static async create(): Promise<PrivateMariaDb> {
    const binary = findBinary(['mariadbd', 'mysqld']);
    if (!binary) throw new Error('no mariadbd or mysqld installed');
    const server = new PrivateMariaDb(await mkdtemp(join(tmpdir(), 'omnistock-mariadb-')), await freePort(), binary);
    await server.initialise();
    await server.start();
    return server;
  }

  /** Stops the server with `signal`, by default as a crash would. */
  override stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return super.stop(signal);
  }

  /** Stops the server and deletes its datadir. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
