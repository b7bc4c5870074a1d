import type { DemandEntry, DemandMeter } from '../../../contracts/demand-meter.js';
import type { Logger } from 'pino';
import { AVAILABILITY_RULE_SETTLE_MS, availabilityRuleSchema, channelSnapshotSchema, stockChangedSchema, TOPICS } from '../../../contracts/events.js';
import { sortableStreamId } from '../../../lib/event-stream.js';
import type { TopicEntry } from '../../../lib/stream-consumer.js';
import type { MarketplaceService, ResolvedConnection } from '../services/marketplace.service.js';
import type { MarketplaceQueues, PushRequest } from '../services/queues.js';
import { demandUnits, isDemandChange, isUrgentPush } from '../domain/push-rules.js';
import type { Catalogue } from '../domain/listing-rules.js';

/** The topics the marketplace sync consumes. */
export const CHANGE_FEED_TOPICS = [TOPICS.stock, TOPICS.channel, TOPICS.availabilityRule];

export interface ChangeFeedDeps {
  service: MarketplaceService;
  queues: MarketplaceQueues;
  /** The marketplace channels fed by a location (current connections, refreshed by the supervisor). */
  connectionsAt: (locationId: string) => readonly ResolvedConnection[];
  isConnected: (channelId: string) => boolean;
  /** The source locations of a channel, as the channel replica holds them. */
  sourcesOf: (channelId: string) => Promise<readonly string[]>;
  /** Of these SKUs, those the channel lists (ListingService.listedAs): a change of any other is not pushed to it. */
  listedAs: (channelId: string, skus: readonly string[], catalogue: Catalogue) => Promise<ReadonlyMap<string, string>>;
  /** Counts each SKU's demand, and how late sales were reported, for protective available-to-sell. */
  demand: DemandMeter;
  log: Logger;
}

/** A push request with what the feed decides its urgency from. */
type FeedRequest = PushRequest & { connection: ResolvedConnection; delta: number; demand: boolean };

/**
 * Turns stock events into push jobs: a change of `available` at a location queues the SKU for every
 * ACTIVE marketplace channel that location feeds and that lists the SKU (domain/listing-rules.ts
 * listedAs: a LISTED channel lists its listed SKUs only), one job per (channel, SKU) however many events a
 * read brings. The pending marks are written first and the jobs queued before the entries are
 * acknowledged, so a crash in between redelivers them (the jobs are deduplicated). A channel event
 * updates the channel replica (versioned: a redelivered or older one changes nothing). Inventory
 * applies the same events to its own replica on its own time, so its availability-rule event,
 * written once it has, queues the pushes that must read the change: a settled resync of the channel
 * (a rule or status: the channel event queues the same one, so whichever comes second folds into
 * it) or of every connected channel a location feeds (its state), or the SKU on every connected
 * channel sharing a source with a channel that set units of it aside.
 *
 * Urgent (ahead of the queue, no coalescing delay: domain/push-rules.ts) is a sale anywhere that
 * lowers what the channel may show, or a change to or from zero. The channel's own available-to-sell
 * is only known when the push reads it; what the marketplace was last told is known here.
 */
