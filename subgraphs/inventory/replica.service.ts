import type { DataSource } from 'typeorm';
import { writeTransaction } from '../../lib/db.js';
import { channelSnapshotSchema, locationSnapshotSchema, TOPICS } from '../../lib/events.js';
import { replicaStore } from './replica.store.js';

/**
 * Keeps inventory's copies of channel rules and location states, fed by the channels and
 * locations subgraphs' events. Reservations read them without calling another service.
 */
export class ReplicaService {
  constructor(private readonly ds: DataSource) {}

  /**
   * Applies one event from the `channel` or `location` topic; older or repeated versions are ignored.
   * @returns true when the replica changed
   * @throws ZodError when the payload is not a snapshot of that topic
   */
  async apply(topic: string, payload: unknown): Promise<boolean> {
    const at = new Date();
    if (topic === TOPICS.channel) {
      const snapshot = channelSnapshotSchema.parse(payload);
      return writeTransaction(this.ds, (tx) => replicaStore.applyChannel(tx, snapshot, at));
    }
    if (topic === TOPICS.location) {
      const snapshot = locationSnapshotSchema.parse(payload);
      return writeTransaction(this.ds, (tx) => replicaStore.applyLocation(tx, snapshot, at));
    }
    return false;
  }
}
