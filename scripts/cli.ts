/**
 * `omnistock`: the operator's command line (`npm run omnistock -- <command>`). Each area adds its
 * commands as one commander sub-command built in scripts/cli/.
 */
import { Command } from 'commander';
import { marketplaceCommand } from './cli/marketplace.js';
import { importCommand } from './cli/import.js';
import { keysCommand } from './cli/keys.js';
import { registryCommand } from './cli/registry.js';
import { serviceKeysCommand } from './cli/service-keys.js';

const program = new Command('omnistock')
  .description('Omnistock operations: marketplace sync, sales import, schema registry, API keys, service token keys')
  .showHelpAfterError()
  .addCommand(marketplaceCommand())
  .addCommand(registryCommand())
  .addCommand(importCommand())
  .addCommand(keysCommand())
  .addCommand(serviceKeysCommand());

await program.parseAsync();
