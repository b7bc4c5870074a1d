import type { RedisClient } from '../lib/redis.js';
import { slotTag } from '../lib/redis-keys.js';

/** Slots per window: the rate follows a burst within a fifth of the window (three slots). */
const SLOTS = 15;
const RECENT_SLOTS = 3;

/** A SKU's demand as protection reads it. */
export interface Demand {
  /** Units per second sold or reserved on every channel, by when they sold: over the window, or over its last fifth when that is higher (a burst). */
  unitsPerSecond: number;
  /**
   * Units sold somewhere that we have not heard of yet, by Little's law: the SKU's rate times how
   * late a unit sold reaches us on average (over every SKU in the window: the channel mix decides
   * it, and every SKU's sales tell it; a till batch a quarter hour long makes its units 7.5 minutes
   * late on average).
   */
  unreported: number;
  /** That mean lateness of a unit, in milliseconds. */
  meanLatenessMs: number;
}

/** Demand seen in the stock stream: units of a SKU sold or reserved, and when they sold when that was earlier. */
export interface DemandEntry {
  sku: string;
  units: number;
  /** When the sale happened, for one reported late (epoch ms); absent: now. */
  occurredAt?: number;
}

/** The key of every SKU's counts together (no SKU holds `*`). */
const ALL = '*';

/**
 * Each SKU's recent demand, counted per slot (a fifteenth of PROTECT_WINDOW_MS) in Redis
 * so every jobs process and the subgraph read the same figures: the units sold or reserved (from the
 * stock stream) and, for sales reported after they happened (a till batch, a marketplace order taken
 * in after the marketplace's delay), their units times how late they came. And what protective
 * channels last withheld per SKU. Counts expire with their window: nothing to clean up.
 */
export class DemandMeter {
  private readonly slotMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** PROTECT_WINDOW_MS. */
    private readonly windowMs: number,
  ) {
    this.slotMs = Math.max(100, Math.floor(windowMs / SLOTS));
  }

  private key(kind: 'units' | 'late', sku: string, slot: number): string {
    // One MULTI and one MGET span SKUs and the all-SKU counts: one slot for every counter on a cluster.
    return `${slotTag(`${this.prefix}:demand`)}:${kind}:${sku}:${slot}`;
  }

  private async add(amounts: { kind: 'units' | 'late'; sku: string; amount: number; at: number }[], now: number): Promise<void> {
    const tx = this.redis.multi();
    let any = false;
    for (const { kind, sku, amount, at } of amounts) {
      // Older than the window: it no longer counts.
      if (!(amount > 0) || at <= now - this.windowMs) continue;
      for (const key of [this.key(kind, sku, Math.floor(at / this.slotMs)), this.key(kind, ALL, Math.floor(at / this.slotMs))]) {
        tx.incrby(key, Math.round(amount));
        tx.pexpire(key, Math.max(1, at + this.windowMs + 2 * this.slotMs - now));
      }
      any = true;
    }
    if (any) await tx.exec();
  }

  /**
   * Counts demand: each entry's units in the slot of when they sold, and for one reported late, its
   * units times how late (now).
   */
  record(entries: readonly DemandEntry[], now = Date.now()): Promise<void> {
    return this.add(
      entries.flatMap((e) => {
        const at = Math.min(e.occurredAt ?? now, now);
        return [
          { kind: 'units' as const, sku: e.sku, amount: e.units, at },
          { kind: 'late' as const, sku: e.sku, amount: e.units * (now - at), at: now },
        ];
      }),
      now,
    );
  }

  /** Counts sales reported late whose units the stock stream counts (a marketplace order's reservation): per SKU, units times milliseconds late, summed. */
  recordLate(unitMs: ReadonlyMap<string, number>, now = Date.now()): Promise<void> {
    return this.add([...unitMs].map(([sku, amount]) => ({ kind: 'late' as const, sku, amount, at: now })), now);
  }

  /** Each SKU's demand now (zeros for one without any). */
  async demand(skus: readonly string[], at = Date.now()): Promise<Map<string, Demand>> {
    const out = new Map<string, Demand>();
    if (!skus.length) return out;
    // The current slot is partly over: a span is its whole slots before this one and what passed of this one.
    const last = Math.floor(at / this.slotMs);
    const elapsed = at - last * this.slotMs;
    const read = SLOTS + 1;
    const keys = [ALL, ...skus].flatMap((sku) => Array.from({ length: read }, (_, i) => [this.key('units', sku, last - i), this.key('late', sku, last - i)]).flat());
    const values = (await this.redis.mget(keys)).map((v) => Number(v ?? 0));
    const recentMs = RECENT_SLOTS * this.slotMs + elapsed;
    const windowMs = SLOTS * this.slotMs + elapsed;
    const sums = (s: number) => {
      const base = s * read * 2;
      let units = 0;
      let late = 0;
      let recentUnits = 0;
      for (let i = 0; i < read; i++) {
        units += values[base + 2 * i]!;
        late += values[base + 2 * i + 1]!;
        if (i === RECENT_SLOTS) recentUnits = units;
      }
      return { units, late, recentUnits };
    };
    const all = sums(0);
    const meanLatenessMs = all.units > 0 ? all.late / all.units : 0;
    skus.forEach((sku, s) => {
      const { units, recentUnits } = sums(s + 1);
      const unitsPerSecond = Math.max(units / windowMs, recentUnits / recentMs) * 1000;
      out.set(sku, { unitsPerSecond, unreported: (unitsPerSecond * meanLatenessMs) / 1000, meanLatenessMs });
    });
    return out;
  }

  /** Remembers what a protective channel withheld of each SKU at its last push. */
  async setWithheld(channelId: string, withheld: ReadonlyMap<string, number>): Promise<void> {
    if (!withheld.size) return;
    const key = `${this.prefix}:protection:withheld:${channelId}`;
    await this.redis.multi().hset(key, Object.fromEntries(withheld)).pexpire(key, 7 * 24 * 3_600_000).exec();
  }

  /** What the channel withheld of each SKU at its last push (absent: nothing recorded). */
  async withheld(channelId: string, skus: readonly string[]): Promise<Map<string, number>> {
    if (!skus.length) return new Map();
    const values = await this.redis.hmget(`${this.prefix}:protection:withheld:${channelId}`, ...skus);
    return new Map(skus.flatMap((sku, i) => (values[i] == null ? [] : [[sku, Number(values[i])] as const])));
  }
}
