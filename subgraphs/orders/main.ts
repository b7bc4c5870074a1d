import { runSubgraph } from '../../lib/subgraph.js';
import { ordersSubgraph } from './index.js';

await runSubgraph(ordersSubgraph);
