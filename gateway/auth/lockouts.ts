import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { closeRedis, createRedis, type RedisClient, type RedisTarget } from '../../lib/redis.js';
import { refused, type RateDecision, type RateLimiter } from '../limits/limits.js';

const OK: RateDecision = { ok: true };

/** How often a replica sends itself a ping through the channel, proving it still hears it. */
const PING_MS = 500;
/** A replica that heard no ping of its own for this long no longer trusts what it heard. */
const DEAF_AFTER_MS = 4 * PING_MS;

export interface LockoutOptions {
  /** Addresses locked out that a replica remembers; past it, it asks Redis again for a while. */
  maxAddresses?: number;
}

/**
 * Failed authentications per caller address (AUTH_FAILURES_PER_MINUTE), and the lockout past them:
 * credentials from a locked address are refused unchecked. Failures are counted in Redis (the
 * `failures` limiter's GCRA, shared by every replica). The step that spends an address's budget
 * publishes the lockout (in the same script) on `<REDIS_KEY_PREFIX>:auth:lockouts`, and every replica
 * keeps what it hears in memory, so checking a request costs no round trip.
 *
 * Memory only answers while it is complete. A lockout lasts at most one failure's interval
 * (window / limit) after the failure that set it, so a replica that has heard the channel without a
 * break for that long knows every lockout still running; it proves it hears the channel by pinging
 * itself through it. Until then, and whenever the subscription drops, its pings stop coming back, or
 * it has had to forget lockouts (more than `maxAddresses`), a check asks Redis, as every check did
 * before. On a Redis Cluster every check asks Redis: a cluster client moves its subscription to
 * another node without telling, so a replica could not know what it missed meanwhile.
 */
export class AuthLockouts {
  private readonly channel: string;
  private readonly me = randomUUID();
  private readonly locked = new Map<string, number>();
  private readonly maxAddresses: number;
  private subscriber: RedisClient | null = null;
  private pinger: NodeJS.Timeout | null = null;
  /** When this replica's pings began to come back without a break (null: they do not). */
  private hearingSince: number | null = null;
  private lastEcho = -Infinity;
  private forgotAt = -Infinity;

  constructor(
    private readonly failures: RateLimiter,
    /** A client for commands (the pings); the subscriber is a connection of its own to `redis`. */
    private readonly commands: RedisClient,
    private readonly redis: RedisTarget,
    keyPrefix: string,
    private readonly log: Logger,
    opts: LockoutOptions = {},
  ) {
    this.channel = `${keyPrefix}:auth:lockouts`;
    this.maxAddresses = opts.maxAddresses ?? 100_000;
  }

  /** Subscribes and starts pinging (not on a cluster); checks ask Redis until this replica has heard the channel long enough. */
  listen(): void {
    if (this.subscriber || this.redis.clusterNodes?.length) return;
    const subscriber = (this.subscriber = createRedis(this.redis, { connectionName: `omnistock-auth-lockouts-${this.me}` }));
    const deaf = () => {
      this.hearingSince = null;
    };
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.heard(message);
    });
    for (const event of ['close', 'reconnecting', 'end']) subscriber.on(event, deaf);
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).catch(deaf);
    });
    this.pinger = setInterval(() => {
      if (Date.now() - this.lastEcho > DEAF_AFTER_MS) deaf();
      this.commands.publish(this.channel, `ping ${this.me}`).catch(() => {});
    }, PING_MS);
    this.pinger.unref();
  }

  /** Refused (429) when the address's failures are spent, else ok: from memory while it is complete, else from Redis. */
  async check(address: string): Promise<RateDecision> {
    if (!this.complete) return this.failures.take(keyOf(address), 0);
    const until = this.locked.get(address);
    if (until === undefined) return OK;
    const waitMs = until - Date.now();
    if (waitMs <= 0) {
      this.locked.delete(address);
      return OK;
    }
    return refused(this.failures.limitOf(keyOf(address)), waitMs);
  }

  /** Counts a failed authentication from the address; the step that locks it tells every replica. */
  async fail(address: string): Promise<void> {
    const { lockedForMs } = await this.failures.count(keyOf(address), 1, { channel: this.channel, subject: address });
    if (lockedForMs > 0) this.lock(address, lockedForMs);
  }

  async close(): Promise<void> {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.hearingSince = null;
    if (subscriber) await closeRedis(subscriber);
  }

  /** Whether every lockout still running is known here, so that checks are answered from memory. */
  get complete(): boolean {
    const now = Date.now();
    if (this.hearingSince === null || now - this.lastEcho > DEAF_AFTER_MS) return false;
    const longest = this.failures.intervalOf(keyOf('')) + DEAF_AFTER_MS;
    return now - this.hearingSince >= longest && now - this.forgotAt >= longest;
  }

  private heard(message: string): void {
    const space = message.indexOf(' ');
    const head = message.slice(0, space);
    const rest = message.slice(space + 1);
    if (head === 'ping') {
      if (rest !== this.me) return;
      const now = Date.now();
      this.hearingSince ??= now;
      this.lastEcho = now;
      return;
    }
    const ms = Number(head);
    if (space > 0 && ms > 0) this.lock(rest, ms);
  }

  private lock(address: string, ms: number): void {
    const until = Date.now() + ms;
    if (!this.locked.has(address) && this.locked.size >= this.maxAddresses) {
      const now = Date.now();
      for (const [a, u] of this.locked) if (u <= now) this.locked.delete(a);
      if (this.locked.size >= this.maxAddresses) {
        // Cannot remember it: ask Redis until every lockout this replica could not keep is over.
        this.forgotAt = now;
        this.log.warn({ addresses: this.locked.size }, 'more addresses locked out than remembered: failed-authentication checks ask Redis for a while');
        return;
      }
    }
    this.locked.set(address, Math.max(until, this.locked.get(address) ?? 0));
  }
}

const keyOf = (address: string) => `authfail:${address}`;
