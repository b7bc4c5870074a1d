/**
 * npx tsx tools/marketplace-simulator/main.ts --port 4600 [--host 127.0.0.1] [--rate-scale 1] [--walmart-feed-ms 300]
 * Runs the marketplace simulator on its own, for a process driving it over HTTP: connections use
 * `<url>/<kind>/<account>` as baseUrl, GET `<url>/_sim/<kind>/<account>/connection` returns a ready
 * one, and the other controls live under `<url>/_sim/...` (see server.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { startMarketplaceSimulator } from './server.js';

const number = (what: string, test: (n: number) => boolean) => (v: string) => {
  const n = Number(v);
  if (!test(n)) throw new InvalidArgumentError(what);
  return n;
};

const program = new Command('marketplace-simulator')
  .description('Local Amazon, eBay, Walmart and Shopify inventory APIs that enforce the documented rate limits')
  .option('-p, --port <n>', 'port (0: any free port)', number('an integer from 0 to 65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535), 4600)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--rate-scale <x>', 'multiplies every refill rate', number('a positive number', (n) => Number.isFinite(n) && n > 0), 1)
  .option('--walmart-feed-ms <ms>', 'how long Walmart takes to ingest a feed', number('a non-negative integer', (n) => Number.isInteger(n) && n >= 0), 300)
  .option('--amazon-notification-ms <ms>', 'how long after an order changes its ORDER_CHANGE notification reaches the SQS queue', number('a non-negative integer', (n) => Number.isInteger(n) && n >= 0), 10_000)
  .option('--amazon-visibility-ms <ms>', 'how long after an order changes Amazon getOrders shows it', number('a non-negative integer', (n) => Number.isInteger(n) && n >= 0), 120_000)
  .parse();
const o = program.opts<{ port: number; host: string; rateScale: number; walmartFeedMs: number; amazonVisibilityMs: number; amazonNotificationMs: number }>();

const sim = await startMarketplaceSimulator({ port: o.port, host: o.host, rateScale: o.rateScale, walmartFeedProcessingMs: o.walmartFeedMs, amazonVisibilityMs: o.amazonVisibilityMs, amazonNotificationMs: o.amazonNotificationMs });
process.stdout.write(`Marketplace simulator listening on ${sim.url} (rate scale ${o.rateScale})\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  sim.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
