import { ListingService, type ShownStock } from './listing.service.js';
import { serviceAuth } from '../../../lib/service-token.js';
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import type { DataSource } from 'typeorm';
import { marketplaceInventoryUrl, marketplaceOrdersUrl, type Config } from '../../../lib/config.js';
import { NotFoundError } from '../../../lib/errors.js';
import { InventoryClient } from '../../../contracts/inventory-client.js';
import { failureLogLevel } from '../../../lib/db.js';
import { logger } from '../../../lib/logger.js';
import { closeRedis, closeWorker, createRedis, type RedisClient, redisTarget } from '../../../lib/redis.js';
import { StreamConsumer } from '../../../lib/stream-consumer.js';
import type { FastifyInstance } from 'fastify';
import { AMAZON_VISIBILITY_MS, createAdapter, createAmazonNotificationQueue, createOrderFeed, DEFAULT_INTAKE_POLICIES, SHOPIFY_ORDER_TOPICS, shopifyWebhookOrder, verifyShopifyWebhook } from '../connectors/index.js';
import { OrdersClient } from '../../../contracts/orders-client.js';
import { NotificationListeners } from './notification-listener.js';
import { IntakeReads, OrderIntake, PUSH_HISTORY_MS, type IntakeConnection, type OversoldByCause } from './intake.service.js';
import { RateBucket, type BucketPolicy } from './rate-bucket.js';
import { DemandMeter } from '../../../contracts/demand-meter.js';
import { ProtectionService } from './protection.service.js';
import { bucketKey } from './pusher.js';
import type { Connection, MarketplaceAdapter } from '../connectors/types.js';
import { CHANGE_FEED_TOPICS, changeFeedHandler } from '../feeds/change-feed.js';
import { MarketplaceService, type ResolvedConnection, type SyncSummary } from './marketplace.service.js';
import { AccountPusher } from './pusher.js';
import { MAINTENANCE_QUEUE, maintenanceJobSchema, marketplaceQueues, pushQueueName } from './queues.js';
import { Reconciler } from './reconciler.js';
import { endpointProblem, queueProblem } from '../domain/connection-rules.js';
import { syncLagTransition } from '../domain/problem-rules.js';
import { UnusableConnectionError, SecretStore, type ConnectionProblemCode } from './secrets.js';

const DRIFT_SCHEDULE = 'drift-all';
const STREAM_READ_COUNT = 1000;

type Problem = { code: ConnectionProblemCode; message: string };

/**
 * The marketplace side of the jobs process: the change feed (stock events → push jobs), a push
 * worker per marketplace account, the maintenance worker (resyncs, drift repair and its schedule),
 * and a watch on Redis losing its data. Every part can run in several processes at once.
 *
 * Each refresh also reads every connection's secret: one missing or unreadable makes the connection
 * unhealthy (recorded on its row for the subgraph, the CLI and /ops, and reported on /readyz). Its
 * pushes are held, not failed: they go out once a later refresh finds the secret.
 */
export class MarketplaceSync {
  private readonly log = logger().child({ component: 'marketplace-sync' });
  private readonly queues;
  private readonly service: MarketplaceService;
  private readonly secrets: SecretStore;
  private readonly buckets: RedisClient;
  private readonly feedRedis: RedisClient;
  /** Inventory's reads as each channel is shown them (listing rules applied). */
  private readonly inventory: ShownStock;
  private readonly reconciler: Reconciler;
  private readonly feed: StreamConsumer;
  private readonly pushers = new Map<string, AccountPusher>();
  private readonly adapters = new Map<string, { key: string; adapter: MarketplaceAdapter }>();
  /** By channel: the credentials problem this process last found, null for none. */
  private readonly problems = new Map<string, Problem | null>();
  /** By channel: the problem this process last wrote to the connection's row. */
  private readonly recorded = new Map<string, Problem | null>();
  private connections: ResolvedConnection[] = [];
  private byLocation = new Map<string, ResolvedConnection[]>();
  private maintenance: Worker | undefined;
  private readonly intake: OrderIntake;
  private readonly intakeReads: IntakeReads;
  /** Channels whose intake poll runs in this process now. */
  private readonly polling = new Set<string>();
  /** Intake rounds under way, awaited by stop(). */
  private readonly intakeRounds = new Set<Promise<void>>();
  private readonly notifications: NotificationListeners;
  private readonly listings: ListingService;
  /** Aborted by stop(): an intake poll waiting for its bucket or the marketplace gives up (its cursor is stored). */
  private readonly stopping = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private checkingLag = false;
  private readonly epoch = randomUUID();

