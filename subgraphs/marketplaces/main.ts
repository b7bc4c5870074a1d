import { runSubgraph } from '../../lib/subgraph.js';
import { marketplacesSubgraph } from './index.js';

await runSubgraph(marketplacesSubgraph);