export function changeFeedHandler(deps: ChangeFeedDeps) {
  return async (entries: TopicEntry[]): Promise<string[]> => {
    const requests = new Map<string, FeedRequest>();
    const demanded: DemandEntry[] = [];
    const settled = new Set<string>();
    /** Wants the SKU pushed to the connection's channel (when ACTIVE), one request per (channel, SKU) for the whole read. */
    const want = (connection: ResolvedConnection, sku: string, seq: string, change: { delta?: number; demand?: boolean; settleMs?: number }) => {
      if (connection.channelStatus !== 'ACTIVE') return;
      const key = `${connection.channelId}\n${sku}`;
      const known = requests.get(key);
      const settleMs = Math.max(known?.settleMs ?? 0, change.settleMs ?? 0);
      requests.set(key, {
        connection,
        channelId: connection.channelId,
        sku,
        seq: known && known.seq > seq ? known.seq : seq,
        force: false,
        urgent: false,
        channelPriority: connection.channelPriority,
        delta: (known?.delta ?? 0) + (change.delta ?? 0),
        demand: (known?.demand ?? false) || (change.demand ?? false),
        ...(settleMs ? { settleMs } : {}),
      });
    };
    for (const { topic, id, entry } of entries) {
      if (topic === TOPICS.availabilityRule) {
        const change = availabilityRuleSchema.safeParse(entry.payload);
        if (!change.success) {
          deps.log.warn({ id, issues: change.error.issues }, 'skipping an availability-rule event that does not parse');
          continue;
        }
        const c = change.data;
        if (c.kind === 'CHANNEL' && deps.isConnected(c.channelId)) settled.add(c.channelId);
        if (c.kind === 'LOCATION') for (const connection of deps.connectionsAt(c.locationId)) settled.add(connection.channelId);
        if (c.kind === 'SET_ASIDE') {
          const seq = sortableStreamId(id);
          for (const locationId of await deps.sourcesOf(c.channelId)) {
            for (const connection of deps.connectionsAt(locationId)) {
              if (connection.channelId !== c.channelId) want(connection, c.sku, seq, { settleMs: AVAILABILITY_RULE_SETTLE_MS * 1.5 });
            }
          }
        }
        continue;
      }
      if (topic === TOPICS.channel) {
        const snapshot = channelSnapshotSchema.safeParse(entry.payload);
        if (!snapshot.success) {
          deps.log.warn({ id, issues: snapshot.error.issues }, 'skipping a channel event that does not parse');
          continue;
        }
        await deps.service.applyChannelSnapshot(snapshot.data);
        // One settled resync answers this and inventory's availability-rule event of the same change (folded together).
        if (deps.isConnected(snapshot.data.id)) settled.add(snapshot.data.id);
        continue;
      }
      const change = stockChangedSchema.safeParse(entry.payload);
      if (!change.success) {
        deps.log.warn({ id, issues: change.error.issues }, 'skipping a stock event that does not parse');
        continue;
      }
      const { sku, locationId, before, after } = change.data;
      const demand = isDemandChange(change.data.change);
      // Units sold or reserved, wherever (even of units another order held): the demand protective
      // channels are shown less for, and for a sale reported late, how late.
      const units = demandUnits(change.data);
      if (units) demanded.push({ sku, units, occurredAt: change.data.occurredAt ? Date.parse(change.data.occurredAt) : undefined });
      if (before.available === after.available) continue;
      const seq = sortableStreamId(id);
      for (const connection of deps.connectionsAt(locationId)) want(connection, sku, seq, { delta: after.available - before.available, demand });
    }
    const byChannel = new Map<string, FeedRequest[]>();
    for (const request of requests.values()) {
      const list = byChannel.get(request.channelId);
      if (list) list.push(request);
      else byChannel.set(request.channelId, [request]);
    }
    // Every channel's reads at once, and the demand with them: a sale's urgency must not wait behind other channels.
    const [kept] = await Promise.all([
      Promise.all(
        [...byChannel].map(async ([channelId, list]) => {
          const skus = list.map((r) => r.sku);
          const [listed, states] = await Promise.all([deps.listedAs(channelId, skus, list[0]!.connection.catalogue), deps.service.syncStatesOf(channelId, skus)]);
          return list.filter((request) => {
            if (!listed.has(request.sku)) return false;
            request.urgent = isUrgentPush(states.get(request.sku)?.lastPushedQuantity, request.delta, request.demand);
            return true;
          });
        }),
      ),
      deps.demand.record(demanded),
    ]);
    const all = kept.flat();
    await deps.service.markPending(all.map(({ channelId, sku, seq }) => ({ channelId, sku, seq })));
    const byAccount = new Map<string, typeof all>();
    for (const request of all) {
      const key = `${request.connection.kind}\n${request.connection.accountId}`;
      const list = byAccount.get(key);
      if (list) list.push(request);
      else byAccount.set(key, [request]);
    }
    await Promise.all(
      [...byAccount.values()].map((requestsOfAccount) => {
        const { kind, accountId } = requestsOfAccount[0]!.connection;
        return deps.queues.enqueuePushes(kind, accountId, requestsOfAccount.map(({ connection: _, delta: __, demand: ___, ...request }) => request));
      }),
    );
    for (const channelId of settled) await deps.queues.requestResync(channelId, true);
    return entries.map((e) => e.id);
  };
}
