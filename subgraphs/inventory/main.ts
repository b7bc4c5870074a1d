import { runSubgraph } from '../../lib/subgraph.js';
import { inventorySubgraph } from './index.js';

await runSubgraph(inventorySubgraph);
