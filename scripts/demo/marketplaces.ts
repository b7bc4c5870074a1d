import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DataSource } from 'typeorm';
import type { Config } from '../../lib/config.js';
import { marketplaceQueues } from '../../subgraphs/channels/context.js';
import { MarketplaceService } from '../../subgraphs/channels/marketplace/marketplace.service.js';
import type { MarketplaceKind } from '../../subgraphs/channels/marketplace/adapters/types.js';
import { tokenFor } from '../../test/marketplace-simulator/index.js';
import { DEMO_CHANNELS } from './estate.js';

const DEMO_SETTINGS: Record<MarketplaceKind, Record<string, unknown>> = {
  AMAZON: { marketplaceIds: ['A1F83G8C2ARO7P'] },
  EBAY: {},
  WALMART: {},
  SHOPIFY: { locationId: 'gid://shopify/Location/1' },
};

/**
 * Runs the marketplace simulator (the stand-in for Amazon, eBay, Walmart and Shopify) as a child
 * process, logging to logs/marketplace-simulator.log; `rateScale` multiplies every limit it enforces.
 * @returns the child and the simulator's base URL once it listens
 */
export async function spawnSimulator(opts: { port: number; host: string; rateScale?: number }): Promise<{ child: ChildProcess; url: string }> {
  mkdirSync('logs', { recursive: true });
  const log = createWriteStream(join('logs', 'marketplace-simulator.log'), { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/marketplace-simulator/main.ts', '--port', String(opts.port), '--host', opts.host, '--rate-scale', String(opts.rateScale ?? 1)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the marketplace simulator exited with code ${code} (see logs/marketplace-simulator.log)`)));
  });
  return { child, url };
}

/**
 * Connects each demo marketplace channel to the simulator (unless it is connected to it already, or
 * to an account of the operator's), writing its
 * demo credentials to MARKETPLACE_SECRETS_DIR. A connection queues a resync: the jobs process then
 * pushes every SKU's available-to-sell.
 * @returns how many channels were connected
 */
export async function connectDemoMarketplaces(channels: DataSource, cfg: Config, simulatorUrl: string): Promise<number> {
  const queues = marketplaceQueues(cfg);
  const service = new MarketplaceService(channels, queues);
  try {
    await mkdir(cfg.MARKETPLACE_SECRETS_DIR, { recursive: true });
    const demo = DEMO_CHANNELS.filter((c) => c.marketplace !== null);
    const existing = await service.connectionsOf(demo.map((c) => c.id));
    let connected = 0;
    for (const [i, channel] of demo.entries()) {
      const kind = channel.marketplace!;
      const account = `demo-${kind.toLowerCase()}`;
      const baseUrl = `${simulatorUrl}/${kind.toLowerCase()}/${account}`;
      // Connected already, to this simulator (or by the operator to a real account): left alone.
      if (existing[i] && (existing[i]!.baseUrl === baseUrl || existing[i]!.accountId !== account)) continue;
      await writeFile(join(cfg.MARKETPLACE_SECRETS_DIR, `${account}.json`), JSON.stringify({ accessToken: tokenFor(kind, account) }, null, 2));
      await service.setConnection(channel.id, {
        accountId: account,
        baseUrl,
        secretName: account,
        settings: DEMO_SETTINGS[kind],
      });
      connected++;
    }
    return connected;
  } finally {
    await queues.close();
  }
}
