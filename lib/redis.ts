import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions, Worker } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import { redactUrl } from './db.js';
import { logger } from './logger.js';

/** Redis or Redis Cluster: every client the system holds is one of the two, made by createRedis. */
export type RedisClient = Redis | Cluster;

/**
 * Where the system's Redis is: the single server at `url`, or, with `clusterNodes`, the Redis Cluster
 * those seeds lead to (`url` then lends its user name, password and TLS to every node).
 */
export interface RedisTarget {
  url: string;
  clusterNodes?: readonly string[];
}

/** The configuration's Redis (REDIS_URL, REDIS_CLUSTER_NODES). */
export function redisTarget(cfg: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): RedisTarget {
  return cfg.REDIS_CLUSTER_NODES ? { url: cfg.REDIS_URL, clusterNodes: cfg.REDIS_CLUSTER_NODES } : { url: cfg.REDIS_URL };
}

function targetOf(target: RedisTarget | string): RedisTarget {
  return typeof target === 'string' ? { url: target } : target;
}

/** How a target is named in logs and errors (never with its password). */
export function describeRedis(target: RedisTarget | string): string {
  const t = targetOf(target);
  return t.clusterNodes ? `cluster ${t.clusterNodes.join(',')}` : redactUrl(t.url);
}

export class RedisUnreachableError extends Error {
  constructor(target: RedisTarget | string, cause: unknown) {
    super(`Cannot reach Redis at ${describeRedis(target)}: ${(cause as Error)?.message ?? cause}`);
  }
}

/** A seed `host:port` (IPv6 in brackets) as ioredis takes it. */
function seed(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(node.slice(at + 1)) };
}

/**
 * The options a node of the cluster is opened with: the caller's per-connection options plus what
 * REDIS_URL carries (user name, password, TLS for `rediss://`; a database number has no meaning on
 * a cluster, which has only database 0).
 */
function nodeOptions(url: string, options: RedisOptions): RedisOptions {
  const u = new URL(url);
  const {
    lazyConnect: _lazy,
    enableReadyCheck: _ready,
    enableOfflineQueue: _offline,
    retryStrategy: _retry,
    ...perNode
  } = options;
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    // Each node's certificate is checked against the name it is reached by (see dnsLookup below).
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...perNode,
  };
}

