/** npm run bench -- <name>: performance figures, always as ratios against a baseline measured in the same run. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { benchAnomalies } from './anomalies.js';
import { benchAvailability } from './availability.js';
import { benchChaos } from './chaos.js';
import { benchGateway } from './gateway.js';
import { benchMarketplaces } from './marketplaces.js';
import { benchMovements } from './movements.js';
import { benchOrders } from './orders.js';
import { benchPromotion } from './promotion.js';
import { benchPeers, PEER_QUERIES, type PeerLoad, type PeerQuery } from './peers.js';
import { benchReserve } from './reserve.js';
import { benchSubscriptions } from './subscriptions.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
};

const program = new Command('bench').description('Omnistock benchmarks');
program
  .command('gateway')
  .description('the cost of governance (auth, rate limiting, usage recording: the same queries through a governed and a bare gateway), of service tokens (vs a system with SERVICE_AUTH=off) and of federation (vs the inventory subgraph direct)')
  .option('-c, --connections <n>', 'concurrent connections', positiveInt, 20)
  .option('-d, --seconds <n>', 'seconds per measured run', positiveInt, 10)
  .option('-r, --rounds <n>', 'rounds alternating the targets', positiveInt, 3)
  .action(async (opts: { connections: number; seconds: number; rounds: number }) => {
    await benchGateway(opts);
  });

program
  .command('peers')
  .description('the same supergraph and subgraphs through our gateway, Hive Gateway (its default JS runtime, and its Rust query planner with HIVE_ROUTER_RUNTIME=true) and a plain @apollo/gateway: req/s, p50, p99 and ratios')
  .option('-c, --connections <n>', 'concurrent connections', positiveInt, 20)
  .option('-d, --seconds <n>', 'seconds per measured run', positiveInt, 10)
  .option('-r, --rounds <n>', 'rounds alternating the gateways', positiveInt, 3)
  .option('--quick', 'one round of 5 s runs after 1 s warm-ups (under 4 minutes in all); -r and -d still apply when given')
  .addOption(new Option('-q, --query <names...>', 'only these queries (default: all)').choices(PEER_QUERIES))
  .addOption(new Option('-l, --load <modes...>', 'only these loads: same (every request alike) or distinct (every request different) (default: both)').choices(['same', 'distinct']))
  .option('-w, --workers <n>', 'processes per gateway: our GATEWAY_WORKERS and Hive Gateway\'s FORK alike (default: one per core)', positiveInt)
  .action(async (opts: { connections: number; seconds: number; rounds: number; quick?: boolean; query?: PeerQuery[]; load?: PeerLoad[]; workers?: number }, cmd: Command) => {
    const quick = (key: 'seconds' | 'rounds', value: number) => (opts.quick && cmd.getOptionValueSource(key) === 'default' ? value : opts[key]);
    await benchPeers({
      connections: opts.connections,
      seconds: quick('seconds', 5),
      rounds: quick('rounds', 1),
      warmupSeconds: opts.quick ? { first: 1, later: 1 } : undefined,
      queries: opts.query,
      loads: opts.load,
      workers: opts.workers,
    });
  });

program
  .command('reserve')
  .description('reservations/s and p50/p99 for one hot SKU and spread over 10,000 SKUs, direct and through the gateway, and the oversell count')
  .option('-c, --connections <n>', 'concurrent clients', positiveInt, 50)
  .option('-d, --seconds <n>', 'seconds per measured run', positiveInt, 10)
  .action(async (opts: { connections: number; seconds: number }) => {
    await benchReserve(opts);
  });

program
  .command('subscriptions')
  .description('commit-to-client latency, deliveries/s, entity fetches per event and heap per subscriber for 1,000 and 10,000 subscribers')
  .option('-d, --seconds <n>', 'seconds of stock changes per round', positiveInt, 10)
  .option('-n, --subscribers <list>', 'comma-separated subscriber counts', (v) => v.split(',').map(positiveInt), [1000, 10000])
  .action(async (opts: { seconds: number; subscribers: number[] }) => {
    await benchSubscriptions({ seconds: opts.seconds, counts: opts.subscribers });
  });

program
  .command('orders')
  .description('three-line orders/s and p50/p99 end to end through the gateway, and the oversell count')
  .option('-c, --connections <n>', 'concurrent clients', positiveInt, 50)
  .option('-d, --seconds <n>', 'seconds of the measured run', positiveInt, 10)
  .action(async (opts: { connections: number; seconds: number }) => {
    await benchOrders(opts);
  });

program
  .command('marketplaces')
  .description('a burst of stock changes pushed to the four simulated marketplaces: time to converge and calls against what their limits force, and violations')
  .option('-s, --skus <n>', 'SKUs', positiveInt, 10_000)
  .option('-n, --changes <n>', 'stock changes in the burst', positiveInt, 100_000)
  .option('-x, --rate-scale <n>', 'multiplies every marketplace limit (simulator and our policies alike)', positiveInt, 20)
  .option('-t, --timeout <s>', 'give up on a marketplace converging after this many seconds', positiveInt, 1800)
  .action(async (opts: { skus: number; changes: number; rateScale: number; timeout: number }) => {
    await benchMarketplaces({ skus: opts.skus, changes: opts.changes, rateScale: opts.rateScale, timeoutSeconds: opts.timeout });
  });

program
  .command('promotion')
  .description('a promotion played against the marketplace simulator (four marketplaces, the web storefront through the gateway, till batches every quarter hour, a 10x burst) once per strategy (no buffer, static buffers, protective): units sold, oversold, lost sales and how long a sale took to reach every other channel')
  .option('-s, --skus <n>', 'SKUs per strategy', positiveInt, 500)
  .option('-m, --minutes <n>', 'simulated minutes of promotion', positiveInt, 60)
  .option('-x, --time-scale <n>', 'marketplace time runs this many times faster than the clock (limits, delays and our time settings alike)', positiveInt, 10)
  .option('-b, --buffers <list>', 'comma-separated static buffers (units) to try', (v) => v.split(',').map(positiveInt), [1, 2])
  .option('--demand <x>', 'units asked per unit of stock', (v) => {
    const n = Number(v);
    if (!(n > 0)) throw new InvalidArgumentError('a positive number');
    return n;
  }, 1.3)
  .option('--mean-stock <n>', 'mean units per SKU', positiveInt, 4)
  .option('--seed <n>', 'seed of the demand', positiveInt, 1)
  .option('--drain <s>', 'seconds to wait after the promotion for intake and pushes to settle', positiveInt, 120)
  .option('--confidence <p>', 'PROTECT_CONFIDENCE of the protective channels (0 < p < 1; default 0.95)', (v) => {
    const n = Number(v);
    if (!(n > 0 && n < 1)) throw new InvalidArgumentError('a number between 0 and 1');
    return n;
  })
  .action(async (opts: { skus: number; minutes: number; timeScale: number; buffers: number[]; demand: number; meanStock: number; seed: number; drain: number; confidence?: number }) => {
    await benchPromotion({ ...opts, drainSeconds: opts.drain });
  });

program
  .command('movements')
  .description('recordMovements in batches of 1,000 (RECEIPT/SALE/ADJUSTMENT over many SKUs) straight to the inventory subgraph: movements/s, p50/p99 per batch and the outbox relay\'s events/s behind it, against one transaction per movement (single recordMovement calls) in the same run')
  .option('-n, --movements <n>', 'movements sent in batches', positiveInt, 100_000)
  .option('-s, --skus <n>', 'SKUs they spread over', positiveInt, 10_000)
  .option('-b, --batch <n>', 'movements per recordMovements call (at most 1,000)', positiveInt, 1000)
  .option('-c, --concurrency <n>', 'batches in flight at once', positiveInt, 2)
  .option('--baseline-movements <n>', 'movements sent one per recordMovement call as the baseline', positiveInt, 10_000)
  .option('--baseline-connections <n>', 'concurrent connections of the baseline', positiveInt, 20)
  .action(async (opts: { movements: number; skus: number; batch: number; concurrency: number; baselineMovements: number; baselineConnections: number }) => {
    await benchMovements(opts);
  });

program
  .command('availability')
  .description('availability reads straight from the inventory subgraph with its read model and without (AVAILABILITY_READ_MODEL=off: a second process on the same databases), while ~200 stock changes/s are committed: reads/s and p50/p99 for 1 and 20 SKUs per request and the ratios, staleness (commit to applied) p50/p99, and heap per 100,000 SKU entries')
  .option('-c, --connections <n>', 'concurrent connections', positiveInt, 20)
  .option('-d, --seconds <n>', 'seconds per measured run', positiveInt, 10)
  .option('-r, --rounds <n>', 'rounds alternating the targets', positiveInt, 3)
  .option('-s, --skus <n>', 'SKUs read and written', positiveInt, 10_000)
  .option('-w, --writes <n>', 'stock changes per second committed while measuring', positiveInt, 200)
  .option('-m, --memory-skus <n>', 'SKUs a read model in the bench process loads to weigh its heap', positiveInt, 100_000)
  .option('--locations', 'ask every source location\'s available too (the product page), not only the listing\'s figure')
  .action(async (opts: { connections: number; seconds: number; rounds: number; skus: number; writes: number; memorySkus: number; locations?: boolean }) => {
    await benchAvailability({ ...opts, locations: opts.locations ?? false });
  });

program
  .command('anomalies')
  .description('anomaly detection on a seeded 90-day ledger (weekly rhythm, bursty demand, known anomalies and look-alikes) in MariaDB: precision and recall per kind, and how long detection takes')
  .option('--seed <n>', 'seed of the ledger and its anomalies', positiveInt, 11)
  .option('-s, --skus <n>', 'SKUs', positiveInt, 2000)
  .option('-l, --locations <n>', 'locations', positiveInt, 28)
  .option('-d, --days <n>', 'days of ledger (the last 7 are where findings fire)', positiveInt, 90)
  .action(async (opts: { seed: number; skus: number; locations: number; days: number }) => {
    await benchAnomalies(opts);
  });

program
  .command('chaos')
  .description('the reliability figure: the system as npm start runs it (its supervisor, private MariaDB and Redis) under mixed load (web orders through the gateway, movement batches, 1,000 subscribers, marketplace pushes and intake) while a fault is injected at random (SIGKILL of a service, a restart of Redis or MariaDB, a marketplace outage); then checks the invariants and exits non-zero on any violation')
  .option('-d, --duration <s>', 'seconds of load and faults (default 600; --quick: 120)', positiveInt)
  .option('--quick', 'two minutes of load instead of ten')
  .option('-f, --fault-every <s>', 'seconds between faults', positiveInt, 30)
  .option('--seed <n>', 'seed of the faults and the subscribers\' filters (printed; default: random)', positiveInt)
  .option('--outage <s>', 'seconds a marketplace outage lasts', positiveInt, 20)
  .option('-n, --subscribers <n>', 'stock change subscribers through the gateway', positiveInt, 1000)
  .option('-s, --skus <n>', 'SKUs of the seeded catalogue', positiveInt, 300)
  .option('--settle <s>', 'upper bound on each step of the wait for the system to settle after the load', positiveInt, 180)
  .action(async (opts: { duration?: number; quick?: boolean; faultEvery: number; seed?: number; outage: number; subscribers: number; skus: number; settle: number }) => {
    const violations = await benchChaos({
      durationSeconds: opts.duration ?? (opts.quick ? 120 : 600),
      faultEverySeconds: opts.faultEvery,
      seed: opts.seed ?? 1 + Math.floor(Math.random() * 1_000_000),
      outageSeconds: opts.outage,
      subscribers: opts.subscribers,
      skus: opts.skus,
      settleSeconds: opts.settle,
    });
    if (violations) process.exitCode = 1;
  });

await program.parseAsync();
