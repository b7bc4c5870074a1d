import type { Redis } from 'ioredis';

const MINUTE_MS = 60_000;

/**
 * Each SKU's recent demand (units sold or reserved, on every channel), counted per minute in Redis
 * from the stock stream, so every jobs process and the subgraph read the same rate; and what
 * protective channels last withheld per SKU. Counts expire with their window: nothing to clean up.
 */
export class DemandMeter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** MARKETPLACE_PROTECT_WINDOW_MS: the rate is the units of this window over its length. */
    private readonly windowMs: number,
  ) {}

  private key(sku: string, minute: number): string {
    return `${this.prefix}:marketplace:demand:${sku}:${minute}`;
  }

  /** Counts `units` of demand for each SKU now. */
  async record(units: ReadonlyMap<string, number>, at = Date.now()): Promise<void> {
    if (!units.size) return;
    const minute = Math.floor(at / MINUTE_MS);
    const tx = this.redis.multi();
    for (const [sku, n] of units) {
      if (n <= 0) continue;
      tx.incrby(this.key(sku, minute), n);
      tx.pexpire(this.key(sku, minute), this.windowMs + 2 * MINUTE_MS);
    }
    await tx.exec();
  }

  /** Units per second of each SKU over the window (0 for one without demand). */
  async rates(skus: readonly string[], at = Date.now()): Promise<Map<string, number>> {
    const minutes = Math.max(1, Math.ceil(this.windowMs / MINUTE_MS));
    const last = Math.floor(at / MINUTE_MS);
    const out = new Map<string, number>();
    if (!skus.length) return out;
    const keys = skus.flatMap((sku) => Array.from({ length: minutes }, (_, i) => this.key(sku, last - i)));
    const values = await this.redis.mget(keys);
    skus.forEach((sku, s) => {
      let sum = 0;
      for (let i = 0; i < minutes; i++) sum += Number(values[s * minutes + i] ?? 0);
      out.set(sku, sum / ((minutes * MINUTE_MS) / 1000));
    });
    return out;
  }

  /** Remembers what a protective channel withheld of each SKU at its last push. */
  async setWithheld(channelId: string, withheld: ReadonlyMap<string, number>): Promise<void> {
    if (!withheld.size) return;
    const key = `${this.prefix}:marketplace:withheld:${channelId}`;
    await this.redis.multi().hset(key, Object.fromEntries(withheld)).pexpire(key, 7 * 24 * 3_600_000).exec();
  }

  /** What the channel withheld of each SKU at its last push (absent: nothing recorded). */
  async withheld(channelId: string, skus: readonly string[]): Promise<Map<string, number>> {
    if (!skus.length) return new Map();
    const values = await this.redis.hmget(`${this.prefix}:marketplace:withheld:${channelId}`, ...skus);
    return new Map(skus.flatMap((sku, i) => (values[i] == null ? [] : [[sku, Number(values[i])] as const])));
  }
}