  /**
   * @param marketplaces this subgraph's database
   * @param republishChannels has the channels subgraph publish every channel again (to fill an empty replica)
   */
  constructor(
    private readonly cfg: Config,
    marketplaces: DataSource,
    republishChannels: () => Promise<unknown>,
  ) {
    this.queues = marketplaceQueues(cfg);
    this.service = new MarketplaceService(marketplaces, this.queues, { allowedHosts: cfg.MARKETPLACE_ALLOWED_HOSTS });
    this.secrets = new SecretStore(cfg.MARKETPLACE_SECRETS_DIR);
    this.buckets = createRedis(redisTarget(cfg));
    this.feedRedis = createRedis(redisTarget(cfg));
    const tokens = serviceAuth(cfg);
    // Marketplace sync reads available-to-sell and the SKU list, nothing more.
    const inventory = new InventoryClient({ url: marketplaceInventoryUrl(cfg), timeoutMs: 10_000, identity: tokens && { signer: tokens.signer('marketplaces'), scopes: ['availability:read'] } });
    const demand = new DemandMeter(this.buckets, cfg.REDIS_KEY_PREFIX, cfg.PROTECT_WINDOW_MS);
    const protection = new ProtectionService(marketplaces, demand, cfg.PROTECT_CONFIDENCE, (channelId) =>
      this.connections.some((c) => c.channelId === channelId && c.protection === 'PROTECTIVE'),
    );
    this.listings = new ListingService(marketplaces, this.service, this.queues, protection);
    this.inventory = this.listings.shownStock(inventory);
    const orders = new OrdersClient({ url: marketplaceOrdersUrl(cfg), timeoutMs: 10_000, identity: tokens && { signer: tokens.signer('marketplaces'), scopes: ['orders:intake', 'orders:write'] } });
    this.intake = new OrderIntake(marketplaces, orders, this.log.child({ part: 'order-intake' }), demand);
    this.notifications = new NotificationListeners({
      current: (channelId) => this.connections.find((c) => c.channelId === channelId),
      queueFor: async (c) => createAmazonNotificationQueue(await this.connector(c), { fetch: globalThis.fetch, timeoutMs: (cfg.MARKETPLACE_NOTIFICATION_WAIT_S + 10) * 1000 }),
      ingest: async (c, orders) => {
        const connection = await this.intakeConnection(c);
        // Orders are independent: taken in side by side (each is taken in once however it comes).
        await Promise.all(orders.map((order) => this.intake.ingest(connection, order)));
      },
      healthy: (c) => !this.problems.get(c.channelId),
      waitSeconds: cfg.MARKETPLACE_NOTIFICATION_WAIT_S,
      log: this.log.child({ part: 'amazon-notifications' }),
    });
    this.intakeReads = new IntakeReads(marketplaces);
    const adapterFor = (connection: ResolvedConnection) => this.adapterFor(connection);
    this.reconciler = new Reconciler({
      service: this.service,
      queues: this.queues,
      inventory: this.inventory,
      listings: this.listings,
      redis: this.buckets,
      adapterFor,
      driftSkusPerRun: cfg.MARKETPLACE_DRIFT_SKUS_PER_RUN,
      driftTolerance: cfg.MARKETPLACE_DRIFT_TOLERANCE,
      log: this.log,
    });
    this.feed = new StreamConsumer({
      redis: this.feedRedis,
      keyPrefix: cfg.REDIS_KEY_PREFIX,
      topics: CHANGE_FEED_TOPICS,
      group: 'marketplace-sync',
      count: STREAM_READ_COUNT,
      claimIdleMs: cfg.REPLICA_CLAIM_IDLE_MS,
      // A new consumer group reads only what comes next: the channels are published again for the replica.
      onGroupCreated: async () => {
        await republishChannels();
        await this.resyncAll();
      },
      log: this.log,
      handle: changeFeedHandler({
        service: this.service,
        queues: this.queues,
        connectionsAt: (locationId) => this.byLocation.get(locationId) ?? [],
        isConnected: (channelId) => this.connections.some((c) => c.channelId === channelId),
        sourcesOf: (channelId) => this.service.sourcesOf(channelId),
        listedAs: (channelId, skus, catalogue) => this.listings.listedAs(channelId, skus, catalogue),
        demand,
        log: this.log,
      }),
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    await this.watchEpoch();
    this.maintenance = new Worker(
      MAINTENANCE_QUEUE,
      async (job) => {
        if (job.name === DRIFT_SCHEDULE) {
          // Not for a connection without credentials: it could read nothing back, and its health already says why.
          for (const c of this.connections) if (!this.problems.get(c.channelId)) await this.queues.requestDriftRepair(c.channelId);
          // The schedule runs once per interval across processes: the push history is pruned with it.
          await this.service.prunePushHistory(new Date(Date.now() - PUSH_HISTORY_MS));
          return;
        }
        const { channelId } = maintenanceJobSchema.parse(job.data);
        await this.refresh();
        if (job.name === 'resync') await this.reconciler.resync(channelId);
        else if (job.name === 'drift') await this.reconciler.repairDrift(channelId);
      },
      { connection: this.queues.connection, prefix: this.queues.bullPrefix, concurrency: 2 },
    );
    this.maintenance.on('failed', (job, err) => {
      // A channel inventory does not know yet (its replica is on its way) is retried with backoff.
      const level = err instanceof NotFoundError ? 'warn' : 'error';
      this.log[level]({ err, job: job?.name, data: job?.data }, 'marketplace maintenance job failed; BullMQ retries it');
    });
    this.maintenance.on('error', (err) => this.log.error({ err }, 'marketplace maintenance worker error'));
    await this.schedule();
    await this.feed.start();
    this.timers.push(
      setInterval(() => void this.refresh().catch((err: unknown) => this.log[failureLogLevel(err)]({ err }, 'reading marketplace connections failed')), this.cfg.MARKETPLACE_REFRESH_MS),
      setInterval(() => void this.watchEpoch().catch((err: unknown) => this.log.warn({ err }, 'checking the Redis epoch failed')), this.cfg.MARKETPLACE_EPOCH_CHECK_MS),
      setInterval(() => void this.pollIntake(), this.cfg.MARKETPLACE_INTAKE_POLL_MS),
      // Several times per threshold, so a crossing is seen well within it (at most as often as connections are read).
      setInterval(
        () => void this.checkSyncLag().catch((err: unknown) => this.log[failureLogLevel(err)]({ err }, 'checking marketplace sync lag failed')),
        Math.max(100, Math.min(this.cfg.MARKETPLACE_REFRESH_MS, this.cfg.SYNC_LAG_THRESHOLD_MS / 4)),
      ),
    );
    void this.pollIntake();
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearInterval);
    this.stopping.abort();
    await Promise.all([...this.intakeRounds]);
    await this.notifications.stop();
    await this.feed.stop();
    if (this.maintenance) await closeWorker(this.maintenance);
    await Promise.all([...this.pushers.values()].map((p) => p.stop()));
    await this.queues.close();
    await Promise.all([closeRedis(this.buckets), closeRedis(this.feedRedis)]);
  }

  /** The BullMQ queues marketplace sync owns: maintenance and one push queue per connected account. */
  queueNames(): string[] {
    const accounts = new Set(this.connections.map((c) => pushQueueName(c.kind, c.accountId)));
    return [MAINTENANCE_QUEUE, ...accounts];
  }

  /** Backlog, lag p95, dead letters and throttles of every connected channel (the figures its sync state shows). */
  async channelSummaries(): Promise<{ channelId: string; summary: SyncSummary; oversold: OversoldByCause[] }[]> {
    const ids = this.connections.map((c) => c.channelId);
    const summaries = await this.service.summaries(ids);
    const oversold = await this.intakeReads.oversoldOf(ids);
    return ids.flatMap((channelId, i) => (summaries[i] ? [{ channelId, summary: summaries[i], oversold: oversold.get(channelId) ?? [] }] : []));
  }

  /**
   * For /readyz: the connections whose pushes wait for usable credentials.
   * @throws naming each of them with its problem
   */
  async assertHealthy(): Promise<void> {
    const unhealthy = this.connections.flatMap((c) => {
      const problem = this.problems.get(c.channelId);
      return problem ? [`${c.channelCode} ${problem.code} (${problem.message})`] : [];
    });
    if (unhealthy.length) {
      throw new Error(`${unhealthy.length} of ${this.connections.length} marketplace connection(s) unhealthy, their pushes wait: ${unhealthy.join('; ')}`);
    }
  }

  /** Re-reads the connections: the change feed's routing, a push worker per account, and each one's credentials. */
  private async refresh(): Promise<void> {
    this.connections = await this.service.resolvedConnections();
    const ids = new Set(this.connections.map((c) => c.channelId));
    for (const map of [this.problems, this.recorded]) for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
    for (const c of this.connections) {
      await this.credentials(c).catch((err: unknown) => {
        if (!(err instanceof UnusableConnectionError)) throw err;
      });
    }
    const byLocation = new Map<string, ResolvedConnection[]>();
    for (const c of this.connections) {
      for (const l of c.locationIds) {
        const list = byLocation.get(l);
        if (list) list.push(c);
        else byLocation.set(l, [c]);
      }
    }
    this.byLocation = byLocation;
    if (!this.stopping.signal.aborted) this.notifications.update(this.connections);
    const accounts = new Set(this.connections.map((c) => `${c.kind}\n${c.accountId}`));
    for (const key of accounts) {
      if (this.pushers.has(key)) continue;
      const [kind, accountId] = key.split('\n') as [ResolvedConnection['kind'], string];
      const pusher = new AccountPusher(kind, accountId, {
        queues: this.queues,
        redis: this.buckets,
        service: this.service,
        inventory: this.inventory,
        listings: this.listings,
        connections: () => this.connections.filter((c) => c.kind === kind && c.accountId === accountId),
        adapterFor: (connection) => this.adapterFor(connection),
        unhealthy: (channelId) => !!this.problems.get(channelId),
        attempts: this.cfg.MARKETPLACE_PUSH_ATTEMPTS,
        lockMs: this.cfg.MARKETPLACE_LOCK_MS,
        log: this.log,
      });
      this.pushers.set(key, pusher);
      pusher.start();
    }
    for (const [key, pusher] of this.pushers) {
      if (accounts.has(key)) continue;
      this.pushers.delete(key);
      await pusher.stop();
    }
  }

  /**
   * Raises a channel's SYNC_LAG problem once its oldest change not yet pushed is SYNC_LAG_THRESHOLD_MS
   * old, and clears it once under half of that (domain/problem-rules.ts syncLagTransition). Every
   * process checks; the problem's row decides which one signals (once per crossing, across
   * restarts). A channel no longer pushed (paused, disconnected) has its problem cleared: its lag
   * is no longer anything to act on.
   */
  private async checkSyncLag(): Promise<void> {
    // A check slower than the interval is not overlapped by the next one.
    if (this.checkingLag) return;
    this.checkingLag = true;
    try {
      await this.checkSyncLagNow();
    } finally {
      this.checkingLag = false;
    }
  }

  private async checkSyncLagNow(): Promise<void> {
    const thresholdMs = this.cfg.SYNC_LAG_THRESHOLD_MS;
    const now = new Date();
    const active = this.connections.filter((c) => c.channelStatus === 'ACTIVE');
    const [oldest, lagging] = await Promise.all([this.service.oldestPendingOf(active.map((c) => c.channelId)), this.service.syncLagging()]);
    for (const c of active) {
      const since = oldest.get(c.channelId);
      const lagMs = since ? Math.max(0, now.getTime() - since.getTime()) : 0;
      const move = syncLagTransition({ raised: lagging.has(c.channelId), lagMs, thresholdMs, raisedLagMs: lagging.get(c.channelId) });
      if (move === 'RAISE' || move === 'RAISE_AGAIN') {
        const again = move === 'RAISE_AGAIN';
        const raisedNow = await this.service.raiseSyncLag(c.channelId, { thresholdMs, bucketFill: await this.pushBucketFill(c), again });
        if (raisedNow) this.log.warn({ channel: c.channelCode, lagMs }, again ? 'marketplace sync lags further behind: SYNC_LAG raised again' : 'marketplace sync lags behind: SYNC_LAG raised');
      } else if (move === 'CLEAR') await this.service.clearSyncLag(c.channelId, { thresholdMs });
    }
    const pushed = new Set(active.map((c) => c.channelId));
    for (const channelId of lagging.keys()) {
      if (!pushed.has(channelId)) await this.service.clearSyncLag(channelId, { reason: 'The channel is no longer pushed (paused or disconnected)' });
    }
  }

  /** How full the account's push bucket is (null when Redis cannot say): an empty one means pushes go at the marketplace's rate. */
  private async pushBucketFill(c: ResolvedConnection): Promise<number | null> {
    const bucket = new RateBucket(this.buckets, bucketKey(this.queues.prefix, c.kind, c.accountId, 'push'), c.policy);
    return bucket.fill().catch(() => null);
  }

  /** One adapter per connection, rebuilt when its settings or credentials change. @throws UnusableConnectionError */
  /** What a connector needs of the connection: where and how to call, with its credentials. @throws UnusableConnectionError */
  private async connector(connection: ResolvedConnection): Promise<Connection> {
    const { kind, accountId, baseUrl, settings } = connection;
    return { kind, accountId, baseUrl, settings, credentials: await this.credentials(connection) };
  }

  private async adapterFor(connection: ResolvedConnection): Promise<MarketplaceAdapter> {
    const c = await this.connector(connection);
    const key = JSON.stringify([c.kind, c.accountId, c.baseUrl, c.settings, c.credentials]);
    const cached = this.adapters.get(connection.channelId);
    if (cached?.key === key) return cached.adapter;
    // Speaks the marketplace's SKUs: the pusher and drift repair name each SKU as the channel lists it (ListingService.listedAs).
    const adapter = createAdapter(c);
    this.adapters.set(connection.channelId, { key, adapter });
    return adapter;
  }

  /**
   * The connection's credentials, recording whether they may be used as the connection's health:
   * never for a base URL that may not receive them (one stored before the rule, or written to the
   * database by hand), nor from a secret issued for another channel or account.
   * @throws UnusableConnectionError
   */
  private async credentials(connection: ResolvedConnection): Promise<Record<string, string>> {
    try {
      const endpoint = endpointProblem(connection.kind, connection.baseUrl, this.cfg.MARKETPLACE_ALLOWED_HOSTS);
      if (endpoint) throw new UnusableConnectionError(`base URL ${connection.baseUrl} ${endpoint}: no credentials are sent there`, 'BASE_URL_NOT_ALLOWED');
      const queueUrl = connection.settings.notificationQueueUrl;
      const queue = typeof queueUrl === 'string' ? queueProblem(queueUrl, this.cfg.MARKETPLACE_ALLOWED_HOSTS) : null;
      if (queue) throw new UnusableConnectionError(`notification queue ${queueUrl} ${queue}: nothing signed is sent there`, 'BASE_URL_NOT_ALLOWED');
      const credentials = await this.secrets.forConnection(connection);
      await this.recordHealth(connection, null);
      return credentials;
    } catch (err) {
      if (err instanceof UnusableConnectionError) await this.recordHealth(connection, { code: err.code, message: err.message });
      throw err;
    }
  }

  /** Written only when it changes, so a refresh or a push costs no write while the health stays the same. */
  private async recordHealth(connection: ResolvedConnection, problem: Problem | null): Promise<void> {
    const { channelId } = connection;
    this.problems.set(channelId, problem);
    const known = this.recorded.has(channelId) ? this.recorded.get(channelId)! : connection.problem;
    if (known?.code === problem?.code && known?.message === problem?.message) return;
    await this.service.recordProblem(channelId, problem);
    this.recorded.set(channelId, problem);
    const where = { channelId, channel: connection.channelCode, secretName: connection.secretName };
    if (problem) this.log.warn({ ...where, problem }, 'marketplace connection unhealthy: its pushes wait until its secret can be read');
    else if (known) this.log.info(where, 'marketplace connection healthy again: its pushes resume');
  }

  private async schedule(): Promise<void> {
    await this.queues.queue(MAINTENANCE_QUEUE).upsertJobScheduler(
      DRIFT_SCHEDULE,
      { every: this.cfg.MARKETPLACE_DRIFT_INTERVAL_MS },
      { name: DRIFT_SCHEDULE, opts: { removeOnComplete: 100, removeOnFail: 1000 } },
    );
  }

  private async resyncAll(): Promise<void> {
    await this.refresh();
    for (const c of this.connections) await this.queues.requestResync(c.channelId);
  }

  /**
   * Order intake for every healthy connection: one process polls a channel at a time (a Redis lock
   * held for a poll interval), paced by the account's intake buckets, from the stored cursor.
   */
  private pollIntake(): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    const round = this.intakeRoundNow().finally(() => this.intakeRounds.delete(round));
    this.intakeRounds.add(round);
    return round;
  }

