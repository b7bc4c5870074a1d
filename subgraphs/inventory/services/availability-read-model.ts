import { setTimeout as sleep } from 'node:timers/promises';
import { StopWhileAway, type RedisClient } from '../../../lib/redis.js';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { availabilityRuleSchema, stockChangedSchema, TOPICS, type AvailabilityRuleChanged, type StockChanged } from '../../../contracts/events.js';
import { NotFoundError } from '../../../lib/errors.js';
import { eventKeys, parseStreamEntry } from '../../../lib/event-stream.js';
import { channelFigure, type AvailabilityFigure } from '../domain/availability-rules.js';
import { availableOf } from '../domain/level-math.js';
import type { ChannelRule } from '../domain/stock.js';
import { itemStore } from '../data/item.store.js';
import { replicaStore } from '../data/replica.store.js';
import { stockLevelStore } from '../data/stock-level.store.js';
import { compareStreamIds } from '../feeds/stock-feed.js';
import type { LiveProtection } from './protection.service.js';

/** Entries per XREAD. */
const READ_BATCH = 1000;
/** Pause after a failed read before the model starts over. */
const RETRY_MS = 250;
/** How often a read-your-writes wait looks again at when the relay last drained the outbox. */
const DRAINED_POLL_MS = 5;

interface LevelState {
  /** What the level may sell (onHand - unexpired reserved - safety stock, at least 0). */
  available: number;
  version: number;
}

interface SkuState {
  levels: Map<string, LevelState>;
  /** The soonest a reservation holding units of the SKU expires (epoch ms; Infinity: none will): from then on the state is reloaded. */
  expiresAt: number;
  /** Units other channels set aside, per channel asking, valid while `heldGen` is the model's. */
  held: Map<string, number>;
  heldGen: number;
  /** Bumped by every change of a level: a figure computed before is not the SKU's any more (figureOf). */
  changes: number;
}

/** A figure kept by figureOf, with what it was computed from. */
interface KeptFigure {
  state: SkuState;
  changes: number;
  rule: ChannelRule;
  setAside: number;
  figure: AvailabilityFigure;
}

/** A change heard for a SKU whose levels are being read: applied once the read is back (an expiry: when, epoch ms). */
type Heard = { stock: StockChanged } | { expiry: number };

export interface ReadModelAnswer {
  /** Per SKU in the order asked; null for a SKU that is not an item. */
  figures: (AvailabilityFigure | null)[];
  /** The stock stream position applied: the answer includes every stock change up to it. */
  sequence: string;
  /** Every change published before this instant is included. */
  asOf: Date;
}

export interface ReadModelOptions {
  /** A client of its own: XREAD BLOCK holds the connection while it waits. */
  redis: RedisClient;
  /** An ordinary client, for what read-your-writes asks of the streams. */
  reader: RedisClient;
  keyPrefix: string;
  /** AVAILABILITY_READ_MODEL_MAX_LAG_MS. */
  maxLagMs: number;
  /** AVAILABILITY_READ_MODEL_MAX_SKUS. */
  maxSkus: number;
  /** AVAILABILITY_READ_MODEL_MAX_FIGURES: (channel, SKU) figures kept as handed out (figureOf). */
  maxFigures: number;
  /** AVAILABILITY_READ_YOUR_WRITES_TIMEOUT_MS. */
  readYourWritesTimeoutMs: number;
  lowStockThreshold: number;
  protection: Pick<LiveProtection, 'withheld'> | null;
  log: Logger;
  metrics: Registry;
}

