import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { NotFoundError } from '../../lib/errors.js';
import { checkStore } from '../data/check.store.js';
import { authorize, type Principal } from '../domain/principal.js';

/** Approvals of the breaking changes checks find: who let which change through, and whether it shipped. */
export class ApprovalsService {
  private readonly m: EntityManager;

  constructor(
    ds: DataSource,
    private readonly log: Logger,
  ) {
    this.m = ds.manager;
  }

  /**
   * Approves a breaking change a check found, by its fingerprint, in one environment; later checks
   * and publishes (and promotions) of that change in that environment pass until one ships it there.
   * @throws NotFoundError when no check found a breaking change with that fingerprint
   * @throws ForbiddenError when the principal may not approve changes of that subgraph
   */
  async approve(principal: Principal, input: { fingerprint: string; reason?: string | null }, environment: string) {
    const change = await checkStore.latestChange(this.m, input.fingerprint);
    if (!change) throw new NotFoundError('Breaking change with fingerprint', input.fingerprint);
    authorize(principal, 'APPROVE', change.subgraph);
    const [pending] = await checkStore.pendingApprovals(this.m, environment, [input.fingerprint]);
    if (pending) return pending;
    const approval = await checkStore.insertApproval(this.m, {
      environment,
      fingerprint: change.fingerprint,
      subgraph: change.subgraph,
      type: change.type,
      coordinate: change.coordinate,
      message: change.message,
      approvedBy: principal.name,
      reason: input.reason ?? null,
      createdAt: new Date(),
      shippedSupergraphVersion: null,
    });
    this.log.info({ fingerprint: change.fingerprint, coordinate: change.coordinate, environment, actor: principal.name }, 'breaking change approved');
    return approval;
  }

  list(filter: { environment: string; subgraph?: string | null; pendingOnly?: boolean | null }, limit = 100) {
    return checkStore.approvals(this.m, { environment: filter.environment, subgraph: filter.subgraph, pendingOnly: filter.pendingOnly ?? true }, limit);
  }
}
