import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PUSH_POLICIES, scalePolicy } from '../subgraphs/marketplaces/connectors/policies.js';
import type { MarketplaceKind, RatePolicy } from '../subgraphs/marketplaces/connectors/types.js';
import { uniq } from './client.js';
import { waitFor } from './events.js';
import { startMarketplaceSimulator, tokenFor, type MarketplaceSimulator, type MarketplaceSimulatorOptions } from '../tools/marketplace-simulator/index.js';
import { OrdersWorld, startOrdersStack, type OrdersStack } from './orders-fixture.js';

export const KINDS: MarketplaceKind[] = ['AMAZON', 'EBAY', 'WALMART', 'SHOPIFY'];

/** A secrets directory of the test's own (MARKETPLACE_SECRETS_DIR), removed by the returned cleanup. */
export async function secretsDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'omnistock-secrets-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The env of a stack whose marketplace sync reacts fast (tests wait on it, never on times). */
export function marketplaceEnv(secrets: string): Record<string, string> {
  return {
    MARKETPLACE_SECRETS_DIR: secrets,
    // The simulator listens on loopback, on a port of its own.
    MARKETPLACE_ALLOWED_HOSTS: '127.0.0.1',
    MARKETPLACE_LOCK_MS: '5000',
    MARKETPLACE_BACKOFF_MS: '100',
    MARKETPLACE_PUSH_ATTEMPTS: '3',
    MARKETPLACE_REFRESH_MS: '200',
    MARKETPLACE_EPOCH_CHECK_MS: '300',
    REPLICA_CLAIM_IDLE_MS: '2000',
  };
}

export interface MarketplaceChannel {
  kind: MarketplaceKind;
  channelId: string;
  code: string;
  account: string;
}

export const SYNC = `query($id: ID!, $skus: [String!]) { channel(id: $id) { marketplaceSync {
  backlog lagP95Ms deadLetterCount throttleCount lastPushAt
  skus(filter: { skus: $skus }) { edges { node { sku pending lastPushedQuantity lastPushedSequence lastEventSequence lastError } } }
  deadLetters { edges { node { id sku quantity message code attempts replayedAt } } }
  driftRuns { edges { node { id checked drifted corrected error lines { sku ours theirs } } } }
} } }`;

/** OrdersWorld's estate helpers plus marketplace channels connected to the simulator. */
export class MarketplaceWorld extends OrdersWorld {
  /** `rateScale`: the simulator's, applied to every connection's policy too. */
  constructor(
    stack: OrdersStack,
    readonly sim: MarketplaceSimulator,
    private readonly secrets: string,
    private readonly rateScale = 1,
  ) {
    super(stack);
  }

  /**
   * A new eBay channel fed by `location` alone and capped at `cap`, and a new SKU with `stock` units
   * there (more than the cap): returned once eBay shows the cap.
   */
  async cappedEbaySku(location: string, cap: number, stock: number): Promise<{ channel: MarketplaceChannel; sku: string }> {
    const channel = await this.marketplaceChannel('EBAY', [location]);
    await this.replicated([location], [channel.channelId]);
    await this.ok(`mutation($c: ID!, $i: AllocationRuleInput!) { setAllocationRule(channelId: $c, input: $i) { id } }`, { c: channel.channelId, i: { sources: [{ locationId: location, priority: 1 }], cap } });
    const sku = await this.item();
    await this.receive(sku, location, stock);
    await waitFor('eBay showing the cap', async () => this.sim.quantity('EBAY', channel.account, sku) === cap, 60_000);
    return { channel, sku };
  }

  /**
   * A MARKETPLACE channel fed by `sources`, connected to a fresh simulator account; its secret is
   * written first unless `secret` is false (then writeSecret() provides it later).
   */
  async marketplaceChannel(
    kind: MarketplaceKind,
    sources: string[],
    ratePolicy?: Partial<RatePolicy>,
    opts: { secret?: boolean; settings?: Record<string, unknown>; credentials?: Record<string, string>; account?: string; catalogue?: 'EVERY_SKU' | 'LISTED' } = {},
  ): Promise<MarketplaceChannel> {
    const account = opts.account ?? uniq(`${kind.toLowerCase()}-`).toLowerCase();
    const code = uniq(`MP-${kind}-`);
    const created = await this.ok(`mutation($input: CreateChannelInput!) { createChannel(input: $input) { id } }`, {
      input: {
        code,
        name: `${kind} test channel`,
        type: 'MARKETPLACE',
        marketplace: kind,
        allocationRule: { sources: sources.map((locationId, i) => ({ locationId, priority: i + 1 })) },
      },
    });
    const channelId: string = created.createChannel.id;
    if (opts.secret !== false) await this.writeSecret({ kind, account, code }, opts.credentials);
    const settings = { ...(kind === 'AMAZON' ? { marketplaceIds: ['A1F83G8C2ARO7P'] } : kind === 'SHOPIFY' ? { locationId: 'gid://shopify/Location/1' } : {}), ...opts.settings };
    const policy = ratePolicy || this.rateScale !== 1 ? await this.policy(kind, ratePolicy ?? {}) : null;
    await this.ok(`mutation($id: ID!, $input: MarketplaceConnectionInput!) { setMarketplaceConnection(channelId: $id, input: $input) { id } }`, {
      id: channelId,
      input: { accountId: account, baseUrl: this.sim.baseUrl(kind, account), secretName: account, settings, ratePolicy: policy, ...(opts.catalogue ? { catalogue: opts.catalogue } : {}) },
    });
    return { kind, channelId, code, account };
  }

