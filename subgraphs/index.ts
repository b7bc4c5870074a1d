import type { SubgraphName } from '../lib/config.js';
import type { BaseContext, SubgraphDefinition } from '../lib/subgraph.js';
import { channelsSubgraph } from './channels/index.js';
import { exceptionsSubgraph } from './exceptions/index.js';
import { inventorySubgraph } from './inventory/index.js';
import { locationsSubgraph } from './locations/index.js';
import { marketplacesSubgraph } from './marketplaces/index.js';
import { ordersSubgraph } from './orders/index.js';

/** Every subgraph by name, for the code that runs several of them (scripts, the jobs process, tests). */
export const SUBGRAPHS: Record<SubgraphName, SubgraphDefinition<BaseContext>> = {
  inventory: inventorySubgraph as unknown as SubgraphDefinition<BaseContext>,
  orders: ordersSubgraph as unknown as SubgraphDefinition<BaseContext>,
  locations: locationsSubgraph as unknown as SubgraphDefinition<BaseContext>,
  channels: channelsSubgraph as unknown as SubgraphDefinition<BaseContext>,
  marketplaces: marketplacesSubgraph as unknown as SubgraphDefinition<BaseContext>,
  exceptions: exceptionsSubgraph as unknown as SubgraphDefinition<BaseContext>,
};
