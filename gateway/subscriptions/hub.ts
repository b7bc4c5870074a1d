import { randomUUID } from 'node:crypto';
import { GraphQLError, print, validate, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import type { SubscriptionPlan, SubscriptionPlanner } from './planner-adapter.js';
import { UpstreamSubscription, type UpstreamPool, type UpstreamSettings } from './upstream.js';
import { tokenSubject, type SubgraphFetchContext } from '../subgraph-data-source.js';
import type { Caller } from '../../contracts/identity.js';
import { stableJson } from '../../lib/stable-json.js';

export interface HubSettings extends UpstreamSettings {
  /** Results a subscriber may have waiting before the latest state per key replaces older ones. */
  queueSize: number;
  maxSubscriptions: number;
  /** graphql-ws URL of each subgraph that serves subscriptions. */
  subscriptionUrls: Partial<Record<string, string>>;
}

export interface SubscribeRequest {
  document: DocumentNode;
  operationName?: string | null;
  variables: Record<string, unknown>;
  /** Subscribers share an upstream only within one auth scope. */
  scope: string;
  clientId: string | null;
  /** Who subscribes (null under AUTH_MODE=off); the group's first subscriber names the group's caller to subgraphs. */
  caller?: Caller | null;
  /** Called once when the subscription ends, however it ends. */
  onEnd?: () => void;
}

const limitError = (message: string, extensions: Record<string, unknown>) =>
  new GraphQLError(message, { extensions: { code: 'SUBSCRIPTION_LIMIT', ...extensions } });

/**
 * The gateway's subscriptions. Subscribers with the same normalised document, variables and auth
 * scope form a sharing group: one upstream subscription (the plan's primary fetch) and one `rest`
 * execution per event, whose result is fanned out to every subscriber's bounded queue.
 */
export class SubscriptionHub {
  private readonly groups = new Map<string, SharingGroup>();
  private subscriberCount = 0;
  /** Per event: the sharing groups' rest executions (for the bench's entity-fetches-per-event figure). */
  restExecutions = 0;
  /** Results handed to subscribers' sockets (omnistock_subscription_deliveries_total). */
  deliveries = 0;
  private readonly unlisten: () => void;

  constructor(
    readonly planner: SubscriptionPlanner,
    private readonly pool: UpstreamPool,
    private readonly settings: HubSettings,
    private readonly log: Logger,
  ) {
    this.unlisten = planner.onSchemaChange(() => this.replanAll());
  }

  get subscribers(): number {
    return this.subscriberCount;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  /** A subscriber's result stream, or the errors that refuse it (limits, planning). */
  subscribe(req: SubscribeRequest): AsyncIterableIterator<ExecutionResult> | readonly GraphQLError[] {
    if (this.subscriberCount >= this.settings.maxSubscriptions) {
      return [limitError(`This gateway node serves its maximum of ${this.settings.maxSubscriptions} subscriptions; retry later or on another node`, { limit: 'node', max: this.settings.maxSubscriptions })];
    }
    const key = `${req.scope}\n${req.operationName ?? ''}\n${print(req.document)}\n${stableJson(req.variables)}`;
    let group = this.groups.get(key);
    if (!group) {
      let plan: SubscriptionPlan;
      try {
        plan = this.planner.plan(req.document, req.operationName);
      } catch (err) {
        return [err instanceof GraphQLError ? err : new GraphQLError((err as Error).message)];
      }
      const url = this.settings.subscriptionUrls[plan.primary.serviceName];
      if (!url) return [new GraphQLError(`Subgraph ${plan.primary.serviceName} has no subscription URL configured`)];
      group = new SharingGroup(this, key, req, plan, url);
      this.groups.set(key, group);
      group.open();
    }
    const subscriber = new Subscriber(
      this.settings.queueSize,
      () => {
        this.subscriberCount--;
        group.remove(subscriber);
        req.onEnd?.();
      },
      () => void this.deliveries++,
    );
    this.subscriberCount++;
    group.add(subscriber);
    return subscriber;
  }

  /** @internal */
  openUpstream(group: SharingGroup, url: string, since: string | null): UpstreamSubscription {
    const { plan, variables } = group;
    const upstreamVariables = Object.fromEntries(plan.primary.variableUsages.filter((v) => v in variables).map((v) => [v, variables[v]]));
    const upstream = new UpstreamSubscription(
      this.pool,
      url,
      { subgraph: plan.primary.serviceName, caller: tokenSubject(group.fetchContext) },
      { query: plan.primary.operation, variables: upstreamVariables, ...(plan.primary.operationName ? { operationName: plan.primary.operationName } : {}) },
      { onEvent: (result, sequence, key) => void group.onEvent(result, sequence, key), onEnd: (errors) => group.end(errors) },
      this.settings,
    );
    upstream.lastSequence = since;
    upstream.start();
    return upstream;
  }

  /** @internal */
  dropGroup(group: SharingGroup): void {
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /** @internal */
  get logger(): Logger {
    return this.log;
  }

  /**
   * A new supergraph: each group is re-planned (and its upstream re-opened from where it was when
   * the primary fetch changed), or ended with a clear error when its document no longer validates.
   */
  private replanAll(): void {
    const schema = this.planner.schema;
    for (const group of [...this.groups.values()]) {
      if (!schema || group.plan.schema === schema) continue;
      const errors: GraphQLError[] = [...validate(schema, group.document)];
      let plan: SubscriptionPlan | undefined;
      try {
        if (!errors.length) plan = this.planner.plan(group.document, group.operationName);
      } catch (err) {
        errors.push(err instanceof GraphQLError ? err : new GraphQLError((err as Error).message));
      }
      const url = plan && this.settings.subscriptionUrls[plan.primary.serviceName];
      if (!plan || !url) {
        const reason = errors.map((e) => e.message).join('; ') || `no subscription URL for ${plan?.primary.serviceName}`;
        this.log.info({ reason }, 'ending a subscription the new supergraph no longer supports');
        group.end([
          new GraphQLError(`The supergraph changed and this subscription is no longer valid: ${reason}. Re-subscribe with a valid document.`, {
            extensions: { code: 'SUBSCRIPTION_SCHEMA_CHANGED' },
          }),
        ]);
        continue;
      }
      group.replan(plan, url);
    }
  }

  /** Ends every subscription (the gateway is shutting down) and closes the upstream connections. */
  async close(): Promise<void> {
    this.unlisten();
    for (const group of [...this.groups.values()]) group.end(null);
    await this.pool.close();
  }
}

/** Subscribers sharing one upstream subscription and one rest execution per event. */
class SharingGroup {
  readonly id = randomUUID();
  readonly document: DocumentNode;
  readonly operationName: string | null | undefined;
  readonly variables: Record<string, unknown>;
  /** The service tokens' subject: the first subscriber's client and scopes (the group shares its scope). */
  readonly fetchContext: SubgraphFetchContext;
  private readonly subscribers = new Set<Subscriber>();
  private upstream: UpstreamSubscription | null = null;
  /** Rest executions run one at a time, in event order, so subscribers get results in sequence order. */
  private chain: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(
    private readonly hub: SubscriptionHub,
    readonly key: string,
    req: SubscribeRequest,
    public plan: SubscriptionPlan,
    private url: string,
  ) {
    this.document = req.document;
    this.operationName = req.operationName;
    this.variables = req.variables;
    this.fetchContext = { clientId: req.clientId, caller: req.caller ?? null };
  }

  open(): void {
    this.upstream = this.hub.openUpstream(this, this.url, null);
  }

  add(subscriber: Subscriber): void {
    this.subscribers.add(subscriber);
  }

  remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (!this.subscribers.size && !this.ended) {
      this.ended = true;
      this.upstream?.stop();
      this.hub.dropGroup(this);
    }
  }

  onEvent(result: ExecutionResult, sequence: string | null, key: string | null): void {
    const plan = this.plan;
    this.chain = this.chain.then(async () => {
      if (this.ended) return;
      let shaped: ExecutionResult;
      try {
        this.hub.restExecutions++;
        shaped = await plan.execute(result, this.variables, { ...this.fetchContext, requestId: `sub-${this.id}` });
      } catch (err) {
        this.hub.logger.error({ err }, 'executing the rest of a subscription plan failed');
        shaped = { data: null, errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
      }
      const delivery: Delivery = { result: shaped, sequence, key };
      for (const subscriber of this.subscribers) subscriber.push(delivery);
    });
  }

  replan(plan: SubscriptionPlan, url: string): void {
    const samePrimary = plan.primary.serviceName === this.plan.primary.serviceName && plan.primary.operation === this.plan.primary.operation && url === this.url;
    this.plan = plan;
    if (samePrimary) return;
    const since = this.upstream?.lastSequence ?? null;
    this.upstream?.stop();
    this.url = url;
    this.upstream = this.hub.openUpstream(this, url, since);
  }

  /** Ends every subscriber, after the results already queued, with `errors` as their last result. */
  end(errors: readonly GraphQLError[] | null): void {
    this.chain = this.chain.then(() => {
      if (this.ended && !this.subscribers.size) return;
      this.ended = true;
      this.upstream?.stop();
      this.hub.dropGroup(this);
      for (const subscriber of [...this.subscribers]) subscriber.finish(errors);
    });
  }
}

interface Delivery {
  result: ExecutionResult;
  sequence: string | null;
  key: string | null;
}

interface Queued extends Delivery {
  /** Earlier results of the same key this one replaced. */
  conflated: number;
}

/**
 * One client subscription: a bounded queue in front of its socket. When the client reads more
 * slowly than events arrive and the queue is full, a new result replaces the queued one of the
 * same key (the latest state per sku and location is what matters) and counts it in
 * `extensions.conflated`; nothing waits on a slow subscriber, and no one else is slowed.
 */
export class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  private queue: Queued[] = [];
  private finished = false;
  private finalErrors: readonly GraphQLError[] | null = null;
  private wake: (() => void) | null = null;
  private released = false;

  constructor(
    private readonly limit: number,
    private readonly onRelease: () => void,
    private readonly onDeliver: () => void = () => {},
  ) {}

  push(delivery: Delivery): void {
    if (this.finished) return;
    if (this.queue.length >= this.limit && delivery.key !== null) {
      let conflated = 0;
      const kept = this.queue.filter((q) => (q.key === delivery.key ? ((conflated += q.conflated + 1), false) : true));
      if (conflated) {
        kept.push({ ...delivery, conflated });
        this.queue = kept;
        return;
      }
    }
    // Past the limit only results of keys not queued yet are added: the queue holds at most one per key.
    this.queue.push({ ...delivery, conflated: 0 });
    this.wake?.();
  }

  finish(errors: readonly GraphQLError[] | null): void {
    this.finished = true;
    this.finalErrors = errors;
    this.wake?.();
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        this.onDeliver();
        const extensions: Record<string, unknown> = { ...item.result.extensions };
        if (item.sequence) extensions.sequence = item.sequence;
        if (item.conflated) extensions.conflated = item.conflated;
        return { done: false, value: Object.keys(extensions).length ? { ...item.result, extensions } : item.result };
      }
      if (this.finished) {
        if (this.finalErrors) {
          const errors = this.finalErrors;
          this.finalErrors = null;
          return { done: false, value: { errors } };
        }
        this.release();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.finished = true;
    this.queue = [];
    this.finalErrors = null;
    this.release();
    this.wake?.();
    return { done: true, value: undefined };
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