/**
 * Available-to-sell answered from memory and kept exact by inventory's own events: per SKU, every
 * level's available and version, loaded from MySQL the first time the SKU is read (one statement
 * for every SKU missing), then moved by the `stock` stream; channel rules and set-asides read from
 * inventory's replica and dropped by the `availability-rule` stream. A read for N SKUs it holds is N
 * lookups and no I/O (a PROTECTIVE channel also reads its demand from Redis, as MySQL's answer does).
 *
 * Exact, not approximately fresh:
 * - a level applies only the event of its next version: an older or repeated one is skipped, one
 *   past a gap drops the SKU, read again from MySQL at its next read;
 * - events heard while a SKU is being read are held and applied after (those the read already saw
 *   are older versions, skipped);
 * - a reservation expiring raises what a level may sell with no event until the expiry job runs:
 *   the soonest expiry is kept, and a SKU past it is read again. It comes from the read, from every
 *   stock event (the soonest expiry its figure counts: a writer that began before an expiry may
 *   commit after a read that saw it pass) and from EXPIRY events (an extension, sooner, or landing
 *   after the old expiry passed);
 * - a lost stream (the connection dropped, Redis restarted) empties the model, which refills from
 *   MySQL;
 * - it knows how far it is behind commits, not only behind the streams: inventory's outbox relay
 *   records when it last found the outbox drained (`eventKeys.drained`), and once the model has
 *   read the streams past that, every change committed before then is applied (`completeAt`).
 *   While that is more than maxLagMs ago (the model rebuilding, behind, the relay stopped or
 *   never run), it answers nothing: `answer` returns null and MySQL answers.
 * Reservations and every write still decide on MySQL alone: this only answers reads.
 */
export class AvailabilityReadModel {
  private readonly skus = new Map<string, SkuState>();
  /** The last figures handed out per (channel, SKU), at most `maxFigures`, oldest out first. */
  private readonly figures = new Map<string, KeptFigure>();
  /** Per SKU being read from MySQL, the buffer of each read in flight (two requests may read one SKU at once). */
  private readonly loading = new Map<string, Heard[][]>();
  private readonly rules = new Map<string, ChannelRule>();
  /** One copy of each location id for every level that names it (a SKU holds one per location). */
  private readonly locationIds = new Map<string, string>();
  /** Whether the replica holds any set-aside at all (null: not known); while none, none is read per SKU. */
  private anySetAside: boolean | null = null;
  /** Bumped by every change of rules or set-asides: a read begun before it is used but not kept. */
  private ruleGen = 0;
  private heldGen = 0;
  /** Bumped when the model starts over: reads begun before are used but not kept. */
  private epoch = 0;
  private position = { stock: '0-0', rule: '0-0' };
  /** Every event committed before this instant (epoch ms) is applied; 0: none known yet (or no relay runs). */
  private completeAt = 0;
  private lost = true;
  private running = false;
  private loop: Promise<void> | null = null;
  /** The loop's Redis commands, given up at a stop while Redis is away. */
  private readonly commands: StopWhileAway;
  private readonly waiters = new Set<{ stock: string; rule: string; done: (applied: boolean) => void }>();
  private readonly keys: { stock: string; rule: string; drained: string };

  private readonly staleness: Histogram;
  private readonly entries: Counter<'from'>;
  private readonly loads: Counter;
  private readonly resets: Counter<'reason'>;

