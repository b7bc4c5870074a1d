import type { DataSource, EntityManager } from 'typeorm';
import { isDatabaseUnavailable, writeTransaction } from '../../../lib/db.js';
import { AVAILABILITY_RULE_SETTLE_MS, channelSnapshotSchema, locationSnapshotSchema, setAsideSnapshotSchema, TOPICS, type AvailabilityRuleChanged } from '../../../contracts/events.js';
import { outboxStore } from '../../../lib/outbox.js';
import { replicaStore, type ChannelRule } from '../data/replica.store.js';

/** How long a process keeps a channel rule it read (see ReplicaService.channelRule): what availability-rule events promise. */
export const RULE_CACHE_MS = AVAILABILITY_RULE_SETTLE_MS;

/**
 * Keeps inventory's copies of channel rules and location states, fed by the channels and
 * locations subgraphs' events. Reservations read them without calling another service.
 */
export class ReplicaService {
  constructor(private readonly ds: DataSource) {}

  private readonly rules = new Map<string, { rule: ChannelRule; until: number }>();

  /**
   * A channel's rule as the replica holds it, kept for RULE_CACHE_MS: reservations and availability
   * read it on every request, and the replica itself trails the channels subgraph anyway. `fresh`
   * reads it again (a read-your-writes read answered by MySQL).
   */
  async channelRule(channelId: string, fresh = false): Promise<ChannelRule | null> {
    const now = Date.now();
    const cached = this.rules.get(channelId);
    if (cached && cached.until > now && !fresh) return cached.rule;
    const rule = await replicaStore.channelRule(this.ds.manager, channelId);
    // Unknown channels are not remembered: one may arrive with the next event.
    if (rule) this.rules.set(channelId, { rule, until: now + RULE_CACHE_MS });
    return rule;
  }

  private anySetAside: { value: boolean; until: number } | null = null;

  /**
   * Per SKU, the units other channels sharing a source with this one set aside (replicaStore.heldForOthers).
   * While the replica holds none at all (checked at most every RULE_CACHE_MS, unless `fresh`), no query is made.
   */
  async heldForOthers(channelId: string, skus: readonly string[], fresh = false): Promise<Map<string, number>> {
    const now = Date.now();
    if (!this.anySetAside || this.anySetAside.until <= now || fresh) {
      this.anySetAside = { value: await replicaStore.anySetAside(this.ds.manager), until: now + RULE_CACHE_MS };
    }
    if (!this.anySetAside.value || !skus.length) return new Map();
    return replicaStore.heldForOthers(this.ds.manager, channelId, skus);
  }

  private readonly names = new Map<string, { name: string | null; until: number }>();
  /** Bumped whenever a name read again is not the one kept: what was written from kept names stands while it is unchanged. */
  private namesEpoch = 0;
  /** Until when every kept name stands (the first of them to be read again). */
  private namesFreshUntil = 0;

  /**
   * Location names in the order asked (null for a location the replica does not hold), each kept
   * RULE_CACHE_MS: every storefront read names the same few locations. Kept names are read again
   * together: once one is past RULE_CACHE_MS, every kept one that is goes in the same query. While
   * MySQL cannot be read, the names read before answer (as availability's last-known figures do).
   * @throws the database's error when it cannot be read and a name was never read
   */
  async locationNames(ids: readonly string[]): Promise<(string | null)[]> {
    const now = Date.now();
    const missing = new Set(ids.filter((id) => !((this.names.get(id)?.until ?? 0) > now)));
    if (this.namesFreshUntil <= now) for (const [id, kept] of this.names) if (kept.until <= now) missing.add(id);
    if (missing.size) {
      try {
        const found = await replicaStore.namesOf(this.ds.manager, [...missing]);
        for (const id of missing) {
          const name = found.get(id) ?? null;
          const kept = this.names.get(id);
          if (kept && kept.name !== name) this.namesEpoch++;
          this.names.set(id, { name, until: now + RULE_CACHE_MS });
        }
        let freshUntil = Number.POSITIVE_INFINITY;
        for (const kept of this.names.values()) if (kept.until < freshUntil) freshUntil = kept.until;
        this.namesFreshUntil = freshUntil;
      } catch (err) {
        if (!isDatabaseUnavailable(err) || ids.some((id) => !this.names.has(id))) throw err;
      }
    }
    return ids.map((id) => this.names.get(id)!.name);
  }

