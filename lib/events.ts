import { z } from 'zod';

/**
 * Payloads of the events subgraphs exchange through the outbox, parsed with these schemas where
 * they are consumed. Snapshots carry the whole state and a version, so a consumer applies one only
 * when it is newer than what it holds: duplicates and reordering are harmless.
 */

export const TOPICS = { stock: 'stock', channel: 'channel', location: 'location' } as const;

export const locationSnapshotSchema = z.object({
  id: z.string(),
  status: z.enum(['ACTIVE', 'OFFLINE', 'CLOSED']),
  ships: z.boolean(),
  pickup: z.boolean(),
  version: z.number().int().nonnegative(),
});
export type LocationSnapshot = z.infer<typeof locationSnapshotSchema>;

export const channelSnapshotSchema = z.object({
  id: z.string(),
  status: z.enum(['ACTIVE', 'PAUSED', 'ARCHIVED']),
  buffer: z.object({ kind: z.enum(['UNITS', 'PERCENT']), value: z.number().int().nonnegative() }).nullable(),
  cap: z.number().int().nonnegative().nullable(),
  allowSplitShipments: z.boolean(),
  sources: z.array(z.object({ locationId: z.string(), priority: z.number().int() })),
  version: z.number().int().nonnegative(),
});
export type ChannelSnapshot = z.infer<typeof channelSnapshotSchema>;

const quantities = z.object({
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
  incoming: z.number().int(),
  damaged: z.number().int(),
  qualityControl: z.number().int(),
  safetyStock: z.number().int(),
});
export type StockQuantities = z.infer<typeof quantities>;

/** One stock level changed; `version` is the level's version after the change. */
export const stockChangedSchema = z.object({
  sku: z.string(),
  locationId: z.string(),
  /** Movement type, or RESERVE / RELEASE / EXPIRE for reservation changes. */
  change: z.string(),
  before: quantities,
  after: quantities,
  version: z.number().int(),
  at: z.string(),
});
export type StockChanged = z.infer<typeof stockChangedSchema>;

/**
 * Redis names of the event transport. The relay appends every outbox row to its topic's stream
 * (history: consumer groups read it, and it is trimmed to the outbox retention) and publishes it on
 * the topic's live channel (subscribers that only want what happens from now on). The prefix,
 * REDIS_KEY_PREFIX, keeps tests and several installations apart on one Redis.
 */
export const eventKeys = {
  stream: (prefix: string, topic: string) => `${prefix}:events:${topic}`,
  live: (prefix: string, topic: string) => `${prefix}:live:${topic}`,
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
