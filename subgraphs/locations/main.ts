import { runSubgraph } from '../../lib/subgraph.js';
import { locationsSubgraph } from './index.js';

await runSubgraph(locationsSubgraph);
