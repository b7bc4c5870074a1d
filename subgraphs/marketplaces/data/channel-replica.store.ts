import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import type { ChannelSnapshot } from '../../../contracts/events.js';
import { MARKETPLACE_KINDS, type MarketplaceKind } from '../connectors/types.js';
import type { ChannelBuffer } from '../domain/problem-rules.js';

/** A channel as this subgraph knows it (from the channels subgraph's events). */
export interface ReplicaChannel {
  id: string;
  code: string;
  type: string;
  marketplace: MarketplaceKind | null;
  status: 'ACTIVE' | 'PAUSED' | 'ARCHIVED';
  priority: number;
}

const channelRow = z.object({
  channel_id: z.string(),
  code: z.string(),
  type: z.string(),
  marketplace: z.enum(MARKETPLACE_KINDS).nullable(),
  status: z.enum(['ACTIVE', 'PAUSED', 'ARCHIVED']),
  priority: z.coerce.number(),
});
const sourceRow = z.object({ channel_id: z.string(), location_id: z.string() });
/** As channel snapshots carry it (JSON of contracts/events.ts channelSnapshotSchema `buffer`). */
const bufferSchema = z.object({ kind: z.enum(['UNITS', 'PERCENT']), value: z.number().int().nonnegative() }).nullable();

const SELECT_CHANNELS = 'SELECT channel_id, code, type, marketplace, status, priority FROM marketplace_channels';
const toChannels = (rows: unknown[]): ReplicaChannel[] =>
  rows.map((raw) => {
    const r = channelRow.parse(raw);
    return { id: r.channel_id, code: r.code, type: r.type, marketplace: r.marketplace, status: r.status, priority: r.priority };
  });

/** SQL of the channel replica (marketplace_channels, marketplace_channel_sources). */
export const channelReplicaStore = {
  /**
   * Applies a snapshot unless the replica holds the same or a newer version of the channel.
   * @returns whether it was applied
   */
  async apply(tx: EntityManager, s: Required<ChannelSnapshot>, at: Date): Promise<boolean> {
    const [current] = (await tx.query('SELECT version FROM marketplace_channels WHERE channel_id = ? FOR UPDATE', [s.id])) as { version: string }[];
    if (current && Number(current.version) >= s.version) return false;
    await tx.query(
      `INSERT INTO marketplace_channels (channel_id, code, type, marketplace, status, priority, buffer, version, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE code = VALUES(code), type = VALUES(type), marketplace = VALUES(marketplace), status = VALUES(status),
         priority = VALUES(priority), buffer = VALUES(buffer), version = VALUES(version), updated_at = VALUES(updated_at)`,
      [s.id, s.code, s.type, s.marketplace, s.status, s.priority, JSON.stringify(s.buffer), s.version, at],
    );
    await tx.query('DELETE FROM marketplace_channel_sources WHERE channel_id = ?', [s.id]);
    if (s.sources.length) {
      await tx.query(
        `INSERT INTO marketplace_channel_sources (channel_id, location_id, priority) VALUES ${s.sources.map(() => '(?, ?, ?)').join(', ')}`,
        s.sources.flatMap((src) => [s.id, src.locationId, src.priority]),
      );
    }
    return true;
  },

  async byIds(tx: EntityManager, ids: readonly string[]): Promise<ReplicaChannel[]> {
    if (!ids.length) return [];
    return toChannels(await tx.query(`${SELECT_CHANNELS} WHERE channel_id IN (?)`, [ids]));
  },

  /**
   * The channel's buffer: null for none; undefined while the replica does not know it (a channel
   * replicated before it held buffers, until its next snapshot).
   */
  async bufferOf(tx: EntityManager, channelId: string): Promise<ChannelBuffer> {
    const [row] = (await tx.query('SELECT buffer FROM marketplace_channels WHERE channel_id = ?', [channelId])) as { buffer: string | null }[];
    if (!row?.buffer) return undefined;
    const parsed = bufferSchema.safeParse(JSON.parse(row.buffer));
    return parsed.success ? parsed.data : undefined;
  },

  async byCode(tx: EntityManager, code: string): Promise<ReplicaChannel | undefined> {
    return toChannels(await tx.query(`${SELECT_CHANNELS} WHERE code = ?`, [code]))[0];
  },

  /** The source locations of these channels, in serving order. */
  async sourcesOf(tx: EntityManager, ids: readonly string[]): Promise<{ channelId: string; locationId: string }[]> {
    if (!ids.length) return [];
    const rows = (await tx.query('SELECT channel_id, location_id FROM marketplace_channel_sources WHERE channel_id IN (?) ORDER BY channel_id, priority, location_id', [ids])) as unknown[];
    return rows.map((raw) => {
      const r = sourceRow.parse(raw);
      return { channelId: r.channel_id, locationId: r.location_id };
    });
  },
};
