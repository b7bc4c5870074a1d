/**
 * `omnistock`: the operator's command line (`npm run omnistock -- <command>`). Each area adds its
 * commands as one commander sub-command built in scripts/cli/. Only the area a command names is
 * loaded (the registry's brings Apollo's composition, for one): the others are loaded for the
 * top-level help and for a name that is none of them.
 */
import { Command } from 'commander';

const AREAS: Record<string, () => Promise<Command>> = {
  marketplace: async () => (await import('./cli/marketplace.js')).marketplaceCommand(),
  import: async () => (await import('./cli/import.js')).importCommand(),
  exceptions: async () => (await import('./cli/exceptions.js')).exceptionsCommand(),
  registry: async () => (await import('./cli/registry.js')).registryCommand(),
  keys: async () => (await import('./cli/keys.js')).keysCommand(),
  'service-keys': async () => (await import('./cli/service-keys.js')).serviceKeysCommand(),
};

const named = process.argv[2] && AREAS[process.argv[2]];
const program = new Command('omnistock')
  .description('Omnistock operations: marketplace sync, sales import, the exceptions inbox, schema registry, API keys, service token keys')
  .showHelpAfterError();
for (const area of named ? [named] : Object.values(AREAS)) program.addCommand(await area());

await program.parseAsync();
