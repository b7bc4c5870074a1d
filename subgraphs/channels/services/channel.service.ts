import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { PROTECTIONS, type Protection } from '../../../contracts/protection.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import { manyByKey, oneByKey } from '../../../lib/batch.js';
import { isDuplicateKey } from '../../../lib/db.js';
import { BadUserInputError, ConflictError, NotFoundError, parseInput } from '../../../lib/errors.js';
import { TOPICS, type ChannelSnapshot } from '../../../contracts/events.js';
import { outboxStore } from '../../../lib/outbox.js';
import { decodeCursor, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertPageSize, codeSchema, idSchema } from '../../../lib/validation.js';
import {
  CHANNEL_STATUSES,
  CHANNEL_TYPES,
  ChannelEntity,
  ChannelSourceEntity,
  MARKETPLACE_KINDS,
  type BufferKind,
} from '../data/channel.entity.js';
import { channelReads, channelStore, type ChannelFilter } from '../data/channel.store.js';
import type { Reads } from '../../../lib/read-replicas.js';

/**
 * A marketplace hears of our stock through pushes, so its protection (which also covers the push's
 * lag) is the marketplace connection's; its rule cannot be protective too, or units would be withheld twice.
 */
const MARKETPLACE_PROTECTION = 'a marketplace channel is protected through its marketplace connection (setMarketplaceConnection with protection PROTECTIVE), which also covers its push lag';

/** Channels per transaction when republishing every snapshot. */
const REPUBLISH_PAGE = 500;
const text = (max: number) => z.string().trim().min(1).max(max);
const prioritySchema = z.number().int().min(-1000).max(1000);

const sourcesSchema = z
  .array(
    z.object({
      locationId: idSchema,
      priority: z.number().int().min(1).max(1000),
    }),
  )
  .min(1)
  .max(500)
  .superRefine((sources, ctx) => {
    const seen = new Set<string>();
    sources.forEach((s, i) => {
      if (seen.has(s.locationId)) ctx.addIssue({ code: 'custom', path: [i, 'locationId'], message: 'appears more than once' });
      seen.add(s.locationId);
    });
  });

const bufferSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('UNITS'), value: z.number().int().min(0).max(MAX_QUANTITY) }),
  z.object({ kind: z.literal('PERCENT'), value: z.number().int().min(0).max(100) }),
]);

const allocationRuleSchema = z.object({
  sources: sourcesSchema,
  buffer: bufferSchema.nullish(),
  cap: z.number().int().min(0).max(MAX_QUANTITY).nullish(),
  allowSplitShipments: z.boolean().nullish(),
  protection: z.enum(PROTECTIONS).nullish(),
});

const createSchema = z
  .object({
    code: codeSchema,
    name: text(200),
    type: z.enum(CHANNEL_TYPES),
    marketplace: z.enum(MARKETPLACE_KINDS).nullish(),
    status: z.enum(CHANNEL_STATUSES).nullish(),
    priority: prioritySchema.nullish(),
    allocationRule: allocationRuleSchema,
  })
  .refine((v) => (v.type === 'MARKETPLACE') === (v.marketplace != null), {
    message: 'must be given when type is MARKETPLACE, and only then',
    path: ['marketplace'],
  })
  .refine((v) => v.type !== 'MARKETPLACE' || v.allocationRule.protection !== 'PROTECTIVE', {
    message: MARKETPLACE_PROTECTION,
    path: ['allocationRule', 'protection'],
  });

const updateSchema = z.object({
  name: text(200).nullish(),
  status: z.enum(CHANNEL_STATUSES).nullish(),
  priority: prioritySchema.nullish(),
});

const filterSchema = z
  .object({
    types: z.array(z.enum(CHANNEL_TYPES)).max(10).nullish(),
    statuses: z.array(z.enum(CHANNEL_STATUSES)).max(10).nullish(),
    marketplace: z.enum(MARKETPLACE_KINDS).nullish(),
  })
  .nullish();

export type CreateChannelInput = z.input<typeof createSchema>;
export type UpdateChannelInput = z.input<typeof updateSchema>;
export type AllocationRuleInput = z.input<typeof allocationRuleSchema>;

/** A channel as a write left it; carrying the sources written lets the response show exactly that write. */
export type ChannelWithSources = ChannelEntity & { sources?: ChannelSourceEntity[] };

