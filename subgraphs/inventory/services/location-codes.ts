import type { DataSource } from 'typeorm';
import { InsufficientStockError } from '../../../lib/errors.js';
import { replicaStore } from '../data/replica.store.js';
import { withLocationCodes } from '../domain/movement-rules.js';

/**
 * An INSUFFICIENT_STOCK refusal with its locations' codes (read after its transaction rolled back);
 * any other error as it is.
 */
export async function nameLocations(ds: DataSource, err: unknown): Promise<unknown> {
  if (!(err instanceof InsufficientStockError)) return err;
  const lines = Array.isArray(err.details['lines']) ? (err.details['lines'] as { locationId?: string | null }[]) : [];
  const ids = [...new Set(lines.flatMap((l) => (l.locationId ? [l.locationId] : [])))];
  return withLocationCodes(err, await replicaStore.codesOf(ds.manager, ids));
}
