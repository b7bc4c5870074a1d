import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { assertId } from '../../../../lib/validation.js';
import type { InventoryContext } from '../context.js';
import type { DriftLineEntity, ReconciliationRunEntity } from '../../data/reconciliation.entity.js';
import { locationRef } from './stock.js';

export const reconciliationResolvers = {
  Query: {
    reconciliationRun: (_: unknown, args: { id: string }, ctx: InventoryContext) =>
      ctx.loaders.reconciliationRunById.load(assertId(args.id)),
    reconciliationRuns: (_: unknown, args: { source?: string | null; first?: number | null; after?: string | null }, ctx: InventoryContext) =>
      ctx.reconciliation.list(args.source, args.first, args.after),
  },
  Mutation: {
    reconcileSnapshot: (_: unknown, args: { input: unknown }, ctx: InventoryContext) => ctx.reconciliation.reconcile(args.input, ctx.clientId),
    applyReconciliation: (_: unknown, args: { runId: string }, ctx: InventoryContext) => ctx.reconciliation.applyRun(args.runId, ctx.clientId),
  },
  ReconciliationRun: {
    drifts: (r: ReconciliationRunEntity, _args: unknown, ctx: InventoryContext) => ctx.loaders.driftsByRunId.load(r.id),
    replayed: (r: ReconciliationRunEntity & { replayed?: boolean }) => r.replayed ?? false,
  },
  DriftLine: {
    location: (d: DriftLineEntity) => locationRef(d.locationId),
    drift: (d: DriftLineEntity) => d.theirs - d.ours,
    correction: (d: DriftLineEntity, _args: unknown, ctx: InventoryContext) => (d.movementId ? ctx.loaders.movementById.load(d.movementId) : null),
  },
} satisfies GraphQLResolverMap<InventoryContext>;
