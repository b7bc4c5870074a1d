import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { findBinary, MariaDbServer, type ReplicationRole } from '../scripts/local-services.js';
import { freePort } from './ports.js';

/**
 * A MariaDB server of the test's own (npm start's MariaDbServer on a temporary datadir and a free
 * port), for tests that stop the database: the machine's MariaDB is shared with every other test and
 * must never be stopped. stop() kills it the way an outage would; start() brings it back on the same
 * datadir and port, so clients that knew it reconnect by themselves.
 */
export class PrivateMariaDb extends MariaDbServer {
  /** Initialises a datadir and starts the server; resolves once it accepts connections. */
  static async create(replication: ReplicationRole | null = null): Promise<PrivateMariaDb> {
    const binary = findBinary(['mariadbd', 'mysqld']);
    if (!binary) throw new Error('no mariadbd or mysqld installed');
    const server = new PrivateMariaDb(await mkdtemp(join(tmpdir(), 'omnistock-mariadb-')), await freePort(), binary, replication);
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

  /** Runs statements as root, on a connection of their own. */
  async sql(...statements: (string | [string, unknown[]])[]): Promise<unknown[]> {
    const conn = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 5000 });
    try {
      const out: unknown[] = [];
      for (const st of statements) {
        const [rows] = typeof st === 'string' ? await conn.query(st) : await conn.query(st[0], st[1]);
        out.push(rows);
      }
      return out;
    } finally {
      await conn.end();
    }
  }
}

/**
 * A private primary (binary log, GTIDs) and a private replica following it from its first
 * transaction (`CHANGE MASTER TO … MASTER_USE_GTID=slave_pos`), for the read-replica tests: they
 * stop, delay and kill the replica, which the machine's shared MariaDB must never be.
 */
export async function createReplicatedPair(): Promise<{ primary: PrivateMariaDb; replica: ReplicaServer }> {
  const [primary, replica] = await Promise.all([PrivateMariaDb.create({ serverId: 1, binlog: true }), PrivateMariaDb.create({ serverId: 2, binlog: false })]);
  const following = Object.assign(replica, replicaControls(primary.port));
  await following.follow();
  return { primary, replica: following };
}

/** What a test does to a replica's replication. */
export type ReplicaServer = PrivateMariaDb & ReturnType<typeof replicaControls>;

function replicaControls(primaryPort: number) {
  return {
    /** Points replication at the primary and starts both threads. */
    async follow(this: PrivateMariaDb): Promise<void> {
      await this.sql(
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primaryPort}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
        'START SLAVE',
      );
    },
    /** Stops applying (the SQL thread); what the primary writes queues up in the relay log. */
    async stopApplying(this: PrivateMariaDb): Promise<void> {
      await this.sql('STOP SLAVE SQL_THREAD');
    },
    /** Applies again, catching up. */
    async resumeApplying(this: PrivateMariaDb): Promise<void> {
      await this.sql('START SLAVE SQL_THREAD');
    },
    /** Replication keeps running, each transaction applied `seconds` after the primary committed it (MASTER_DELAY): a replica that lags. */
    async delay(this: PrivateMariaDb, seconds: number): Promise<void> {
      await this.sql('STOP SLAVE', `CHANGE MASTER TO MASTER_DELAY=${seconds}`, 'START SLAVE');
    },
    /** Resolves once the replica has applied everything the primary has committed so far. */
    async caughtUpWith(this: PrivateMariaDb, primary: PrivateMariaDb, timeoutSeconds = 60): Promise<void> {
      const [rows] = (await primary.sql('SELECT @@GLOBAL.gtid_binlog_pos AS pos')) as { pos: string }[][];
      const [waited] = (await this.sql(['SELECT MASTER_GTID_WAIT(?, ?) AS w', [rows![0]!.pos, timeoutSeconds]])) as { w: number }[][];
      if (Number(waited![0]!.w) !== 0) throw new Error(`the replica did not reach ${rows![0]!.pos} within ${timeoutSeconds} s`);
    },
  };
}
