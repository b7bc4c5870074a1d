import { config } from './config.js';

/**
 * How Redis keys are laid out. On a Redis Cluster (REDIS_CLUSTER_NODES set) a key's slot is the hash
 * of its hash tag, the part between its first `{` and `}`, and every multi-key command, MULTI,
 * pipeline, XREAD over several streams and Lua script may touch keys of one slot only. So the keys
 * used together carry one tag (README, "Redis Cluster"):
 * - `{<prefix>:events}`: every topic's stream and the relays' drained times (the relay's MULTI, the
 *   read model's XREAD of two streams, a consumer group's XREADGROUP of several);
 * - `{<prefix>:demand}`: every demand counter (one MULTI and one MGET span SKUs);
 * - `{<prefix>:availability:<channel>}`: a channel's availability snapshots (saved and read per channel);
 * - `{<prefix>}`: BullMQ's prefix (BullMQ's scripts touch many keys of one queue).
 * Single-key scripts (rate limits, token buckets) need no tag. On a single server the same names
 * lose their braces: keys stay exactly as they were before clusters were supported, so an existing
 * install's streams, consumer groups and queued jobs are found where they are.
 */
let forced: boolean | undefined;

/** Whether keys carry hash tags: REDIS_CLUSTER_NODES is set. */
export function clusterKeyLayout(): boolean {
  return forced ?? config().REDIS_CLUSTER_NODES !== undefined;
}

/**
 * For the test that checks the layout: lays keys out for a cluster (true) or a single server
 * (false) whatever this process's configuration says; undefined goes back to the configuration.
 */
export function forceClusterKeyLayout(cluster: boolean | undefined): void {
  forced = cluster;
}

/** `head` as the hash tag of the keys that begin with it (`{head}`) on a cluster; `head` as it is on a single server. */
export function slotTag(head: string): string {
  return clusterKeyLayout() ? `{${head}}` : head;
}

/** BullMQ's key prefix for REDIS_KEY_PREFIX: `{prefix}` on a cluster (BullMQ's own requirement), else the prefix. */
export function bullmqPrefix(prefix: string): string {
  return slotTag(prefix);
}
