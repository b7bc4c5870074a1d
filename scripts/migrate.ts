/** npm run migrate: creates every subgraph's database if missing and applies pending migrations. */
import { config } from '../lib/config.js';
import { closeAll, migrateAll } from './system.js';

const sources = await migrateAll(config());
await closeAll(sources);
process.stdout.write('Migrations applied to every subgraph database.\n');