/** The channel columns an allocation rule sets; splitting shipments is allowed unless refused, protection is off unless asked for. */
export function ruleColumns(rule: {
  buffer?: { kind: BufferKind; value: number } | null;
  cap?: number | null;
  allowSplitShipments?: boolean | null;
  protection?: Protection | null;
}): Pick<ChannelEntity, 'bufferKind' | 'bufferValue' | 'cap' | 'allowSplitShipments' | 'protection'> {
  return {
    bufferKind: rule.buffer?.kind ?? null,
    bufferValue: rule.buffer?.value ?? null,
    cap: rule.cap ?? null,
    allowSplitShipments: rule.allowSplitShipments ?? true,
    protection: rule.protection ?? 'OFF',
  };
}

/** Source rows in serving order (priority, then location id), the order they are read back in. */
export function sourceRows(channelId: string, sources: readonly { locationId: string; priority: number }[]): ChannelSourceEntity[] {
  return [...sources]
    .sort((a, b) => a.priority - b.priority || (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0))
    .map((s) => Object.assign(new ChannelSourceEntity(), { channelId, locationId: s.locationId, priority: s.priority }));
}

/** The `channel` event: the channel's whole rule as stored, with the version that orders it. */
export function channelSnapshot(channel: ChannelEntity, sources: readonly ChannelSourceEntity[]): ChannelSnapshot {
  return {
    id: channel.id,
    status: channel.status,
    buffer: channel.bufferKind && channel.bufferValue !== null ? { kind: channel.bufferKind, value: channel.bufferValue } : null,
    cap: channel.cap,
    allowSplitShipments: channel.allowSplitShipments,
    protection: channel.protection,
    sources: sources.map((s) => ({ locationId: s.locationId, priority: s.priority })),
    version: channel.version,
    code: channel.code,
    type: channel.type,
    marketplace: channel.marketplace,
    priority: channel.priority,
  };
}

/**
 * Appends a snapshot event for each channel inside the caller's transaction, with the sources read
 * in that transaction: the event describes exactly the state that commits with it.
 */
export async function appendChannelSnapshots(tx: EntityManager, channels: readonly ChannelEntity[]): Promise<void> {
  if (!channels.length) return;
  const ids = channels.map((c) => c.id);
  const sources = manyByKey(ids, await channelStore.sourcesOf(tx, ids), (s) => s.channelId);
  await outboxStore.append(
    tx,
    channels.map((c, i) => ({ topic: TOPICS.channel, key: c.id, payload: channelSnapshot(c, sources[i]!) })),
  );
}

export class ChannelService {
  constructor(private readonly ds: DataSource) {}

  /** Rows for the given ids, in key order, null where none exists (the loader's batch function). */
  async byIds(reads: Reads, ids: readonly string[]): Promise<(ChannelEntity | null)[]> {
    return oneByKey(ids, await reads.run((r) => channelReads.findByIds(r, ids)), (c) => c.id);
  }

  async byCodes(reads: Reads, codes: readonly string[]): Promise<(ChannelEntity | null)[]> {
    return oneByKey(codes, await reads.run((r) => channelReads.findByCodes(r, codes)), (c) => c.code);
  }

  /** Each channel's sources in serving order. */
  async sourcesOf(reads: Reads, channelIds: readonly string[]): Promise<ChannelSourceEntity[][]> {
    return manyByKey(channelIds, await reads.run((r) => channelReads.sourcesOf(r, channelIds)), (s) => s.channelId);
  }

  /** The ACTIVE channels each location feeds, highest channel priority first, then by code. */
  async activeChannelsAt(reads: Reads, locationIds: readonly string[]): Promise<ChannelEntity[][]> {
    const rows = await reads.run((r) => channelReads.activeSourcesAt(r, locationIds));
    return manyByKey(locationIds, rows, (s) => s.locationId).map((sources) => sources.map((s) => s.channel!));
  }

  /**
   * @throws BadUserInputError for a bad filter, page size or cursor
   */
  async list(reads: Reads, filter: unknown, first: number | null | undefined, after: string | null | undefined): Promise<Connection<ChannelEntity>> {
    const f = parseInput(filterSchema, filter, 'filter') ?? {};
    const size = assertPageSize(first);
    const afterCode = after ? String(decodeCursor(after, 1)[0]) : null;
    const rows = await reads.run((r) => channelReads.page(r, f as ChannelFilter, size + 1, afterCode));
    return toConnection(rows, size, (c) => [c.code]);
  }