  private async intakeRoundNow(): Promise<void> {
    await Promise.all(
      this.connections
        .filter((c) => !this.problems.get(c.channelId) && !this.polling.has(c.channelId))
        .map(async (c) => {
          const lock = `${this.cfg.REDIS_KEY_PREFIX}:marketplace:intake-lock:${c.channelId}`;
          if ((await this.buckets.set(lock, this.epoch, 'PX', this.cfg.MARKETPLACE_INTAKE_POLL_MS, 'NX')) !== 'OK') return;
          this.polling.add(c.channelId);
          try {
            const outcomes = await this.intake.poll(await this.intakeConnection(c), new Date(Date.now() - this.cfg.MARKETPLACE_INTAKE_LOOKBACK_MS));
            if (outcomes.length) this.log.info({ channel: c.channelCode, orders: outcomes.length }, 'marketplace orders taken in');
          } catch (err) {
            if (this.stopping.signal.aborted) return;
            this.log.warn({ err, channel: c.channelCode }, 'marketplace order intake failed; the next poll resumes from the stored cursor');
          } finally {
            this.polling.delete(c.channelId);
          }
        }),
    );
  }

  /** The connection as intake works with it: its order feed and its account's intake buckets. @throws UnusableConnectionError */
  private async intakeConnection(connection: ResolvedConnection): Promise<IntakeConnection> {
    const scale = this.cfg.MARKETPLACE_TIME_SCALE;
    const feed = createOrderFeed(await this.connector(connection), { amazonVisibilityMs: AMAZON_VISIBILITY_MS / scale });
    const policies = DEFAULT_INTAKE_POLICIES[connection.kind] as Record<string, BucketPolicy>;
    // The bucket of the call made last: a throttled answer pauses it.
    let last: RateBucket | null = null;
    return {
      channelId: connection.channelId,
      oversellPolicy: connection.oversellPolicy,
      catalogue: connection.catalogue,
      feed,
      take: (bucket, cost) => {
        const policy = policies[bucket]!;
        last = new RateBucket(this.buckets, bucketKey(this.queues.prefix, connection.kind, connection.accountId, `intake:${bucket}`), { ...policy, refillPerSecond: policy.refillPerSecond * scale });
        return last.take(cost, this.stopping.signal);
      },
      pause: async (ms) => {
        await last?.pause(ms);
      },
      resend: (skus) => this.queues.forcePushes(connection, skus),
      signal: this.stopping.signal,
    };
  }

