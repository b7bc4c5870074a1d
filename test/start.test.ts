import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { configWith, databaseName, SUBGRAPH_NAMES } from '../lib/config.js';
import { createRedis, redisTarget } from '../lib/redis.js';
import { connectDemoMarketplaces } from '../scripts/demo/marketplaces.js';
import { closeAll, migrateAll, seedDemo } from '../scripts/system.js';
import { SecretStore } from '../subgraphs/marketplaces/services/secrets.js';
import { dropKeys } from './events.js';
import { KINDS, secretsDir } from './marketplace-fixture.js';
import { tokenFor } from '../tools/marketplace-simulator/index.js';
import { runScript } from './process.js';

/** Runs `npm start`'s entry with extra environment and collects its output until it exits; it brings no servers of its own here. */
const runStart = (env: Record<string, string>) => runScript('scripts/start.ts', [], { LOCAL_SERVICES: 'off', ...env }, 30_000);

describe('npm start fails fast when a dependency is missing (LOCAL_SERVICES=off)', () => {
  it('names the MySQL URL it could not reach', async () => {
    const res = await runStart({ MYSQL_URL: 'mysql://root@127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Cannot reach MySQL at mysql://root@127.0.0.1:1');
  });

  it('names the Redis URL it could not reach', async () => {
    const res = await runStart({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Cannot reach Redis at redis://127.0.0.1:1');
  });

  it('reports every invalid variable together', async () => {
    const res = await runStart({ GATEWAY_PORT: 'x', MYSQL_URL: 'nope' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('GATEWAY_PORT');
    expect(res.stderr).toContain('MYSQL_URL');
  });
});

describe('npm start on a database that holds the demo marketplace connections already (a second clone)', () => {
  it('writes the demo marketplace secrets that are missing, and says so', async () => {
    const id = randomUUID().slice(0, 8);
    const secrets = await secretsDir();
    // Databases and Redis keys of the test's own: the demo channels' ids are fixed, and no other test's jobs process may see them.
    const cfg = configWith({ DB_PREFIX: `omnistock_t${id}`, REDIS_KEY_PREFIX: `omnistock_test:${id}`, MARKETPLACE_SECRETS_DIR: secrets.dir, MARKETPLACE_ALLOWED_HOSTS: '127.0.0.1:4030' });
    // Only written into the connections here, never called.
    const simulatorUrl = 'http://127.0.0.1:4030';
    /** What `npm start` runs before it starts the services: migrate, seed, connect the demo marketplaces. */
    async function startUp(): Promise<string[]> {
      const said: string[] = [];
      const sources = await migrateAll(cfg);
      try {
        await seedDemo(sources, 1);
        await connectDemoMarketplaces(sources.marketplaces, cfg, simulatorUrl, (line) => said.push(line));
      } finally {
        await closeAll(sources);
      }
      return said;
    }
    const store = () => new SecretStore(secrets.dir);
    const accounts = KINDS.map((kind) => ({ kind, account: `demo-${kind.toLowerCase()}` }));
    try {
      expect(await startUp()).toEqual([`connected 4 channels (credentials in ${secrets.dir}/)`]);

      // The same database, a fresh clone: secrets/ is not in git. One secret the operator broke meanwhile.
      await rm(secrets.dir, { recursive: true });
      const second = await startUp();
      for (const { kind, account } of accounts) expect(await store().get(account), account).toMatchObject({ kind, accountId: account, accessToken: tokenFor(kind, account) });
      expect(second).toEqual([`wrote the missing credentials of 4 demo channels connected earlier (AMAZON-UK, EBAY-UK, WALMART-US, SHOPIFY-OUTLET) to ${secrets.dir}/`]);

      await writeFile(join(secrets.dir, 'demo-ebay.json'), 'not json');
      expect(await startUp()).toEqual([`wrote the missing credentials of 1 demo channel connected earlier (EBAY-UK) to ${secrets.dir}/`]);
      expect(await store().get('demo-ebay')).toEqual({ kind: 'EBAY', accountId: 'demo-ebay', channel: 'EBAY-UK', accessToken: tokenFor('EBAY', 'demo-ebay') });

      expect(await startUp()).toEqual([`the demo channels were connected earlier; their credentials are in ${secrets.dir}/`]);
    } finally {
      const ds = await createConnection(cfg.MYSQL_URL);
      for (const name of SUBGRAPH_NAMES) await ds.query(`DROP DATABASE IF EXISTS \`${databaseName(cfg, name)}\``);
      await ds.end();
      const redis = createRedis(redisTarget(cfg));
      await dropKeys(redis, cfg.REDIS_KEY_PREFIX);
      await redis.quit();
      await secrets.remove();
    }
  });
});
