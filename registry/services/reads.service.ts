import type { CheckResult } from '../domain/check-result.js';
import { allowed, authorizeRead, mayRead, type Principal } from '../domain/principal.js';
import type { ApprovalsService } from './approvals.service.js';
import type { CheckRunView, ChecksService } from './checks.service.js';
import type { ClientPolicyView, DocumentsService } from './documents.service.js';
import type { RegistryHistory, SubgraphView } from './history.service.js';

/**
 * What the registry API lets a caller read: a subgraph's schemas, routing URLs and check runs with
 * `registry:read:<subgraph>` (or a registry scope of its own on it), the supergraph and every
 * subgraph with `registry:read:*`, a client's policy with `registry:documents:<client>`; admins
 * everything. Lists hold what the caller may read; asking for one thing it may not is FORBIDDEN.
 */
export class RegistryReads {
  constructor(
    private readonly deps: {
      history: RegistryHistory;
      checks: ChecksService;
      approvals: ApprovalsService;
      documents: DocumentsService;
      /** The environment a read names (production when none). @throws BadUserInputError for an unknown one */
      environment: (name?: string | null) => string;
      environments: () => readonly string[];
    },
  ) {}

  /** The registry's environments (REGISTRY_ENVIRONMENTS); any caller may list them. */
  environments(): readonly string[] {
    return this.deps.environments();
  }

  async subgraphs(principal: Principal, environment?: string | null): Promise<SubgraphView[]> {
    const env = this.deps.environment(environment);
    return (await this.deps.history.subgraphs(env)).filter((s) => mayRead(principal, s.name));
  }

  subgraph(principal: Principal, name: string, environment?: string | null): Promise<SubgraphView | null> {
    const env = this.deps.environment(environment);
    authorizeRead(principal, name);
    return this.deps.history.subgraph(name, env);
  }

  schemaHistory(principal: Principal, subgraph: string, limit?: number) {
    authorizeRead(principal, subgraph);
    return this.deps.history.schemaHistory(subgraph, limit);
  }

  schemaVersion(principal: Principal, subgraph: string, version: number) {
    authorizeRead(principal, subgraph);
    return this.deps.history.schemaVersion(subgraph, version);
  }

  supergraphHistory(principal: Principal, limit?: number, environment?: string | null) {
    const env = this.deps.environment(environment);
    authorizeRead(principal, '*');
    return this.deps.history.supergraphHistory(limit, env);
  }

  supergraph(principal: Principal, version?: number | null, environment?: string | null) {
    const env = this.deps.environment(environment);
    authorizeRead(principal, '*');
    return this.deps.history.supergraph(version, env);
  }

  diff(principal: Principal, input: { subgraph?: string | null; from: number; to: number; environment?: string | null }) {
    const environment = this.deps.environment(input.environment);
    authorizeRead(principal, input.subgraph ?? '*');
    return this.deps.history.diff({ ...input, environment });
  }

  /** Null, as for an unknown id, when the run is of a subgraph the caller may not read: ids of others' runs reveal nothing. */
  async checkRun(principal: Principal, id: string): Promise<CheckResult | null> {
    const run = await this.deps.checks.run(id);
    return run && mayRead(principal, run.subgraph) ? run : null;
  }

  /** Check runs, newest first: of `subgraph` (FORBIDDEN unless the caller may read it), else of every subgraph the caller may read; of one environment when it is named, else of all. */
  checkRuns(principal: Principal, filter: { subgraph?: string | null; first?: number | null; environment?: string | null }): Promise<CheckRunView[]> {
    const environment = filter.environment ? this.deps.environment(filter.environment) : null;
    if (filter.subgraph) authorizeRead(principal, filter.subgraph);
    const readable = mayRead(principal, '*') ? null : (subgraph: string) => mayRead(principal, subgraph);
    return this.deps.checks.runs({ subgraph: filter.subgraph, environment, readable, limit: filter.first ?? 20 });
  }

  async approvals(principal: Principal, filter: { subgraph?: string | null; pendingOnly?: boolean | null; environment?: string | null }) {
    const environment = this.deps.environment(filter.environment);
    if (filter.subgraph) authorizeRead(principal, filter.subgraph);
    return (await this.deps.approvals.list({ ...filter, environment })).filter((a) => mayRead(principal, a.subgraph));
  }

  async clientPolicies(principal: Principal): Promise<ClientPolicyView[]> {
    return (await this.deps.documents.policies()).filter((p) => allowed(principal, 'DOCUMENTS', p.clientId));
  }
}
