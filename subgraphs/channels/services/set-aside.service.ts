import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { TOPICS, type SetAsideSnapshot } from '../../../contracts/events.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import { NotFoundError, parseInput } from '../../../lib/errors.js';
import { outboxStore } from '../../../lib/outbox.js';
import { decodeCursor, toConnection, type Connection } from '../../../lib/pagination.js';
import { assertPageSize, idSchema, skuSchema } from '../../../lib/validation.js';
import { channelStore } from '../data/channel.store.js';
import { setAsideReads, setAsideStore, type SetAside } from '../data/set-aside.store.js';
import type { Reads } from '../../../lib/read-replicas.js';

const setSchema = z.object({ channelId: idSchema, sku: skuSchema, units: z.number().int().min(0).max(MAX_QUANTITY) });

/** Rows per transaction when republishing every set-aside. */
const REPUBLISH_PAGE = 500;

const snapshot = (s: SetAside): SetAsideSnapshot => ({ channelId: s.channelId, sku: s.sku, units: s.units, version: s.version });

/**
 * Units of a SKU set aside for one channel only: the other channels sharing its sources may not
 * take the SKU's last `units` (inventory holds them back from their available-to-sell and their
 * reservations, read from the `set-aside` events). The channel itself sells them as any other.
 */
export class SetAsideService {
  constructor(private readonly ds: DataSource) {}

  /**
   * Sets (0: lifts) the units of a SKU set aside for the channel, with its event in the same transaction.
   * @throws BadUserInputError for a malformed id or SKU, or units outside 0 to 1,000,000,000
   * @throws NotFoundError when no channel has this id
   */
  async set(input: { channelId: unknown; sku: unknown; units: unknown }): Promise<SetAside> {
    const v = parseInput(setSchema, input);
    return this.ds.transaction(async (tx) => {
      // The channel row lock orders the writers of one channel's set-asides.
      const channel = await channelStore.findForUpdate(tx, v.channelId);
      if (!channel) throw new NotFoundError('Channel', v.channelId);
      const row = await setAsideStore.upsert(tx, channel.id, v.sku, v.units, new Date());
      await outboxStore.append(tx, [{ topic: TOPICS.setAside, key: channel.id, payload: snapshot(row) }]);
      return row;
    });
  }

  /**
   * The channel's set-asides above 0, by SKU.
   * @throws BadUserInputError for a bad page size or cursor
   */
  async list(reads: Reads, channelId: string, first: number | null | undefined, after: string | null | undefined): Promise<Connection<SetAside>> {
    const size = assertPageSize(first);
    const afterSku = after ? String(decodeCursor(after, 1)[0]) : null;
    return toConnection(await reads.run((r) => setAsideReads.page(r, channelId, size + 1, afterSku)), size, (s) => [s.sku]);
  }

  /**
   * Appends a snapshot of every set-aside (lifted ones too), a page per transaction, so a replica
   * that starts empty or missed events catches up.
   * @returns how many were appended
   */
  async republishAll(): Promise<number> {
    let count = 0;
    let after: SetAside | null = null;
    for (;;) {
      const page: SetAside[] = await this.ds.transaction(async (tx) => {
        const rows = await setAsideStore.all(tx, REPUBLISH_PAGE, after);
        if (rows.length) await outboxStore.append(tx, rows.map((s) => ({ topic: TOPICS.setAside, key: s.channelId, payload: snapshot(s) })));
        return rows;
      });
      count += page.length;
      if (page.length < REPUBLISH_PAGE) return count;
      after = page.at(-1)!;
    }
  }
}