  constructor(
    private readonly ds: DataSource,
    private readonly opts: ReadModelOptions,
  ) {
    this.commands = new StopWhileAway(opts.redis);
    this.keys = {
      stock: eventKeys.stream(opts.keyPrefix, TOPICS.stock),
      rule: eventKeys.stream(opts.keyPrefix, TOPICS.availabilityRule),
      // Both streams carry inventory's own outbox.
      drained: eventKeys.drained(opts.keyPrefix, 'inventory'),
    };
    const registers = [opts.metrics];
    this.staleness = new Histogram({
      name: 'omnistock_availability_staleness_seconds',
      help: 'From a stock change committing to the availability read model applying it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.entries = new Counter({
      name: 'omnistock_availability_entries_total',
      help: 'availability entries answered, by where from: the read model, or MySQL (read model off, behind or rebuilding, or read-your-writes timing out)',
      labelNames: ['from'] as const,
      registers,
    });
    this.loads = new Counter({ name: 'omnistock_availability_read_model_loads_total', help: 'SKUs the availability read model read from MySQL (first read, past a gap or an expiry)', registers });
    this.resets = new Counter({
      name: 'omnistock_availability_read_model_resets_total',
      help: 'Times the availability read model dropped state: a SKU past a version gap (gap), or everything after a lost stream (lost_stream)',
      labelNames: ['reason'] as const,
      registers,
    });
    const skus = this.skus;
    new Gauge({
      name: 'omnistock_availability_read_model_skus',
      help: 'SKUs the availability read model holds',
      registers,
      collect() {
        this.set(skus.size);
      },
    });
    opts.redis.on('close', () => {
      this.lost = true;
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.opts.redis.disconnect();
    // Disconnecting fails the command in flight, unless Redis is away: then it is given up.
    await this.commands.stopping(this.loop);
    for (const w of this.waiters) w.done(false);
  }

  /** Counts entries MySQL answered instead. */
  countDatabase(entries: number): void {
    this.entries.inc({ from: 'database' }, entries);
  }

  /**
   * The channel's figures for `skus` from memory (reading from MySQL only the SKUs it does not hold);
   * null when the model may not answer now (it is rebuilding, or behind the streams by more than
   * maxLagMs), and the caller asks MySQL.
   * @throws NotFoundError for an unknown channel
   */
  async answer(channelId: string, skus: readonly string[]): Promise<ReadModelAnswer | null> {
    if (!this.serving()) return null;
    const epoch = this.epoch;
    const rule = await this.rule(channelId);
    const now = Date.now();
    const states = new Map<string, SkuState>();
    const missing: string[] = [];
    for (const sku of skus) {
      const s = this.skus.get(sku);
      if (s && s.expiresAt > now) states.set(sku, s);
      else missing.push(sku);
    }
    if (missing.length) {
      const loaded = await this.load(missing);
      if (!loaded) return null;
      for (const [sku, s] of loaded) states.set(sku, s);
    }
    const [withheld, held] = await Promise.all([this.opts.protection?.withheld(rule, skus), this.held(channelId, skus, states)]);
    if (epoch !== this.epoch || !this.serving()) return null;
    // A SKU dropped while this read waited (past a gap, or to make room) may have missed a change.
    for (const [sku, s] of states) if (this.skus.get(sku) !== s) return null;
    const figures = skus.map((sku) => {
      const s = states.get(sku);
      return s ? this.figureOf(channelId, sku, s, rule, (withheld?.get(sku) ?? 0) + (held.get(sku) ?? 0)) : null;
    });
    this.entries.inc({ from: 'read_model' }, skus.length);
    return { figures, sequence: this.position.stock, asOf: new Date(this.completeAt) };
  }

  /**
   * The SKU's figure on the channel, the same object for as long as its levels, the channel's rule
   * and what is set aside are unchanged: what is built from a figure may be kept by it
   * (api/availability-answers.ts keeps its JSON). Figures are shared: nobody changes one.
   */
  private figureOf(channelId: string, sku: string, s: SkuState, rule: ChannelRule, setAside: number): AvailabilityFigure {
    const key = `${channelId}\u0000${sku}`;
    const kept = this.figures.get(key);
    if (kept && kept.state === s && kept.changes === s.changes && kept.rule === rule && kept.setAside === setAside) return kept.figure;
    const figure = channelFigure(rule, (locationId) => s.levels.get(locationId)?.available ?? 0, setAside, this.opts.lowStockThreshold);
    if (!kept && this.figures.size >= this.opts.maxFigures) this.figures.delete(this.figures.keys().next().value!);
    this.figures.set(key, { state: s, changes: s.changes, rule, setAside, figure });
    return figure;
  }

  /**
   * While MySQL is unreachable: the figures of the SKUs the model holds, as of `asOf` (what it had
   * applied when the relay last drained the outbox), with no I/O but the channel's demand; null per
   * SKU it does not hold, and null altogether when it holds no rule of the channel or no set-aside
   * figures it needs.
   */
  async lastKnown(channelId: string, skus: readonly string[]): Promise<{ figures: (AvailabilityFigure | undefined)[]; asOf: Date } | null> {
    const rule = this.rules.get(channelId);
    if (!rule || this.lost || !this.completeAt || this.anySetAside === null) return null;
    const withheld = await this.opts.protection?.withheld(rule, skus);
    const figures = skus.map((sku) => {
      const s = this.skus.get(sku);
      const held = this.anySetAside ? (s?.heldGen === this.heldGen ? s.held.get(channelId) : undefined) : 0;
      if (!s || held === undefined) return undefined;
      return channelFigure(rule, (locationId) => s.levels.get(locationId)?.available ?? 0, (withheld?.get(sku) ?? 0) + held, this.opts.lowStockThreshold);
    });
    return { figures, asOf: new Date(this.completeAt) };
  }

  /**
   * Waits until the model has applied every change committed before the call: inventory's relay
   * has found its outbox drained since (everything committed before is in the streams), and the
   * model has read the streams up to where they ended then.
   * @returns false when that took longer than readYourWritesTimeoutMs (the caller asks MySQL)
   */
  async awaitCommitted(): Promise<boolean> {
    const since = Date.now();
    const deadline = since + this.opts.readYourWritesTimeoutMs;
    if (this.completeAt >= since) return true;
    while (Number((await this.opts.reader.get(this.keys.drained)) ?? 0) < since) {
      if (Date.now() >= deadline) return false;
      await sleep(DRAINED_POLL_MS);
    }
    const [stock, rule] = await Promise.all([this.head(this.opts.reader, this.keys.stock), this.head(this.opts.reader, this.keys.rule)]);
    return this.awaitPosition({ stock, rule }, deadline);
  }

  /**
   * Waits until the model has applied the stock stream up to `sequence` (a stock event's stream id,
   * as subscriptions hand them out).
   * @returns false past readYourWritesTimeoutMs
   */
  awaitSequence(sequence: string): Promise<boolean> {
    return this.awaitPosition({ stock: sequence, rule: '0-0' }, Date.now() + this.opts.readYourWritesTimeoutMs);
  }

  private awaitPosition(target: { stock: string; rule: string }, deadline: number): Promise<boolean> {
    if (this.applied(target)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        ...target,
        done: (applied: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(applied);
        },
      };
      const timer = setTimeout(() => waiter.done(false), Math.max(0, deadline - Date.now()));
      this.waiters.add(waiter);
    });
  }

