import type { DataSource } from 'typeorm';
import { InsufficientStockError } from '../../../lib/errors.js';
import { replicaStore } from '../data/replica.store.js';
import { shortLinesOf, withLocationCodes } from '../domain/movement-rules.js';

/**
 * An INSUFFICIENT_STOCK refusal with its locations' codes (read after its transaction rolled back);
 * any other error as it is.
 */
export async function nameLocations(ds: DataSource, err: unknown): Promise<unknown> {
  if (!(err instanceof InsufficientStockError)) return err;
  const ids = [...new Set(shortLinesOf(err).flatMap((l) => (l.locationId ? [l.locationId] : [])))];
  return withLocationCodes(err, await replicaStore.codesOf(ds.manager, ids));
}
