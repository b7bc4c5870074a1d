import { In, IsNull, type EntityManager } from 'typeorm';
import { ApprovalEntity, CheckChangeEntity, CheckRunEntity } from './check.entity.js';

/** SQL of check runs, the breaking changes they found and approvals. Every method runs on the manager it is given. */
export const checkStore = {
  async insertCheckRun(tx: EntityManager, row: CheckRunEntity, changes: CheckChangeEntity[]): Promise<void> {
    await tx.insert(CheckRunEntity, row);
    if (changes.length) await tx.insert(CheckChangeEntity, changes);
  },

  checkRun(tx: EntityManager, id: string): Promise<CheckRunEntity | null> {
    return tx.findOneBy(CheckRunEntity, { id });
  },

  /** Check runs, newest first: of these subgraphs only when given (an empty list: none), of one environment only when given. */
  checkRuns(tx: EntityManager, subgraphs: readonly string[] | null, limit: number, environment: string | null = null): Promise<CheckRunEntity[]> {
    if (subgraphs && !subgraphs.length) return Promise.resolve([]);
    return tx.find(CheckRunEntity, { where: { ...(subgraphs ? { subgraph: In([...subgraphs]) } : {}), ...(environment ? { environment } : {}) }, order: { createdAt: 'DESC', id: 'ASC' }, take: limit });
  },

  /** The subgraphs that have check runs. */
  async checkedSubgraphs(tx: EntityManager): Promise<string[]> {
    const rows = (await tx.query('SELECT DISTINCT subgraph FROM check_runs ORDER BY subgraph')) as { subgraph: string }[];
    return rows.map((r) => r.subgraph);
  },

  /** The most recent check that found a change with this fingerprint. */
  async latestChange(tx: EntityManager, fingerprint: string): Promise<CheckChangeEntity | null> {
    const [row] = await tx.find(CheckChangeEntity, { where: { fingerprint }, order: { createdAt: 'DESC' }, take: 1 });
    return row ?? null;
  },

  /** The environment's approvals not yet shipped, of any of these fingerprints. */
  pendingApprovals(tx: EntityManager, environment: string, fingerprints: readonly string[]): Promise<ApprovalEntity[]> {
    if (!fingerprints.length) return Promise.resolve([]);
    return tx.find(ApprovalEntity, { where: { environment, fingerprint: In([...fingerprints]), shippedSupergraphVersion: IsNull() } });
  },

  async insertApproval(tx: EntityManager, row: Omit<ApprovalEntity, 'id'>): Promise<ApprovalEntity> {
    const result = await tx.insert(ApprovalEntity, row);
    return { ...row, id: Number(result.identifiers[0]!.id) };
  },

  /** Newest first. */
  approvals(tx: EntityManager, filter: { environment: string; subgraph?: string | null; pendingOnly: boolean }, limit: number): Promise<ApprovalEntity[]> {
    return tx.find(ApprovalEntity, {
      where: {
        environment: filter.environment,
        ...(filter.subgraph ? { subgraph: filter.subgraph } : {}),
        ...(filter.pendingOnly ? { shippedSupergraphVersion: IsNull() } : {}),
      },
      order: { id: 'DESC' },
      take: limit,
    });
  },

  async markShipped(tx: EntityManager, environment: string, fingerprints: readonly string[], supergraphVersion: number): Promise<void> {
    if (!fingerprints.length) return;
    await tx.update(ApprovalEntity, { environment, fingerprint: In([...fingerprints]), shippedSupergraphVersion: IsNull() }, { shippedSupergraphVersion: supergraphVersion });
  },
};