  /** Whether the model may answer: it has applied every change committed up to maxLagMs ago, on a live connection. */
  private serving(): boolean {
    return !this.lost && this.opts.redis.status === 'ready' && Date.now() - this.completeAt <= this.opts.maxLagMs;
  }

  private applied(target: { stock: string; rule: string }): boolean {
    return !this.lost && compareStreamIds(this.position.stock, target.stock) >= 0 && compareStreamIds(this.position.rule, target.rule) >= 0;
  }

  private async run(): Promise<void> {
    // A blocking read returns at least this often, so an idle model still knows it is current.
    const blockMs = Math.max(10, Math.min(250, Math.floor(this.opts.maxLagMs / 4)));
    while (this.running) {
      try {
        if (this.lost) await this.startOver();
        // Read before the streams: what the relay published before it drained is in what XREAD returns.
        const drained = Number((await this.commands.command(this.opts.redis.get(this.keys.drained))) ?? 0);
        const result = (await this.commands.command(
          this.opts.redis.xread('COUNT', READ_BATCH, 'BLOCK', blockMs, 'STREAMS', this.keys.stock, this.keys.rule, this.position.stock, this.position.rule),
        )) as [string, [string, string[]][]][] | null;
        if (this.lost) continue;
        let full = false;
        for (const [stream, entries] of result ?? []) {
          if (entries.length >= READ_BATCH) full = true;
          const isStock = stream === this.keys.stock;
          for (const [id, fields] of entries) {
            const entry = parseStreamEntry(fields);
            if (entry.success) {
              if (isStock) this.onStock(entry.data.payload);
              else this.onRule(entry.data.payload);
            }
            if (isStock) this.position.stock = id;
            else this.position.rule = id;
          }
        }
        if (!full && drained > this.completeAt) this.completeAt = drained;
        for (const w of this.waiters) if (this.applied(w)) w.done(true);
      } catch (err) {
        if (!this.running) return;
        this.lost = true;
        this.opts.log.warn({ err: (err as Error).message }, 'availability read model lost its stream; MySQL answers until it has started over');
        await sleep(RETRY_MS);
      }
    }
  }

