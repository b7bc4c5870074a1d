import type { DataSource } from 'typeorm';
import { ChannelService } from '../subgraphs/channels/services/channel.service.js';
import { SetAsideService } from '../subgraphs/channels/services/set-aside.service.js';
import { ReplicaService } from '../subgraphs/inventory/services/replica.service.js';
import { LocationService } from '../subgraphs/locations/services/location.service.js';

/** Has the channels subgraph append a snapshot event of every channel (marketplaces' replica). */
export function republishChannels(channels: DataSource): Promise<number> {
  return new ChannelService(channels).republishAll();
}

/**
 * Has the channels and locations subgraphs append a snapshot event of every channel, set-aside and
 * location to their outboxes: the relays publish them, and a replica that is empty or missed events
 * catches up. Stale snapshots are harmless, since the replica keeps the highest version it has seen.
 */
export async function republishReplicaSources(sources: {
  channels: DataSource;
  locations: DataSource;
}): Promise<{ channels: number; setAsides: number; locations: number }> {
  const [channels, setAsides, locations] = await Promise.all([
    new ChannelService(sources.channels).republishAll(),
    new SetAsideService(sources.channels).republishAll(),
    new LocationService(sources.locations).republishAll(),
  ]);
  return { channels, setAsides, locations };
}

/**
 * Has the locations subgraph append every location's snapshot again when inventory's replica holds
 * one without a name (replicated before names were carried; it answers its code meanwhile).
 * @returns how many snapshots were appended
 */
export async function fillReplicaLocationNames(sources: { inventory: DataSource; locations: DataSource }): Promise<number> {
  if (!(await new ReplicaService(sources.inventory).hasUnnamedLocations())) return 0;
  return new LocationService(sources.locations).republishAll();
}
