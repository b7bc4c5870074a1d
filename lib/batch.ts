/**
 * DataLoader batch functions must answer in key order, one entry per key, whatever order the
 * `IN (...)` query returned its rows in.
 */

/** The row whose key matches each key, or null. */
export function oneByKey<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): (R | null)[] {
  const byKey = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => byKey.get(key) ?? null);
}

/** Every row whose key matches each key (empty when none), keeping the rows' own order, i.e. the query's ORDER BY. */
export function manyByKey<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): R[][] {
  const byKey = new Map<K, R[]>(keys.map((key) => [key, []]));
  for (const row of rows) byKey.get(keyOf(row))?.push(row);
  return keys.map((key) => byKey.get(key)!);
}

/**
 * Awaits a write, then empties the request's DataLoader caches: the mutations of one operation run
 * one after another, and the fields under a later one must see the earlier writes, not reads cached
 * before them.
 */
export async function afterWrite<T>(loaders: Record<string, { clearAll(): unknown }>, write: Promise<T>): Promise<T> {
  const result = await write;
  for (const loader of Object.values(loaders)) loader.clearAll();
  return result;
}