  /** The account's credentials, in the file its connection's secretName names. */
  async writeSecret(channel: Pick<MarketplaceChannel, 'kind' | 'account' | 'code'>, extra: Record<string, string> = {}): Promise<void> {
    const secret = { kind: channel.kind, accountId: channel.account, channel: channel.code, accessToken: tokenFor(channel.kind, channel.account), ...extra };
    await writeFile(join(this.secrets, `${channel.account}.json`), JSON.stringify(secret));
  }

  /** The documented policy, scaled, with some figures replaced. */
  private async policy(kind: MarketplaceKind, changes: Partial<RatePolicy>): Promise<RatePolicy> {
    return { ...scalePolicy(DEFAULT_PUSH_POLICIES[kind], this.rateScale), ...changes };
  }

  /** The channel's available-to-sell of each SKU, through the gateway. */
  async ats(channelId: string, skus: string[]): Promise<Map<string, number>> {
    const data = await this.ok(`query($c: ID!, $s: [String!]!) { availability(channelId: $c, skus: $s, consistency: READ_YOUR_WRITES) { sku availableToSell } }`, { c: channelId, s: skus });
    return new Map((data.availability as { sku: string; availableToSell: number }[]).map((a) => [a.sku, a.availableToSell]));
  }

  /** Waits until the marketplace holds our available-to-sell of every SKU. */
  async converged(channel: MarketplaceChannel, skus: string[], timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${channel.kind} holding our available-to-sell of ${skus.length} SKU(s)`,
      async () => {
        const ours = await this.ats(channel.channelId, skus);
        return skus.every((sku) => this.sim.quantity(channel.kind, channel.account, sku) === ours.get(sku));
      },
      timeoutMs,
    );
  }

  /**
   * Waits until the marketplace holds our available-to-sell of the SKU and the jobs process has
   * recorded that push (its answer came back): an order placed after this comes after the push.
   */
  async pushRecorded(channel: MarketplaceChannel, sku: string): Promise<void> {
    await this.converged(channel, [sku]);
    const quantity = this.sim.quantity(channel.kind, channel.account, sku);
    await waitFor('the push recorded', async () => (await this.sync(channel.channelId, [sku])).skus.edges[0]?.node.lastPushedQuantity === quantity);
  }

  async sync(channelId: string, skus: string[] | null = null): Promise<Record<string, any>> {
    return (await this.ok(SYNC, { id: channelId, skus })).channel.marketplaceSync;
  }

  /** Counted on-hand movements, in batches of up to 1,000 (each one an event when the quantity moves). */
  async cycleCounts(sku: string, locationId: string, counts: number[]): Promise<void> {
    for (let i = 0; i < counts.length; i += 1000) {
      const inputs = counts.slice(i, i + 1000).map((quantity) => ({ idempotencyKey: randomUUID(), type: 'CYCLE_COUNT', sku, locationId, quantity }));
      await this.ok(`mutation($inputs: [StockMovementInput!]!) { recordMovements(inputs: $inputs) { __typename } }`, { inputs });
    }
  }
}

export async function startSimulator(rateScale = 1, opts: Partial<MarketplaceSimulatorOptions> = {}): Promise<MarketplaceSimulator> {
  // Amazon shows orders at once here: the two-minute delay is a unit test's concern (marketplace-order-feeds).
  return startMarketplaceSimulator({ port: 0, host: '127.0.0.1', walmartFeedProcessingMs: 100, rateScale, amazonVisibilityMs: 0, ...opts });
}

/**
 * A marketplace test's whole world: a secrets directory, the simulator, the five subgraphs, gateway
 * and jobs with marketplaceEnv (and `env`), and a MarketplaceWorld over them; close() ends all three.
 */
export async function startMarketplaceWorld(
  env: Record<string, string> = {},
  simulator: Partial<MarketplaceSimulatorOptions> = {},
): Promise<{ stack: OrdersStack; sim: MarketplaceSimulator; w: MarketplaceWorld; close(): Promise<void> }> {
  const secrets = await secretsDir();
  const sim = await startSimulator(1, simulator);
  const stack = await startOrdersStack({ ...marketplaceEnv(secrets.dir), ...env });
  return {
    stack,
    sim,
    w: new MarketplaceWorld(stack, sim, secrets.dir),
    async close() {
      await stack.close();
      await sim.close();
      await secrets.remove();
    },
  };
}
