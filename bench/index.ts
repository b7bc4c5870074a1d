/** npm run bench -- <name>: performance figures, always as ratios against a baseline measured in the same run. */
import { Command, InvalidArgumentError } from 'commander';
import { benchGateway } from './gateway.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
};

const program = new Command('bench').description('Omnistock benchmarks');
program
  .command('gateway')
  .description('cross-subgraph query through the gateway vs its inventory part straight to the subgraph')
  .option('-c, --connections <n>', 'concurrent connections', positiveInt, 20)
  .option('-d, --seconds <n>', 'seconds per measured run', positiveInt, 10)
  .option('-r, --rounds <n>', 'rounds alternating the targets', positiveInt, 3)
  .action(async (opts: { connections: number; seconds: number; rounds: number }) => {
    await benchGateway(opts);
  });

await program.parseAsync();