/** ioredis's Cluster options for the same choices a single-server client is given. */
function clusterOptions(url: string, options: RedisOptions): ClusterOptions {
  const { retryStrategy } = options;
  return {
    lazyConnect: options.lazyConnect ?? false,
    enableReadyCheck: options.enableReadyCheck ?? true,
    // Reading the slot map may take as long as connecting may (ioredis's 1 s default fails a busy
    // process's start with "Failed to refresh slots cache", then retries).
    slotsRefreshTimeout: options.connectTimeout ?? 10_000,
    ...(options.enableOfflineQueue !== undefined ? { enableOfflineQueue: options.enableOfflineQueue } : {}),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
    // TLS certificates name the host, not the address the cluster announces.
    ...(url.startsWith('rediss:') ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
    redisOptions: nodeOptions(url, options),
  };
}

/**
 * The one way the system opens Redis: a client of the single server, or of the Redis Cluster when
 * the target names one (REDIS_CLUSTER_NODES). It reconnects by itself and logs its connection errors
 * (an unhandled 'error' event would otherwise be printed for every reconnection attempt while Redis
 * is away). Blocking reads and subscribers take a client of their own from here, whichever kind.
 */
export function createRedis(target: RedisTarget | string, options: RedisOptions = {}): RedisClient {
  const t = targetOf(target);
  const client: RedisClient = t.clusterNodes
    ? new Cluster(t.clusterNodes.map(seed), clusterOptions(t.url, { lazyConnect: false, enableReadyCheck: true, ...options }))
    : new Redis(t.url, { lazyConnect: false, enableReadyCheck: true, ...options });
  client.on('error', (err: Error) => logger().warn({ err: err.message, redis: describeRedis(t) }, 'redis connection error'));
  return client;
}

/**
 * Closes a client: QUIT (the commands sent before it are answered first) while Redis answers; at
 * once while it is away. ioredis queues a QUIT behind the commands waiting for a reconnection, which
 * may never come, and the process would not stop until killed.
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

/**
 * The Redis commands of a loop that a stop must not wait on while Redis is away. `command(sent)` is
 * the command's answer, unless the loop is stopping (`stopping(loop)`) while Redis is away or goes away:
 * then it rejects at once, since the command would wait for a reconnection that may never come
 * (ioredis keeps it queued) and the process would not stop. While Redis answers, a stop waits for
 * the commands in hand as before.
 */
export class StopWhileAway {
  private readonly gaveUp = new AbortController();

  constructor(private readonly redis: RedisClient) {}

  /** Whether a stop gave up on the commands in flight. */
  get abandoned(): boolean {
    return this.gaveUp.signal.aborted;
  }

  /** Waits for a stopping loop to end, giving up its commands now if Redis is away, or as soon as it goes away. */
  async stopping(loop: Promise<void> | null | undefined): Promise<void> {
    const giveUp = () => this.gaveUp.abort(new Error('stopped while Redis is away'));
    if (this.redis.status !== 'ready') giveUp();
    else this.redis.once('close', giveUp);
    try {
      await loop;
    } finally {
      this.redis.off('close', giveUp);
    }
  }

  command<T>(sent: Promise<T>): Promise<T> {
    const signal = this.gaveUp.signal;
    return new Promise<T>((resolve, reject) => {
      const abandon = () => reject(signal.reason);
      if (signal.aborted) abandon();
      else signal.addEventListener('abort', abandon, { once: true });
      sent.then(resolve, reject).finally(() => signal.removeEventListener('abort', abandon));
    });
  }
}

/**
 * Pings Redis once with a short timeout and no retries; on a cluster, also that the cluster is
 * whole (`cluster_state:ok`: every slot served). Throws RedisUnreachableError.
 */
export async function checkRedis(target: RedisTarget | string): Promise<void> {
  const t = targetOf(target);
  const client = createRedis(t, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  client.removeAllListeners('error');
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    if (client instanceof Cluster) {
      const info = String(await client.cluster('INFO'));
      if (!/cluster_state:ok/.test(info)) throw new Error(`the cluster is not serving every slot (${/cluster_state:\w+/.exec(info)?.[0] ?? 'no cluster_state'})`);
    }
  } catch (err) {
    throw new RedisUnreachableError(t, err);
  } finally {
    client.disconnect();
  }
}

/** The servers holding keys: the single server, or every master of the cluster. */
function masters(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Deletes every key of the `prefix` install (SCAN, never KEYS: the server keeps answering others),
 * on every master of a cluster: `prefix:…` and the hash-tagged forms `{prefix:…}…` and `{prefix}:…`
 * (redisKeys). One key per DEL: keys of one server may lie in different slots.
 */
export async function dropKeys(redis: RedisClient, prefix: string): Promise<void> {
  for (const node of masters(redis)) {
    for (const pattern of [`${prefix}:*`, `{${prefix}:*`, `{${prefix}}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length) {
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.del(key);
          await pipeline.exec();
        }
        cursor = next;
      } while (cursor !== '0');
    }
  }
}

/**
 * BullMQ's connection for a queue or worker. The single server: options, BullMQ opening and closing
 * connections of its own (workers need maxRetriesPerRequest: null). A cluster: one Cluster client
 * the caller owns, shared by its queues and workers (BullMQ duplicates it for blocking reads) and
 * closed by `close()` after them: BullMQ takes a cluster only as a client.
 */
export function bullmqConnection(target: RedisTarget | string): { connection: ConnectionOptions; close(): Promise<void> } {
  const t = targetOf(target);
  if (!t.clusterNodes) return { connection: { url: t.url, maxRetriesPerRequest: null }, close: async () => {} };
  const cluster = createRedis(t, { maxRetriesPerRequest: null });
  return {
    connection: cluster,
    close: () => closeRedis(cluster),
  };
}

/**
 * Whether the Redis a BullMQ worker or queue works through answers now: its client connected and
 * ready. One that has not connected (its client still a pending promise) does not.
 */
async function answering(owner: { getBackend(): { client: Promise<{ status: string }> } }): Promise<boolean> {
  return Promise.race([owner.getBackend().client.then((c) => c.status === 'ready', () => false), sleep(50).then(() => false)]);
}

/**
 * Closes a BullMQ worker: while Redis answers, the job it runs finishes first; while Redis is away,
 * at once. BullMQ's own graceful close would then wait for a reconnection that may never come
 * (taskforcesh/bullmq#4656: the process hangs until killed), and the job could not finish without
 * Redis anyway: its lock lapses and it is taken again, as stalled, once Redis is back.
 */
export async function closeWorker(worker: Worker): Promise<void> {
  await worker.close(!(await answering(worker)));
}
