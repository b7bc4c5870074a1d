import { runSubgraph } from '../../lib/subgraph.js';
import { channelsSubgraph } from './index.js';

await runSubgraph(channelsSubgraph);
