import { z } from 'zod';
import { clusterKeyLayout, slotTag } from './redis-keys.js';

/**
 * Redis names of the event transport. The relay appends every outbox row to its topic's stream
 * (history: consumer groups read it, and it is trimmed to the outbox retention) and publishes it on
 * the topic's live channel (subscribers that only want what happens from now on). The prefix,
 * REDIS_KEY_PREFIX, keeps tests and several installations apart on one Redis.
 */
export const eventKeys = {
  /** `{prefix:events}:<topic>` on a Redis Cluster: the streams and drained times share one slot (redis-keys.ts). */
  stream: (prefix: string, topic: string) => `${slotTag(`${prefix}:events`)}:${topic}`,
  live: (prefix: string, topic: string) => `${prefix}:live:${topic}`,
  /**
   * When the active relay of `source` last found its outbox drained (epoch ms, as text): every
   * event committed before then is in its stream. Readers that must not fall behind commits
   * (inventory's availability read model) go by it; absent while no relay runs.
   */
  drained: (prefix: string, source: string) =>
    clusterKeyLayout() ? `${slotTag(`${prefix}:events`)}:relay:${source}:drained` : `${prefix}:relay:${source}:drained`,
  /** Pub/sub channel on which writers tell `source`'s relay that they committed outbox rows (lib/outbox.ts). */
  nudge: (prefix: string, source: string) => `${prefix}:relay:${source}:nudge`,
};

const jsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

/**
 * The fields of a stream entry as the relay writes them. `source` is the emitting subgraph and
 * `seq` its outbox sequence: together they identify an event, so consumers de-duplicate by them.
 */
export const streamEntrySchema = z.object({
  source: z.string().min(1),
  seq: z.coerce.number().int().positive(),
  key: z.string(),
  payload: jsonText,
});
export type StreamEntry = z.infer<typeof streamEntrySchema>;

/** Parses a stream entry as Redis returns it, a flat [field, value, field, value, ...] list. */
export function parseStreamEntry(fields: readonly string[]) {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) object[fields[i]!] = fields[i + 1]!;
  return streamEntrySchema.safeParse(object);
}

/**
 * A Redis stream id (`<ms>-<n>`) in a fixed-width form that sorts as text in the order of the
 * stream, for SQL columns (the pair does not fit a double). Zero-padded: 15 + 1 + 10 characters.
 */
export function sortableStreamId(id: string): string {
  const [ms = '0', n = '0'] = id.split('-');
  return `${ms.padStart(15, '0')}-${n.padStart(10, '0')}`;
}

/** The stream id a sortableStreamId came from. */
export function streamIdOfSortable(sortable: string): string {
  const [ms = '0', n = '0'] = sortable.split('-');
  return `${BigInt(ms)}-${BigInt(n)}`;
}
