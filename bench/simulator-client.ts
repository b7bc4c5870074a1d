import type { MarketplaceKind } from '../subgraphs/marketplaces/connectors/types.js';
import type { Fault } from '../tools/marketplace-simulator/state.js';

/**
 * The marketplace simulator's control API, for benchmarks that run it in a process of its own (so
 * the benchmark's own work never delays the moment it stamps a request's arrival: a stalled event
 * loop would make paced requests look like a burst).
 */
export class SimulatorClient {
  constructor(readonly url: string) {}

  baseUrl(kind: MarketplaceKind, account: string): string {
    return `${this.url}/${kind.toLowerCase()}/${account}`;
  }

  /** Amazon: the account's SQS queue of ORDER_CHANGE notifications. */
  queueUrl(account: string): string {
    return `${this.url}/000000000000/${account}`;
  }

  private async get<T>(path: string): Promise<T> {
    return (await (await fetch(`${this.url}/_sim${path}`)).json()) as T;
  }

  private send(method: 'POST' | 'PUT', path: string, body: unknown): Promise<Response> {
    return fetch(`${this.url}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  async quantities(kind: MarketplaceKind, account: string): Promise<Map<string, number>> {
    const body = await this.get<{ quantities: Record<string, number> }>(`/${kind.toLowerCase()}/${account}/quantities`);
    return new Map(Object.entries(body.quantities));
  }

  /** When the marketplace applied each quantity it was sent, per SKU (epoch ms, ascending). */
  async appliedAt(kind: MarketplaceKind, account: string): Promise<Map<string, number[]>> {
    const body = await this.get<{ appliedAt: Record<string, number[]> }>(`/${kind.toLowerCase()}/${account}/applied`);
    return new Map(Object.entries(body.appliedAt));
  }

  async pushCalls(kind: MarketplaceKind, account: string): Promise<number> {
    return (await this.get<{ push: number }>(`/${kind.toLowerCase()}/${account}/calls`)).push;
  }

  async violations(kind: MarketplaceKind, account: string): Promise<{ violations: number; log: unknown[] }> {
    return this.get(`/violations?kind=${kind}&account=${encodeURIComponent(account)}`);
  }

  /**
   * A buyer's order at the marketplace: its id, or null when the marketplace shows fewer units than asked.
   * @throws for any other answer
   */
  async placeOrder(kind: MarketplaceKind, account: string, lines: { sku: string; quantity: number }[]): Promise<string | null> {
    const res = await this.send('POST', `/${kind.toLowerCase()}/${account}/orders`, { lines });
    if (res.status === 409) return null;
    if (!res.ok) throw new Error(`the simulator answered ${res.status} to an order: ${await res.text()}`);
    return ((await res.json()) as { orderId: string }).orderId;
  }

  /** Injects a fault into one account's API (`outage`: every call has its connection reset until the faults are cleared). */
  async inject(kind: MarketplaceKind, account: string, fault: Fault): Promise<void> {
    const res = await this.send('POST', `/${kind.toLowerCase()}/${account}/faults`, fault);
    if (!res.ok) throw new Error(`the simulator answered ${res.status} to a fault: ${await res.text()}`);
  }

  /** Clears every injected fault, of every account. */
  async clearFaults(): Promise<void> {
    const res = await fetch(`${this.url}/_sim/faults`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`the simulator answered ${res.status} to clearing its faults`);
  }

  /** Shopify: where the store sends its order webhooks, signed with `secret`. */
  async setShopifyWebhook(account: string, address: string, secret: string): Promise<void> {
    await this.send('PUT', `/shopify/${account}/webhook`, { address, secret });
  }
}