  /**
   * @throws BadUserInputError for invalid input, e.g. a marketplace given for a non-marketplace type
   * @throws ConflictError when the code is taken
   */
  async create(input: CreateChannelInput): Promise<ChannelWithSources> {
    const v = parseInput(createSchema, input);
    const now = new Date();
    const channel = Object.assign(new ChannelEntity(), {
      id: randomUUID(),
      code: v.code,
      name: v.name,
      type: v.type,
      marketplace: v.marketplace ?? null,
      status: v.status ?? 'ACTIVE',
      priority: v.priority ?? 0,
      ...ruleColumns(v.allocationRule),
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    const sources = sourceRows(channel.id, v.allocationRule.sources);
    try {
      await this.ds.transaction(async (tx) => {
        await channelStore.insert(tx, channel);
        await channelStore.insertSources(tx, sources);
        await appendChannelSnapshots(tx, [channel]);
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError(`A channel with code ${v.code} already exists`, { code: v.code });
      throw err;
    }
    return Object.assign(channel, { sources });
  }

  /**
   * @throws BadUserInputError for invalid input
   * @throws NotFoundError when no channel has this id
   */
  async update(id: string, input: UpdateChannelInput): Promise<ChannelEntity> {
    const v = parseInput(updateSchema, input);
    return this.ds.transaction(async (tx) => {
      const current = await channelStore.findForUpdate(tx, id);
      if (!current) throw new NotFoundError('Channel', id);
      const changes: Partial<ChannelEntity> = { updatedAt: new Date() };
      if (v.name) changes.name = v.name;
      if (v.status) changes.status = v.status;
      if (v.priority != null) changes.priority = v.priority;
      await channelStore.update(tx, current.id, changes);
      return this.afterUpdate(tx, current.id);
    });
  }

  /**
   * Replaces the channel's sources, buffer, cap, split-shipment flag and protection as a whole.
   * @throws BadUserInputError for invalid input, and for protection on a marketplace channel
   * @throws NotFoundError when no channel has this id
   */
  async setAllocationRule(channelId: string, input: AllocationRuleInput): Promise<ChannelWithSources> {
    const rule = parseInput(allocationRuleSchema, input);
    // The channel row lock serialises writers of one channel. READ COMMITTED spares the delete the gap
    // locks that, under REPEATABLE READ, deadlock rule writers of neighbouring channels.
    return this.ds.transaction('READ COMMITTED', async (tx) => {
      const current = await channelStore.findForUpdate(tx, channelId);
      if (!current) throw new NotFoundError('Channel', channelId);
      if (current.type === 'MARKETPLACE' && rule.protection === 'PROTECTIVE') {
        throw new BadUserInputError(`Channel ${current.code} sells on a marketplace: ${MARKETPLACE_PROTECTION}`, [{ path: 'protection', message: MARKETPLACE_PROTECTION }]);
      }
      // The stored id, not the argument: the collation matches ids in any case, the loaders' keys do not.
      const sources = sourceRows(current.id, rule.sources);
      await channelStore.deleteSources(tx, current.id);
      await channelStore.insertSources(tx, sources);
      await channelStore.update(tx, current.id, { ...ruleColumns(rule), updatedAt: new Date() });
      return Object.assign(await this.afterUpdate(tx, current.id), { sources });
    });
  }

  /**
   * Changes the channel's buffer alone; the rest of its rule stays.
   * @throws BadUserInputError for an invalid buffer
   * @throws NotFoundError when no channel has this id
   */
  async setBuffer(channelId: string, input: unknown): Promise<ChannelEntity> {
    const buffer = parseInput(bufferSchema.nullable(), input, 'buffer');
    return this.ds.transaction('READ COMMITTED', async (tx) => {
      const current = await channelStore.findForUpdate(tx, channelId);
      if (!current) throw new NotFoundError('Channel', channelId);
      await channelStore.update(tx, current.id, { bufferKind: buffer?.kind ?? null, bufferValue: buffer?.value ?? null, updatedAt: new Date() });
      return this.afterUpdate(tx, current.id);
    });
  }

  /**
   * Appends a snapshot event for every channel, a page per short transaction, so a replica that
   * starts empty or missed events catches up.
   * @returns how many snapshots were appended
   */
  async republishAll(): Promise<number> {
    let count = 0;
    let afterCode: string | null = null;
    for (;;) {
      const page: ChannelEntity[] = await this.ds.transaction(async (tx) => {
        const rows = await channelStore.page(tx, {}, REPUBLISH_PAGE, afterCode);
        await appendChannelSnapshots(tx, rows);
        return rows;
      });
      count += page.length;
      if (page.length < REPUBLISH_PAGE) return count;
      afterCode = page.at(-1)!.code;
    }
  }

  /** Re-reads a channel its transaction just updated (the version was bumped in SQL) and appends its snapshot. */
  private async afterUpdate(tx: EntityManager, id: string): Promise<ChannelEntity> {
    const [updated] = await channelStore.findByIds(tx, [id]);
    await appendChannelSnapshots(tx, [updated!]);
    return updated!;
  }
}