  /** Drops everything and reads on from where the streams end now: what changes after is heard, the rest is read from MySQL. */
  private async startOver(): Promise<void> {
    this.epoch++;
    this.skus.clear();
    this.figures.clear();
    this.loading.clear();
    this.rules.clear();
    this.anySetAside = null;
    this.ruleGen++;
    this.heldGen++;
    this.completeAt = 0;
    const [stock, rule] = await Promise.all([this.head(this.opts.redis, this.keys.stock), this.head(this.opts.redis, this.keys.rule)]);
    this.position = { stock, rule };
    if (this.lost && this.running) this.resets.inc({ reason: 'lost_stream' });
    this.lost = false;
    this.opts.log.info({ position: this.position }, 'availability read model starts from the streams’ end');
  }

  private async head(redis: RedisClient, stream: string): Promise<string> {
    const [last] = await this.commands.command(redis.xrevrange(stream, '+', '-', 'COUNT', 1));
    return last?.[0] ?? '0-0';
  }

  private onStock(payload: unknown): void {
    const parsed = stockChangedSchema.safeParse(payload);
    if (!parsed.success) {
      // Which SKU it was is unknown: start over rather than miss a change.
      this.opts.log.warn({ issues: parsed.error.issues }, 'a stock event does not parse; the availability read model starts over');
      this.lost = true;
      return;
    }
    const e = parsed.data;
    this.staleness.observe(Math.max(0, Date.now() - Date.parse(e.at)) / 1000);
    const state = this.skus.get(e.sku);
    if (state) this.applyStock(e.sku, state, e);
    // Also to the reads in flight (of a SKU held but past its expiry too): what they read may predate it.
    for (const buffer of this.loading.get(e.sku) ?? []) buffer.push({ stock: e });
  }

  /**
   * Applies a level's next version; drops the SKU past a gap.
   * @returns false at a gap
   */
  private applyStock(sku: string, state: SkuState, e: StockChanged): boolean {
    const level = state.levels.get(e.locationId);
    // A level with no row yet is at version 0: its first change makes version 1.
    const version = level?.version ?? 0;
    if (e.version <= version) return true;
    if (e.version !== version + 1) {
      if (this.skus.get(sku) === state) this.skus.delete(sku);
      this.resets.inc({ reason: 'gap' });
      return false;
    }
    state.levels.set(this.locationId(e.locationId), { available: e.after.available, version: e.version });
    state.changes++;
    if (e.expiresAt) state.expiresAt = Math.min(state.expiresAt, Date.parse(e.expiresAt));
    return true;
  }

  private onRule(payload: unknown): void {
    const parsed = availabilityRuleSchema.safeParse(payload);
    if (!parsed.success) return;
    const c: AvailabilityRuleChanged = parsed.data;
    if (c.kind === 'EXPIRY') {
      // The sooner of the two: a SKU read after the old expiry passed is read again.
      const at = Math.min(...[c.expiresAt, c.previousExpiresAt].map((t) => (t ? Date.parse(t) : Infinity)));
      const state = this.skus.get(c.sku);
      if (state) state.expiresAt = Math.min(state.expiresAt, at);
      for (const buffer of this.loading.get(c.sku) ?? []) buffer.push({ expiry: at });
      return;
    }
    this.heldGen++;
    if (c.kind === 'SET_ASIDE') {
      this.anySetAside = null;
      return;
    }
    this.ruleGen++;
    if (c.kind === 'CHANNEL') this.rules.delete(c.channelId);
    else this.rules.clear();
  }

  /** @throws NotFoundError for a channel the replica does not know */
  private async rule(channelId: string): Promise<ChannelRule> {
    const kept = this.rules.get(channelId);
    if (kept) return kept;
    const gen = this.ruleGen;
    const rule = await replicaStore.channelRule(this.ds.manager, channelId);
    if (!rule) throw new NotFoundError('Channel', channelId);
    if (gen === this.ruleGen) this.rules.set(channelId, rule);
    return rule;
  }

