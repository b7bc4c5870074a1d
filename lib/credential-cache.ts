/**
 * Credentials a gateway checked recently, so that a request costs no database query (API keys,
 * known or not) and no signature check (JWTs). An entry lives `ttlMs`, or less when given an
 * earlier end (a JWT's expiry); past `maxEntries` the oldest go first (a flood of made-up
 * credentials cannot grow it). Revoked API keys are dropped at once on every gateway through
 * the registry's `KeyRevocations`; the time to live bounds how late one can be when that announcement is lost.
 */
export class CredentialCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached value, or undefined when not cached or too old. */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, now = Date.now(), until = Infinity): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until: Math.min(now + this.ttlMs, until) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  drop(key: string): void {
    this.entries.delete(key);
  }
}
