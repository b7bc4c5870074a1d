import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DataSource } from 'typeorm';
import type { Config } from '../../lib/config.js';
import { marketplaceQueues } from '../../subgraphs/marketplaces/services/queues.js';
import { MarketplaceService } from '../../subgraphs/marketplaces/services/marketplace.service.js';
import { UnusableConnectionError, SecretStore } from '../../subgraphs/marketplaces/services/secrets.js';
import type { MarketplaceKind } from '../../subgraphs/marketplaces/connectors/types.js';
import { tokenFor } from '../../tools/marketplace-simulator/index.js';
import { DEMO_CHANNELS } from './estate.js';

const DEMO_SETTINGS: Record<MarketplaceKind, Record<string, unknown>> = {
  AMAZON: { marketplaceIds: ['A1F83G8C2ARO7P'] },
  EBAY: {},
  WALMART: {},
  SHOPIFY: { locationId: 'gid://shopify/Location/1' },
};

/**
 * Runs the marketplace simulator (the stand-in for Amazon, eBay, Walmart and Shopify) as a child
 * process, logging to <logDir>/marketplace-simulator.log; `rateScale` multiplies every limit it enforces,
 * `amazonVisibilityMs` and `walmartFeedMs` set Amazon's order delay and Walmart's feed processing time.
 * @returns the child and the simulator's base URL once it listens
 */
export async function spawnSimulator(opts: { port: number; host: string; logDir: string; rateScale?: number; amazonVisibilityMs?: number; amazonNotificationMs?: number; walmartFeedMs?: number }): Promise<{ child: ChildProcess; url: string }> {
  mkdirSync(opts.logDir, { recursive: true });
  const log = createWriteStream(join(opts.logDir, 'marketplace-simulator.log'), { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'tools/marketplace-simulator/main.ts',
      '--port',
      String(opts.port),
      '--host',
      opts.host,
      '--rate-scale',
      String(opts.rateScale ?? 1),
      ...(opts.amazonVisibilityMs !== undefined ? ['--amazon-visibility-ms', String(Math.round(opts.amazonVisibilityMs))] : []),
      ...(opts.amazonNotificationMs !== undefined ? ['--amazon-notification-ms', String(Math.round(opts.amazonNotificationMs))] : []),
      ...(opts.walmartFeedMs !== undefined ? ['--walmart-feed-ms', String(Math.round(opts.walmartFeedMs))] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the marketplace simulator exited with code ${code} (see ${join(opts.logDir, 'marketplace-simulator.log')})`)));
  });
  return { child, url };
}

/**
 * Connects each demo marketplace channel to the simulator (unless it is connected to it already, or
 * to an account of the operator's), writing its demo credentials to MARKETPLACE_SECRETS_DIR, and
 * writes the credentials of every demo connection whose secret is missing or unreadable: a second
 * clone on an existing database has the connections but not the (git-ignored) secrets, and without
 * them its pushes would only wait. A connection queues a resync: the jobs process then pushes every
 * SKU's available-to-sell. Says what it did through `say`.
 */
export async function connectDemoMarketplaces(marketplaces: DataSource, cfg: Config, simulatorUrl: string, say: (line: string) => void): Promise<void> {
  const queues = marketplaceQueues(cfg);
  const service = new MarketplaceService(marketplaces, queues, { allowedHosts: cfg.MARKETPLACE_ALLOWED_HOSTS });
  const secrets = new SecretStore(cfg.MARKETPLACE_SECRETS_DIR);
  // A secret names what it was issued for: only that channel's connection to that account uses it.
  const writeSecret = (kind: MarketplaceKind, account: string, channel: string, secretName = account) =>
    writeFile(join(cfg.MARKETPLACE_SECRETS_DIR, `${secretName}.json`), JSON.stringify({ kind, accountId: account, channel, accessToken: tokenFor(kind, account) }, null, 2));
  try {
    await mkdir(cfg.MARKETPLACE_SECRETS_DIR, { recursive: true });
    const demo = DEMO_CHANNELS.filter((c) => c.marketplace !== null);
    const existing = await service.connectionsOf(demo.map((c) => c.id));
    let connected = 0;
    const restored: string[] = [];
    for (const [i, channel] of demo.entries()) {
      const kind = channel.marketplace!;
      const account = `demo-${kind.toLowerCase()}`;
      const baseUrl = `${simulatorUrl}/${kind.toLowerCase()}/${account}`;
      const current = existing[i];
      // An account of the operator's: neither the connection nor its secret is ours to touch.
      if (current && current.accountId !== account) continue;
      if (current?.baseUrl === baseUrl) {
        // The same check the jobs process makes, so what it would find unusable is what is rewritten.
        const usable = await secrets.forConnection({ secretName: current.secretName, kind, accountId: account, channelCode: channel.code }).then(() => true, (err: unknown) => {
          if (err instanceof UnusableConnectionError) return false;
          throw err;
        });
        if (!usable) {
          await writeSecret(kind, account, channel.code, current.secretName);
          restored.push(channel.code);
        }
        continue;
      }
      await writeSecret(kind, account, channel.code);
      await service.setConnection(channel.id, {
        accountId: account,
        baseUrl,
        secretName: account,
        settings: DEMO_SETTINGS[kind],
      });
      connected++;
    }
    if (connected) say(`connected ${connected} channels (credentials in ${cfg.MARKETPLACE_SECRETS_DIR}/)`);
    if (restored.length) {
      const channels = `${restored.length} demo channel${restored.length === 1 ? '' : 's'}`;
      say(`wrote the missing credentials of ${channels} connected earlier (${restored.join(', ')}) to ${cfg.MARKETPLACE_SECRETS_DIR}/`);
    }
    if (!connected && !restored.length) say(`the demo channels were connected earlier; their credentials are in ${cfg.MARKETPLACE_SECRETS_DIR}/`);
  } finally {
    await queues.close();
  }
}