  /**
   * Reads the SKUs' levels from MySQL in one statement (with their reservations' soonest expiry),
   * applies what was heard meanwhile, and keeps them.
   * @returns per SKU read, its state (SKUs that are no item are absent); null when what was heard
   *   meanwhile has a gap or the model started over (MySQL answers this read)
   */
  private async load(skus: readonly string[]): Promise<Map<string, SkuState> | null> {
    const epoch = this.epoch;
    const heard = new Map<string, Heard[]>();
    for (const sku of skus) {
      const buffer: Heard[] = [];
      heard.set(sku, buffer);
      this.loading.set(sku, [...(this.loading.get(sku) ?? []), buffer]);
    }
    try {
      const now = new Date();
      const [items, rows] = await Promise.all([itemStore.findBySkus(this.ds.manager, skus), stockLevelStore.findWithNextExpiry(this.ds.manager, skus, now)]);
      this.loads.inc(skus.length);
      const states = new Map<string, SkuState>();
      for (const item of items) states.set(item.sku, { levels: new Map(), expiresAt: Infinity, held: new Map(), heldGen: -1, changes: 0 });
      for (const level of rows) {
        const s = states.get(level.sku);
        if (!s) continue;
        s.levels.set(this.locationId(level.locationId), { available: availableOf(level), version: level.version });
        if (level.nextExpiry) s.expiresAt = Math.min(s.expiresAt, level.nextExpiry.getTime());
      }
      if (epoch !== this.epoch || !this.running) return null;
      let complete = true;
      for (const [sku, s] of states) {
        let exact = true;
        for (const h of heard.get(sku)!) {
          if ('stock' in h) exact &&= this.applyStock(sku, s, h.stock);
          else s.expiresAt = Math.min(s.expiresAt, h.expiry);
        }
        // A gap among what was heard leaves the SKU for the next read to load again.
        if (exact) this.keep(sku, s);
        complete &&= exact;
      }
      return complete ? states : null;
    } finally {
      for (const [sku, buffer] of heard) {
        const others = this.loading.get(sku)?.filter((b) => b !== buffer);
        if (others?.length) this.loading.set(sku, others);
        else this.loading.delete(sku);
      }
    }
  }

  private locationId(id: string): string {
    let kept = this.locationIds.get(id);
    if (kept === undefined) {
      // Bounded like the SKUs: past it the copies start over (only memory is at stake).
      if (this.locationIds.size >= this.opts.maxSkus) this.locationIds.clear();
      this.locationIds.set(id, id);
      kept = id;
    }
    return kept;
  }

  private keep(sku: string, state: SkuState): void {
    this.skus.delete(sku);
    if (this.skus.size >= this.opts.maxSkus) {
      // The oldest kept tenth goes; a SKU read again is read from MySQL again.
      let drop = Math.ceil(this.opts.maxSkus / 10);
      for (const key of this.skus.keys()) {
        this.skus.delete(key);
        if (--drop === 0) break;
      }
    }
    this.skus.set(sku, state);
  }

  /** Per SKU, the units other channels sharing a source with this one set aside (replicaStore.heldForOthers), kept per SKU. */
  private async held(channelId: string, skus: readonly string[], states: ReadonlyMap<string, SkuState>): Promise<Map<string, number>> {
    const gen = this.heldGen;
    if (this.anySetAside === null) {
      const any = await replicaStore.anySetAside(this.ds.manager);
      if (gen === this.heldGen) this.anySetAside = any;
      if (!any) return new Map();
    } else if (!this.anySetAside) {
      return new Map();
    }
    const result = new Map<string, number>();
    const missing: string[] = [];
    for (const sku of skus) {
      const s = states.get(sku);
      const units = s && s.heldGen === this.heldGen ? s.held.get(channelId) : undefined;
      if (units === undefined) missing.push(sku);
      else result.set(sku, units);
    }
    if (!missing.length) return result;
    const read = await replicaStore.heldForOthers(this.ds.manager, channelId, missing);
    for (const sku of missing) {
      const units = read.get(sku) ?? 0;
      result.set(sku, units);
      const s = states.get(sku);
      if (!s || gen !== this.heldGen) continue;
      if (s.heldGen !== gen) {
        s.held.clear();
        s.heldGen = gen;
      }
      s.held.set(channelId, units);
    }
    return result;
  }
}
