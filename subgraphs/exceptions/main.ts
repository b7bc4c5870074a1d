import { runSubgraph } from '../../lib/subgraph.js';
import { exceptionsSubgraph } from './index.js';

await runSubgraph(exceptionsSubgraph);
