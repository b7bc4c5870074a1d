import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';

/**
 * Until a transaction on `ds`'s database waits for a row lock (a statement sent before this is
 * blocked). Polled every 250 ms: InnoDB refreshes INNODB_TRX only when it was last read more than
 * 100 ms ago, so polling faster would keep reading the same stale copy.
 */
export async function untilLockWait(ds: DataSource, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(250)) {
    const [row] = await ds.query(
      `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
        WHERE t.trx_state = 'LOCK WAIT' AND p.DB = ?`,
      [ds.driver.database],
    );
    if (Number(row.n) > 0) return;
    if (Date.now() > deadline) throw new Error(`no transaction on ${ds.driver.database} waited for a lock within ${timeoutMs} ms`);
  }
}
