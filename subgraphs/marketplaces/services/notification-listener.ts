import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MarketplaceOrder, NotificationQueue } from '../connectors/index.js';
import type { ResolvedConnection } from './marketplace.service.js';

export interface NotificationListenerDeps {
  /** The connection as last read (its oversell policy may have changed since the readers started). */
  current(channelId: string): ResolvedConnection | undefined;
  /** The connection's queue (its current credentials), or null when it names none. @throws UnusableConnectionError */
  queueFor(connection: ResolvedConnection): Promise<NotificationQueue | null>;
  /** Takes the orders in (order intake: once each, however often they come). */
  ingest(connection: ResolvedConnection, orders: MarketplaceOrder[]): Promise<void>;
  /** Whether the connection may be used now (its credentials are sound). */
  healthy(connection: ResolvedConnection): boolean;
  /** SQS long polling: 1 to 20 seconds. */
  waitSeconds: number;
  log: Logger;
}

const BACKOFF_MS = 1000;

/** Readers per queue: while one takes in what it received, the next receive is already waiting. */
const READERS = 2;

/**
 * Long-polling readers (two) per Amazon connection with a notification queue: each ORDER_CHANGE is
 * taken in as it arrives, then deleted from the queue. Every reader, in every jobs process, may read
 * the same queue (SQS hides a received message from the others while it is handled). A failure waits
 * a second and reads again; a message not deleted comes back by itself after its visibility timeout.
 */
export class NotificationListeners {
  private readonly running = new Map<string, { key: string; stop: AbortController; done: Promise<void> }>();

  constructor(private readonly deps: NotificationListenerDeps) {}

  /** Starts a reader for each healthy connection with a queue, and stops the others. */
  update(connections: readonly ResolvedConnection[]): void {
    const wanted = new Map(
      connections
        .filter((c) => c.kind === 'AMAZON' && typeof c.settings.notificationQueueUrl === 'string' && this.deps.healthy(c))
        .map((c) => [c.channelId, `${c.accountId}\n${String(c.settings.notificationQueueUrl)}`]),
    );
    for (const [channelId, r] of this.running) {
      if (wanted.get(channelId) === r.key) continue;
      r.stop.abort();
      this.running.delete(channelId);
    }
    for (const [channelId, key] of wanted) {
      if (this.running.has(channelId)) continue;
      const stop = new AbortController();
      // A change of account or queue restarts the readers; the rest is read afresh for every receive.
      const readers = Array.from({ length: READERS }, () => this.read(channelId, stop.signal));
      this.running.set(channelId, { key, stop, done: Promise.all(readers).then(() => {}) });
    }
  }

  async stop(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    for (const r of all) r.stop.abort();
    await Promise.all(all.map((r) => r.done));
  }

  private async read(channelId: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const connection = this.deps.current(channelId);
      if (!connection) return;
      try {
        const queue = await this.deps.queueFor(connection);
        if (!queue) return;
        const batch = await queue.receive({ waitSeconds: this.deps.waitSeconds, signal });
        if (!batch.receipts.length) continue;
        await this.deps.ingest(connection, batch.orders);
        await queue.remove(batch.receipts, signal);
      } catch (err) {
        if (signal.aborted) return;
        this.deps.log.warn({ err, channelId }, 'reading the Amazon notification queue failed; reading again in a second (getOrders polling backs it up)');
        await sleep(BACKOFF_MS, undefined, { signal }).catch(() => {});
      }
    }
  }
}
