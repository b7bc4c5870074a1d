import { createConnection } from 'mysql2/promise';
import { config } from '../lib/config.js';
import { buildConsole } from '../scripts/build-console.js';
import { chromiumExecutable } from './browser.js';

/** The connections the suite may hold at once, with room to spare. */
const CONNECTIONS = 900;

/**
 * Runs once before the suite. Builds the registry console's bundle first (a second, fast, so even
 * `npx vitest run <file>` serves a current one).
 * Three test files run at a time, each starting whole stacks: a pool per
 * subgraph (six), the jobs process's, the registry's, and npm start's child processes. MariaDB's
 * default max_connections (151) runs out under that, and a refused connection fails a test that has
 * nothing wrong with it, so the server is given room first (a global setting, kept until restart).
 * Without the privilege to change it, the suite runs with what the server allows and says so.
 */
export default async function setup(): Promise<void> {
  // The registry console's bundle (gitignored): its tests load it in Chromium, and /registry answers 503 without it.
  await buildConsole();
  // The browser the ops page and console tests drive, unpacked once here rather than by two test files at a time.
  process.stdout.write(`test setup: Chromium at ${await chromiumExecutable()}\n`);
  const conn = await createConnection(config().MYSQL_URL);
  try {
    const [rows] = await conn.query('SELECT @@GLOBAL.max_connections AS n');
    const current = Number((rows as { n: number | string }[])[0]!.n);
    if (current < CONNECTIONS) await conn.query('SET GLOBAL max_connections = ?', [CONNECTIONS]);
  } catch (err) {
    process.stderr.write(`test setup: could not raise MariaDB's max_connections to ${CONNECTIONS} (${(err as Error).message}); tests may meet "Too many connections"\n`);
  } finally {
    await conn.end();
  }
}
