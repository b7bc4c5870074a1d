/** npm run seed -- --skus 100000: seeds (or tops up) the demo estate, with a progress bar. */
import { Command, InvalidArgumentError } from 'commander';
import { config } from '../lib/config.js';
import { progressBar } from '../lib/progress.js';
import { closeAll, migrateAll, preflight, seedDemo } from './system.js';

const cfg = config();
const program = new Command('seed')
  .description('Seed the demo estate: 28 locations, 6 channels and N SKUs stocked across them (idempotent)')
  .option(
    '-s, --skus <n>',
    'number of SKUs',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new InvalidArgumentError('an integer from 1 to 1,000,000');
      return n;
    },
    cfg.SEED_SKUS,
  )
  .parse();
const { skus } = program.opts<{ skus: number }>();

try {
  await preflight(cfg);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
const sources = await migrateAll(cfg);
const bar = progressBar('SKUs {bar} {percentage}% | {value}/{total} | {duration}s');
bar.start(skus, 0);
const started = Date.now();
const seeded = await seedDemo(sources, skus, (done) => bar.update(done));
bar.stop();
await closeAll(sources);
process.stdout.write(
  `Added ${seeded.locations} locations, ${seeded.channels} channels, ${seeded.items} items and ${seeded.levels} stock levels in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`,
);
