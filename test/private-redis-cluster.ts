import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { findBinary, RedisServer } from '../scripts/local-services.js';
import { canListen, ephemeralRange, freePort } from './ports.js';

const run = promisify(execFile);

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    // The bus port too stays below the range of outgoing connections' ports.
    const port = await freePort(ephemeralRange()[0] - 10_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if (await canListen(port + 10_000)) {
      taken.add(port).add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

/**
 * A Redis Cluster of the tests' own: `masters` redis-servers with `--cluster-enabled yes` on free
 * ports (and their bus ports), keeping nothing on disk but their cluster state in a temporary
 * folder, joined by `redis-cli --cluster create` with no replicas; ready once every node reports
 * `cluster_state:ok`. `nodes` are its `host:port` seeds, as REDIS_CLUSTER_NODES takes them.
 */
export class PrivateRedisCluster {
  private constructor(
    private readonly dir: string,
    private readonly servers: RedisServer[],
  ) {}

  get nodes(): string[] {
    return this.servers.map((s) => `127.0.0.1:${s.port}`);
  }

  static async create(masters = 3): Promise<PrivateRedisCluster> {
    const binary = findBinary(['redis-server']);
    const cli = findBinary(['redis-cli']);
    if (!binary || !cli) throw new Error('a Redis Cluster needs redis-server and redis-cli installed');
    const dir = await mkdtemp(join(tmpdir(), 'omnistock-redis-cluster-'));
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freeClusterPort(taken));
    const servers = ports.map(
      (port) =>
        new RedisServer(port, {
          binary,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000', '--daemonize', 'no'],
        }),
    );
    const cluster = new PrivateRedisCluster(dir, servers);
    try {
      await Promise.all(servers.map((s) => s.start()));
      await run(cli, ['--cluster', 'create', ...cluster.nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
      await cluster.waitUntilOk();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Waits until every node says the cluster serves every slot (the nodes learn of each other by gossip). */
  private async waitUntilOk(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        this.servers.map(async (s) => {
          const client = new Redis({ port: s.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          try {
            await client.connect();
            return /cluster_state:ok/.test(String(await client.cluster('INFO')));
          } catch {
            return false;
          } finally {
            client.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${this.nodes.join(',')} did not reach cluster_state:ok within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** How many commands each node has served since it started (INFO stats). */
  async commandsServed(): Promise<number[]> {
    return Promise.all(
      this.servers.map(async (s) => {
        const client = new Redis({ port: s.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        try {
          await client.connect();
          return Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))?.[1] ?? 0);
        } finally {
          client.disconnect();
        }
      }),
    );
  }

  /** Stops every node and removes their cluster state. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop('SIGKILL')));
    await rm(this.dir, { recursive: true, force: true });
  }
}
