import type { DataSource } from 'typeorm';
import { writeTransaction } from '../../../lib/db.js';
import { channelSnapshotSchema, locationSnapshotSchema, setAsideSnapshotSchema, TOPICS } from '../../../contracts/events.js';
import { replicaStore, type ChannelRule } from '../data/replica.store.js';

/** How long a process keeps a channel rule it read (see ReplicaService.channelRule). */
export const RULE_CACHE_MS = 1000;

/**
 * Keeps inventory's copies of channel rules and location states, fed by the channels and
 * locations subgraphs' events. Reservations read them without calling another service.
 */
export class ReplicaService {
  constructor(private readonly ds: DataSource) {}

  private readonly rules = new Map<string, { rule: ChannelRule; until: number }>();

  /**
   * A channel's rule as the replica holds it, kept for RULE_CACHE_MS: reservations and availability
   * read it on every request, and the replica itself trails the channels subgraph anyway.
   */
  async channelRule(channelId: string): Promise<ChannelRule | null> {
    const now = Date.now();
    const cached = this.rules.get(channelId);
    if (cached && cached.until > now) return cached.rule;
    const rule = await replicaStore.channelRule(this.ds.manager, channelId);
    // Unknown channels are not remembered: one may arrive with the next event.
    if (rule) this.rules.set(channelId, { rule, until: now + RULE_CACHE_MS });
    return rule;
  }

  private anySetAside: { value: boolean; until: number } | null = null;

  /**
   * Per SKU, the units other channels sharing a source with this one set aside (replicaStore.heldForOthers).
   * While the replica holds none at all (checked at most every RULE_CACHE_MS), no query is made.
   */
  async heldForOthers(channelId: string, skus: readonly string[]): Promise<Map<string, number>> {
    const now = Date.now();
    if (!this.anySetAside || this.anySetAside.until <= now) {
      this.anySetAside = { value: await replicaStore.anySetAside(this.ds.manager), until: now + RULE_CACHE_MS };
    }
    if (!this.anySetAside.value || !skus.length) return new Map();
    return replicaStore.heldForOthers(this.ds.manager, channelId, skus);
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
    if (topic === TOPICS.channel) {
      const snapshot = channelSnapshotSchema.parse(payload);
      this.rules.delete(snapshot.id);
      return writeTransaction(this.ds, (tx) => replicaStore.applyChannel(tx, snapshot, at));
    }
    if (topic === TOPICS.setAside) {
      const snapshot = setAsideSnapshotSchema.parse(payload);
      this.anySetAside = null;
      return writeTransaction(this.ds, (tx) => replicaStore.applySetAside(tx, snapshot, at));
    }
    if (topic === TOPICS.location) {
      const snapshot = locationSnapshotSchema.parse(payload);
      return writeTransaction(this.ds, (tx) => replicaStore.applyLocation(tx, snapshot, at));
    }
    return false;
  }
}
