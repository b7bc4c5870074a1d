/**
 * `omnistock`: the operator's command line (`npm run omnistock -- <command>`). Each area adds its
 * commands as one commander sub-command built in scripts/cli/.
 */
import { Command } from 'commander';

const program = new Command('omnistock')
  .description('Omnistock operations: marketplace sync, schema registry')
  .showHelpAfterError();

await program.parseAsync();