  /**
   * The jobs server's marketplace webhook routes: `POST /webhooks/shopify/:channelId` for a Shopify
   * connection's `orders/create` and `orders/cancelled` webhooks, verified with the connection's
   * `webhookSecret` credential (the app's client secret) over the raw body before anything is read.
   * 401 for a signature that does not verify (or a channel that is no Shopify connection: the answer
   * does not tell which), 400 for a verified body that is no order, 200 once taken in (an order
   * orders could not place now stays RECEIVED for the next poll).
   */
  webhookRoutes() {
    return async (app: FastifyInstance): Promise<void> => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      app.post<{ Params: { channelId: string } }>('/webhooks/shopify/:channelId', async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const header = (name: string) => {
          const v = req.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        const connection = this.connections.find((c) => c.channelId === req.params.channelId && c.kind === 'SHOPIFY');
        const secret = connection ? (await this.credentials(connection).catch(() => ({}) as Record<string, string>)).webhookSecret : undefined;
        if (!connection || !secret || !verifyShopifyWebhook(raw, header('x-shopify-hmac-sha256'), secret)) {
          return reply.code(401).send({ error: 'UNAUTHENTICATED', message: 'The webhook signature does not verify' });
        }
        const topic = header('x-shopify-topic');
        if (!SHOPIFY_ORDER_TOPICS.includes(topic as (typeof SHOPIFY_ORDER_TOPICS)[number])) return reply.code(200).send({ ignored: topic ?? null });
        let order;
        try {
          order = shopifyWebhookOrder(JSON.parse(raw.toString('utf8')));
        } catch {
          return reply.code(400).send({ error: 'BAD_USER_INPUT', message: `The ${topic} body is not a Shopify order` });
        }
        const outcome = await this.intake.ingest(await this.intakeConnection(connection), order);
        return reply.code(200).send(outcome);
      });
    };
  }

  /**
   * Redis here may run without persistence: a restart empties the queues, the buckets and the
   * streams. A key written once per Redis lifetime tells: when it is gone, the queues and schedule
   * are rebuilt and every channel resynchronised (what it was last told is in MySQL).
   */
  private async watchEpoch(): Promise<void> {
    const key = `${this.cfg.REDIS_KEY_PREFIX}:marketplace:epoch`;
    const current = await this.buckets.get(key);
    if (current) return;
    const set = await this.buckets.set(key, this.epoch, 'NX');
    if (set !== 'OK') return;
    this.log.info('Redis holds no marketplace epoch (first start, or it lost its data): resynchronising every channel');
    await this.schedule();
    await this.resyncAll();
  }
}
