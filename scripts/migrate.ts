/**
 * npm run migrate: creates every subgraph's database and the registry's if missing and applies
 * pending migrations (the Helm chart's migrations Job runs it before an install or upgrade).
 */
import { config } from '../lib/config.js';
import { openRegistryDatabase } from '../registry/index.js';
import { closeAll, migrateAll } from './system.js';

const cfg = config();
const sources = await migrateAll(cfg);
await closeAll(sources);
const registry = await openRegistryDatabase(cfg);
await registry.destroy();
process.stdout.write('Migrations applied to every subgraph database and the registry database.\n');