  /** Reads again every kept name past RULE_CACHE_MS (one query); nothing when none is. */
  async refreshLocationNames(): Promise<void> {
    if (this.namesFreshUntil <= Date.now() && this.names.size) await this.locationNames([]);
  }

  /**
   * The names of `ids` when every one is kept and no kept name is past RULE_CACHE_MS (the common
   * case: a storefront names the same few locations), with no I/O and no promise; otherwise null.
   */
  cachedLocationNames(ids: readonly string[]): (string | null)[] | null {
    if (this.namesFreshUntil <= Date.now()) return null;
    const names: (string | null)[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const kept = this.names.get(ids[i]!);
      if (!kept) return null;
      names[i] = kept.name;
    }
    return names;
  }

  /**
   * What JSON written from the kept names of `ids` is written against (an epoch: it stands while
   * namesStanding() says the same), when every one is kept and none past RULE_CACHE_MS, as
   * cachedLocationNames; otherwise null. A name is only read again, and so changed, once past
   * that time, and any change moves the epoch.
   */
  namesEpochOf(ids: readonly string[]): number | null {
    const standing = this.namesStanding();
    return standing !== null && ids.every((id) => this.names.has(id)) ? standing : null;
  }

  /** The epoch every kept name stands at, while none is past RULE_CACHE_MS; null once one is (until they are read again). */
  namesStanding(): number | null {
    return this.namesFreshUntil > Date.now() ? this.namesEpoch : null;
  }

  /** Whether a location in the replica has no name yet (replicated before names were carried). */
  hasUnnamedLocations(): Promise<boolean> {
    return replicaStore.anyLocationWithoutName(this.ds.manager);
  }

  /** Every location that is ACTIVE and ships, as the replica holds them. */
  shippingLocations(): Promise<string[]> {
    return replicaStore.shippingLocations(this.ds.manager);
  }

  /**
   * Applies one event from the `channel` or `location` topic; older or repeated versions are ignored.
   * @returns true when the replica changed
   * @throws ZodError when the payload is not a snapshot of that topic
   */
  async apply(topic: string, payload: unknown): Promise<boolean> {
    const at = new Date();
    // What was applied is announced in the same transaction (availability-rule): whoever reads
    // available-to-sell after that event reads it with the change.
    const announced = (tx: EntityManager, applied: boolean, key: string, change: AvailabilityRuleChanged) =>
      applied ? outboxStore.append(tx, [{ topic: TOPICS.availabilityRule, key, payload: change }]).then(() => true) : false;
    if (topic === TOPICS.channel) {
      const s = channelSnapshotSchema.parse(payload);
      this.rules.delete(s.id);
      return writeTransaction(this.ds, async (tx) => announced(tx, await replicaStore.applyChannel(tx, s, at), s.id, { kind: 'CHANNEL', channelId: s.id, version: s.version }));
    }
    if (topic === TOPICS.setAside) {
      const s = setAsideSnapshotSchema.parse(payload);
      this.anySetAside = null;
      return writeTransaction(this.ds, async (tx) =>
        announced(tx, await replicaStore.applySetAside(tx, s, at), s.channelId, { kind: 'SET_ASIDE', channelId: s.channelId, sku: s.sku, version: s.version }),
      );
    }
    if (topic === TOPICS.location) {
      const s = locationSnapshotSchema.parse(payload);
      return writeTransaction(this.ds, async (tx) => announced(tx, await replicaStore.applyLocation(tx, s, at), s.id, { kind: 'LOCATION', locationId: s.id.toLowerCase(), version: s.version }));
    }
    return false;
  }
}
