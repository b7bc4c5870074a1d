import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { manyByKey } from '../../../lib/batch.js';
import { isDatabaseUnavailable } from '../../../lib/db.js';
import { DatabaseUnavailableError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { idSchema, skuSchema } from '../../../lib/validation.js';
import { channelFigure, type AvailabilityFigure, type StockStatus } from '../domain/availability-rules.js';
import type { AvailabilitySnapshots, SnapshotEntry } from '../data/availability-snapshot.js';
import { itemReads } from '../data/item.store.js';
import { primaryReads, type Reads } from '../../../lib/read-replicas.js';
import { availableOf } from '../domain/level-math.js';
import type { AvailabilityReadModel } from './availability-read-model.js';
import type { LiveProtection } from './protection.service.js';
import type { ReplicaService } from './replica.service.js';
import { stockLevelReads } from '../data/stock-level.store.js';

const argsSchema = z.object({ channelId: idSchema, skus: z.array(skuSchema).min(1).max(100), consistency: z.enum(['EVENTUAL', 'READ_YOUR_WRITES']) });

export type { StockStatus };
export type ReadConsistency = 'EVENTUAL' | 'READ_YOUR_WRITES';

export interface ChannelAvailability extends AvailabilityFigure {
  sku: string;
  channelId: string;
  /** True when MySQL was unreachable and this is the last figure computed, from the snapshot. */
  stale: boolean;
  /** The figure includes every change committed before this instant. */
  asOf: Date;
  /** Whole seconds since asOf when stale; null when fresh. */
  staleForSeconds: number | null;
  /** The stock stream position the read model had applied when it answered; null when MySQL answered. */
  sequence: string | null;
  /**
   * The read model's figure these numbers are: the same object for as long as they are unchanged,
   * so what is built from them may be kept by it. Null when MySQL or a snapshot answered.
   */
  figure: AvailabilityFigure | null;
}

/**
 * One entry of an availability answer: the figure, null for an unknown SKU, or (MySQL unreachable)
 * the error of a SKU with no snapshot, which GraphQL reports at that entry's path.
 */
export type AvailabilityEntry = ChannelAvailability | null | DatabaseUnavailableError;

/** What a channel may sell now: the storefront's number. */
export class AvailabilityService {
  constructor(
    private readonly ds: DataSource,
    private readonly replicas: ReplicaService,
    private readonly lowStockThreshold: number,
    private readonly snapshots: AvailabilitySnapshots,
    /** What a PROTECTIVE channel withholds per SKU; absent: nothing (a channel read without protection). */
    private readonly protection: Pick<LiveProtection, 'withheld'> | null,
    /** Counts entries answered from snapshots (`served`) or left without one (`missing`) while MySQL is unreachable. */
    private readonly countStale: (outcome: 'served' | 'missing', entries: number) => void = () => {},
    /** The read model answering from memory; null: MySQL answers every read (AVAILABILITY_READ_MODEL=off). */
    private readonly readModel: AvailabilityReadModel | null = null,
  ) {}

  /**
   * Per SKU, in the order given (null for unknown SKUs): the channel's available-to-sell over its
   * active sources (less what protection withholds on a PROTECTIVE channel and what other channels
   * set aside), and the per-location breakdown. The read model answers when it may (see
   * AvailabilityReadModel); with READ_YOUR_WRITES, once it has applied every change committed
   * before the call, and with `afterSequence`, once it has applied the stock stream up to it. Otherwise MySQL answers, in three statements whatever the number of SKUs
   * (items and levels where `read.reads` sends an EVENTUAL read: a read replica that includes the
   * caller's writes; READ_YOUR_WRITES and reads without `reads` on the primary), and
   * each answer is kept as the (channel, SKU)'s snapshot; while MySQL is unreachable the snapshots
   * answer instead, marked stale, and a SKU without one is a DatabaseUnavailableError entry.
   * @throws BadUserInputError for a malformed channel id or SKU list
   * @throws NotFoundError for an unknown channel
   * @throws DatabaseUnavailableError when MySQL is unreachable and no SKU asked for has a snapshot
   */
  async forChannel(channelId: string, skus: string[], read: { consistency?: ReadConsistency | null; afterSequence?: string; reads?: Reads } = {}): Promise<AvailabilityEntry[]> {
    const v = parseInput(argsSchema, { channelId, skus, consistency: read.consistency ?? 'EVENTUAL' });
    try {
      if (this.readModel && (await this.caughtUp(this.readModel, v.consistency, read.afterSequence))) {
        const answer = await this.readModel.answer(v.channelId, v.skus);
        if (answer) {
          return answer.figures.map((f, i) =>
            // Written out rather than spread: one shape for every entry (a spread of 20 figures was 8 % of a storefront read's CPU).
            f
              ? { availableToSell: f.availableToSell, status: f.status, locations: f.locations, sku: v.skus[i]!, channelId: v.channelId, stale: false, asOf: answer.asOf, staleForSeconds: null, sequence: answer.sequence, figure: f }
              : null,
          );
        }
      }
      this.readModel?.countDatabase(v.skus.length);
      // READ_YOUR_WRITES means every change committed before the call, whoever made it: only the primary has them all.
      const fresh = v.consistency === 'READ_YOUR_WRITES';
      return await this.fromDatabase(v.channelId, v.skus, fresh, !fresh && read.reads ? read.reads : primaryReads(this.ds));
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      return this.fromSnapshots(v.channelId, v.skus);
    }
  }

  /** Whether the read model has applied what the read asks it to include (waiting for it, within its timeout). */
  private caughtUp(model: AvailabilityReadModel, consistency: ReadConsistency, afterSequence: string | undefined): Promise<boolean> {
    if (consistency === 'READ_YOUR_WRITES') return model.awaitCommitted();
    if (afterSequence) return model.awaitSequence(afterSequence);
    return Promise.resolve(true);
  }

  /**
   * @param fresh read the channel's rule and set-asides again rather than as kept for AVAILABILITY_RULE_SETTLE_MS
   * @param reads where items and levels are read (the channel's rule and set-asides: the primary, cached)
   */
  private async fromDatabase(channelId: string, skus: string[], fresh: boolean, reads: Reads): Promise<(ChannelAvailability | null)[]> {
    const rule = await this.replicas.channelRule(channelId, fresh);
    if (!rule) throw new NotFoundError('Channel', channelId);
    const sources = rule.sources.filter((s) => s.status === 'ACTIVE');
    const [[items, levels, asOf], withheld, held] = await Promise.all([
      // asOf: the read's (taken before reading on the primary; a replica's proven position otherwise): the figure is at least as new as this.
      reads.run(async (r) => [...(await Promise.all([itemReads.findBySkus(r, skus), stockLevelReads.findAt(r, skus, sources.map((s) => s.locationId), new Date())])), r.asOf] as const),
      this.protection?.withheld(rule, skus),
      this.replicas.heldForOthers(channelId, skus, fresh),
    ]);
    const known = new Set(items.map((i) => i.sku));
    const levelsBySku = manyByKey(skus, levels, (l) => l.sku);
    const answers = skus.map((sku, i): ChannelAvailability | null => {
      if (!known.has(sku)) return null;
      const byLocation = new Map(levelsBySku[i]!.map((l) => [l.locationId, availableOf(l)]));
      const figure = channelFigure(rule, (locationId) => byLocation.get(locationId) ?? 0, (withheld?.get(sku) ?? 0) + (held.get(sku) ?? 0), this.lowStockThreshold);
      return { ...figure, sku, channelId, stale: false, asOf, staleForSeconds: null, sequence: null, figure: null };
    });
    this.snapshots.save(channelId, answers.flatMap((a) => (a ? [{ sku: a.sku, figure: a }] : [])), asOf);
    return answers;
  }

  private async fromSnapshots(channelId: string, skus: string[]): Promise<AvailabilityEntry[]> {
    // The read model's last figures first: they are as new as the last events the relay published.
    const known = await this.readModel?.lastKnown(channelId, skus).catch(() => null);
    let kept: (SnapshotEntry | null)[];
    try {
      kept = known?.figures.every((f) => f) ? [] : await this.snapshots.load(channelId, skus);
    } catch {
      if (!known) {
        this.countStale('missing', skus.length);
        throw new DatabaseUnavailableError('The database is unreachable and no availability snapshot could be read. Retry shortly.');
      }
      kept = [];
    }
    if (known) kept = skus.map((_, i) => (known.figures[i] ? { ...known.figures[i], asOf: known.asOf } : (kept[i] ?? null)));
    const served = kept.filter((s) => s !== null).length;
    this.countStale('missing', skus.length - served);
    if (!served) {
      throw new DatabaseUnavailableError('The database is unreachable and no availability is known for these SKUs yet. Retry shortly.');
    }
    this.countStale('served', served);
    const now = Date.now();
    return skus.map((sku, i) => {
      const s = kept[i];
      if (!s) return new DatabaseUnavailableError(`The database is unreachable and no availability is known for ${sku} yet. Retry shortly.`, { sku });
      return { sku, channelId, ...s, stale: true, sequence: null, staleForSeconds: Math.max(0, Math.floor((now - s.asOf.getTime()) / 1000)), figure: null };
    });
  }
}
