import { createConnection } from 'mysql2/promise';
import { config } from '../lib/config.js';
import { buildConsole } from '../scripts/build-console.js';
import { chromiumExecutable } from './browser.js';
import { PrivateRedisCluster } from './private-redis-cluster.js';

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
export default async function setup(): Promise<(() => Promise<void>) | void> {
  // The registry console's bundle (gitignored): its tests load it in Chromium, and /registry answers 503 without it.
  await buildConsole();
  // The browser the ops page and console tests drive, unpacked once here rather than by two test files at a time.
  process.stdout.write(`test setup: Chromium at ${await chromiumExecutable()}\n`);
  const teardown = await redisForTests();
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
  return teardown;
}

/**
 * OMNISTOCK_TEST_REDIS=cluster (`npm run test:redis-cluster`): the tests run against a Redis
 * Cluster of their own, three masters started here and stopped after the run. REDIS_CLUSTER_NODES is
 * set in this process's environment before the test workers start, so the workers, every stack
 * they start in-process and every child process they spawn (which inherit the environment) use it.
 * Unset: the single Redis at REDIS_URL. Any other value stops the run rather than testing the wrong thing.
 */
async function redisForTests(): Promise<(() => Promise<void>) | undefined> {
  const mode = process.env['OMNISTOCK_TEST_REDIS'];
  if (mode === undefined || mode === '' || mode === 'single') return undefined;
  if (mode !== 'cluster') throw new Error(`OMNISTOCK_TEST_REDIS=${mode}: expected cluster or single`);
  // Set already: a cluster of the caller's, or the one started for the other project of this run (each project runs this setup).
  if (process.env['REDIS_CLUSTER_NODES']) return undefined;
  const cluster = await PrivateRedisCluster.create(3);
  process.env['REDIS_CLUSTER_NODES'] = cluster.nodes.join(',');
  process.stderr.write(`test setup: Redis Cluster of 3 masters at ${process.env['REDIS_CLUSTER_NODES']}\n`);
  return async () => {
    // Evidence that the run used the cluster, every master of it: the commands each one served.
    process.stderr.write(`test teardown: the Redis Cluster's masters served ${(await cluster.commandsServed()).join(', ')} commands\n`);
    await cluster.stop();
  };
}
