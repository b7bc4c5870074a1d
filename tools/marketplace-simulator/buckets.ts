/**
 * A token bucket on the simulator's clock (milliseconds, performance.now()): full at start, refilled
 * continuously. The simulator keeps one per (marketplace, account, endpoint class) — one per
 * (account) for Shopify, whose single bucket every query and mutation draws from.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Tokens at `at` (requests handled out of arrival order never move the clock back). */
  available(at: number): number {
    if (at > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((at - this.last) / 1000) * this.refillPerSecond);
      this.last = at;
    }
    return this.tokens;
  }

  /**
   * Takes `cost` if the bucket holds it at `at`. `toleranceMs` of refill is granted on top, for clock
   * granularity between client and simulator only; the level may then dip below zero by that much.
   */
  take(cost: number, at: number, toleranceMs: number): boolean {
    const slack = (toleranceMs / 1000) * this.refillPerSecond;
    if (this.available(at) + slack < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** Milliseconds until `cost` is available. */
  waitMs(cost: number, at: number): number {
    const missing = cost - this.available(at);
    return missing <= 0 ? 0 : (missing / this.refillPerSecond) * 1000;
  }

  /** Gives back what was charged but not used (Shopify refunds requested minus actual cost). */
  refund(amount: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + amount);
  }
}
