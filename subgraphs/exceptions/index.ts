import { DateTime } from '../../lib/scalars.js';
import { loadTypeDefs, type SubgraphDefinition } from '../../lib/subgraph.js';
import { createContext, type ExceptionsContext } from './api/context.js';
import { exceptionResolvers } from './api/resolvers/exception.js';
import { ExceptionEntity } from './data/exception.entity.js';
import { CreateExceptions1740000000000 } from './data/migrations/1740000000000-create-exceptions.js';
import { AnomalyLedger1740000001000 } from './data/migrations/1740000001000-anomaly-ledger.js';

export const exceptionsSubgraph: SubgraphDefinition<ExceptionsContext> = {
  name: 'exceptions',
  typeDefs: loadTypeDefs(import.meta.url, 'api/schema.graphql'),
  resolvers: { DateTime, ...exceptionResolvers },
  entities: [ExceptionEntity],
  migrations: [CreateExceptions1740000000000, AnomalyLedger1740000001000],
  createContext,
};
