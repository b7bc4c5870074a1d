import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import type { ChannelSnapshot, LocationSnapshot, SetAsideSnapshot } from '../../../contracts/events.js';
import type { ChannelRule, ReplicaSource } from '../domain/stock.js';


export type { ChannelRule, ReplicaSource };

const ruleRow = z.object({
  channel_id: z.string(),
  status: z.enum(['ACTIVE', 'PAUSED', 'ARCHIVED']),
  buffer_kind: z.enum(['UNITS', 'PERCENT']).nullable(),
  buffer_value: z.number().nullable(),
  cap: z.number().nullable(),
  allow_split_shipments: z.coerce.boolean(),
  protection: z.enum(['OFF', 'PROTECTIVE']),
  location_id: z.string().nullable(),
  priority: z.number().nullable(),
  location_status: z.enum(['ACTIVE', 'OFFLINE', 'CLOSED']).nullable(),
  pickup: z.coerce.boolean().nullable(),
});

const codeRow = z.object({ location_id: z.string(), code: z.string() });
const nameRow = z.object({ location_id: z.string(), name: z.string() });

const locationRow = z.object({
  location_id: z.string(),
  status: z.enum(['ACTIVE', 'OFFLINE', 'CLOSED']),
  ships: z.coerce.boolean(),
  pickup: z.coerce.boolean(),
});

