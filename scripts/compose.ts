/** npm run compose: composes supergraph.yaml into supergraph.graphql, or prints every error and exits 1. */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { compose, formatCompositionErrors, readSupergraphConfig } from '../contracts/composition.js';

const program = new Command('compose')
  .description('Compose the subgraphs listed in a supergraph config with @apollo/composition')
  .option('-c, --config <path>', 'Rover-format supergraph config', 'supergraph.yaml')
  .option('-o, --output <path>', 'where to write the supergraph SDL', 'supergraph.graphql')
  .parse();
const opts = program.opts<{ config: string; output: string }>();

const result = compose(await readSupergraphConfig(opts.config));
if (!result.ok) {
  process.stderr.write(`Composition failed with ${result.errors.length} error(s):\n${formatCompositionErrors(result.errors)}\n`);
  process.exit(1);
}
await writeFile(opts.output, result.supergraphSdl);
process.stdout.write(`Composed ${opts.config} into ${opts.output}\n`);