/** SQL of inventory's replicas of channel rules and location states. */
export const replicaStore = {
  /** Applies a channel snapshot unless the replica already holds this version or a newer one; true when applied. */
  async applyChannel(tx: EntityManager, s: ChannelSnapshot, at: Date): Promise<boolean> {
    const [current] = await tx.query('SELECT version FROM replica_channels WHERE channel_id = ? FOR UPDATE', [s.id]);
    if (current && Number(current.version) >= s.version) return false;
    await tx.query(
      `INSERT INTO replica_channels (channel_id, status, buffer_kind, buffer_value, cap, allow_split_shipments, protection, version, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE status = VALUES(status), buffer_kind = VALUES(buffer_kind), buffer_value = VALUES(buffer_value),
         cap = VALUES(cap), allow_split_shipments = VALUES(allow_split_shipments), protection = VALUES(protection),
         version = VALUES(version), updated_at = VALUES(updated_at)`,
      [s.id, s.status, s.buffer?.kind ?? null, s.buffer?.value ?? null, s.cap, s.allowSplitShipments, s.protection, s.version, at],
    );
    await tx.query('DELETE FROM replica_channel_sources WHERE channel_id = ?', [s.id]);
    if (s.sources.length) {
      await tx.query('INSERT INTO replica_channel_sources (channel_id, location_id, priority) VALUES ?', [
        s.sources.map((src) => [s.id, src.locationId.toLowerCase(), src.priority]),
      ]);
    }
    return true;
  },

  /**
   * Applies a location snapshot unless the replica already holds this version or a newer one; true
   * when applied. The version the replica holds fills in only a name it lacks (a row replicated
   * before names were carried).
   */
  async applyLocation(tx: EntityManager, s: LocationSnapshot, at: Date): Promise<boolean> {
    const [current] = await tx.query('SELECT version, name FROM replica_locations WHERE location_id = ? FOR UPDATE', [s.id]);
    if (current && Number(current.version) >= s.version) {
      if (current.name === null && s.name !== undefined && Number(current.version) === s.version) {
        await tx.query('UPDATE replica_locations SET name = ? WHERE location_id = ?', [s.name, s.id.toLowerCase()]);
      }
      return false;
    }
    await tx.query(
      `INSERT INTO replica_locations (location_id, code, name, status, ships, pickup, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE code = COALESCE(VALUES(code), code), name = COALESCE(VALUES(name), name), status = VALUES(status),
         ships = VALUES(ships), pickup = VALUES(pickup), version = VALUES(version), updated_at = VALUES(updated_at)`,
      [s.id.toLowerCase(), s.code ?? null, s.name ?? null, s.status, s.ships, s.pickup, s.version, at],
    );
    return true;
  },

  /**
   * Names by id of the given locations the replica holds. A row replicated before names were carried
   * answers its code (else its id) until its snapshot comes again (see anyLocationWithoutName).
   */
  async namesOf(tx: EntityManager, ids: readonly string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const rows: unknown[] = await tx.query('SELECT location_id, COALESCE(name, code, location_id) AS name FROM replica_locations WHERE location_id IN (?)', [ids]);
    return new Map(rows.map((r) => nameRow.parse(r)).map((r) => [r.location_id, r.name]));
  },

  /** Whether any location in the replica has no name yet (replicated before names were carried). */
  async anyLocationWithoutName(tx: EntityManager): Promise<boolean> {
    const rows: unknown[] = await tx.query('SELECT 1 FROM replica_locations WHERE name IS NULL LIMIT 1');
    return rows.length > 0;
  },

  /** Applies a set-aside snapshot unless the replica already holds this version or a newer one; true when applied. */
  async applySetAside(tx: EntityManager, s: SetAsideSnapshot, at: Date): Promise<boolean> {
    const [current] = await tx.query('SELECT version FROM replica_set_asides WHERE channel_id = ? AND sku = ? FOR UPDATE', [s.channelId, s.sku]);
    if (current && Number(current.version) >= s.version) return false;
    await tx.query(
      `INSERT INTO replica_set_asides (channel_id, sku, units, version, updated_at) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE units = VALUES(units), version = VALUES(version), updated_at = VALUES(updated_at)`,
      [s.channelId, s.sku, s.units, s.version, at],
    );
    return true;
  },

  /**
   * Per SKU, the units other ACTIVE channels set aside that share at least one source with this
   * channel: the channel may not take the SKU's last that many. SKUs without any are left out.
   */
  async heldForOthers(tx: EntityManager, channelId: string, skus: readonly string[]): Promise<Map<string, number>> {
    if (!skus.length) return new Map();
    const rows: { sku: string; units: string | number }[] = await tx.query(
      `SELECT a.sku, SUM(a.units) AS units
         FROM replica_set_asides a
         JOIN replica_channels c ON c.channel_id = a.channel_id AND c.status = 'ACTIVE'
        WHERE a.sku IN (?) AND a.units > 0 AND a.channel_id <> ?
          AND EXISTS (SELECT 1 FROM replica_channel_sources theirs
                        JOIN replica_channel_sources ours ON ours.location_id = theirs.location_id AND ours.channel_id = ?
                       WHERE theirs.channel_id = a.channel_id)
        GROUP BY a.sku`,
      [skus, channelId, channelId],
    );
    return new Map(rows.map((r) => [r.sku, Number(r.units)]));
  },

  /** Whether any set-aside above 0 is held at all (reads skip the query above when none is). */
  async anySetAside(tx: EntityManager): Promise<boolean> {
    const rows: unknown[] = await tx.query('SELECT 1 FROM replica_set_asides WHERE units > 0 LIMIT 1');
    return rows.length > 0;
  },

  /** Location codes by id, for the locations the replica has a code of. */
  async codesOf(tx: EntityManager, ids: readonly string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const rows: unknown[] = await tx.query('SELECT location_id, code FROM replica_locations WHERE location_id IN (?) AND code IS NOT NULL', [ids]);
    return new Map(rows.map((r) => codeRow.parse(r)).map((r) => [r.location_id, r.code]));
  },

  /** A channel's rule with its sources in serving order (priority, then location id); null when unknown. */
  async channelRule(tx: EntityManager, channelId: string): Promise<ChannelRule | null> {
    const rows: unknown[] = await tx.query(
      `SELECT c.channel_id, c.status, c.buffer_kind, c.buffer_value, c.cap, c.allow_split_shipments, c.protection,
              s.location_id, s.priority, l.status AS location_status, l.pickup
         FROM replica_channels c
         LEFT JOIN replica_channel_sources s ON s.channel_id = c.channel_id
         LEFT JOIN replica_locations l ON l.location_id = s.location_id
        WHERE c.channel_id = ?
        ORDER BY s.priority, s.location_id`,
      [channelId],
    );
    if (!rows.length) return null;
    const parsed = rows.map((r) => ruleRow.parse(r));
    const first = parsed[0]!;
    return {
      channelId: first.channel_id,
      status: first.status,
      buffer: first.buffer_kind && first.buffer_value !== null ? { kind: first.buffer_kind, value: first.buffer_value } : null,
      cap: first.cap,
      allowSplitShipments: first.allow_split_shipments,
      protection: first.protection,
      sources: parsed
        .filter((r) => r.location_id !== null)
        .map((r) => ({ locationId: r.location_id!, priority: r.priority!, status: r.location_status, pickup: r.pickup ?? false })),
    };
  },

  /** Every location that is ACTIVE and ships, by id. */
  async shippingLocations(tx: EntityManager): Promise<string[]> {
    const rows: { location_id: string }[] = await tx.query("SELECT location_id FROM replica_locations WHERE status = 'ACTIVE' AND ships ORDER BY location_id");
    return rows.map((r) => r.location_id);
  },

  async locations(tx: EntityManager, ids: readonly string[]): Promise<z.infer<typeof locationRow>[]> {
    if (!ids.length) return [];
    const rows: unknown[] = await tx.query('SELECT location_id, status, ships, pickup FROM replica_locations WHERE location_id IN (?)', [ids]);
    return rows.map((r) => locationRow.parse(r));
  },
};
