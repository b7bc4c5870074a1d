import type { DataSource, EntityManager } from 'typeorm';
import { writeTransaction } from '../../lib/db.js';
import { ConflictError, NotFoundError, parseInput } from '../../lib/errors.js';
import type { ContractEntity, ContractVersionEntity } from '../data/contract.entity.js';
import { contractStore } from '../data/contract.store.js';
import { schemaStore } from '../data/schema.store.js';
import { schemaChanges, type SchemaChange } from '../domain/changes.js';
import { contractInputSchema, contractNameSchema, contractSchemaOf, type ContractComposition, type ContractFilter, type ContractInput } from '../domain/contracts.js';
import type { CompositionProblem } from '../../contracts/composition.js';
import { authorizeRead, requireAdmin, type Principal } from '../domain/principal.js';
import { PRODUCTION } from '../domain/environments.js';
import type { ComposedSupergraph, Composer } from './composer.js';

/** What stores a supergraph version: RegistryService's, the one writer of supergraph versions. */
export type StoreSupergraph = (
  tx: EntityManager,
  sdl: string,
  opts: { environment: string; createdBy: string; reason: string; members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number }[]; contracts: readonly ContractComposition[]; at: Date },
) => Promise<number>;

export type SetContractOutcome =
  | { set: true; contract: ContractEntity; supergraphVersion: number; changes: SchemaChange[] }
  | { set: false; errors: CompositionProblem[] };

/**
 * Contracts (API schemas per audience, filtered by @tag): their definitions (one set for every
 * environment), and their schema in each supergraph version. Setting or removing one composes it
 * in every environment and stores a new supergraph version in each (same subgraphs), so gateways pick it up at their next poll and history shows it; publishes
 * compose every contract with the supergraph (checks.service.ts).
 */
export class ContractsService {
  constructor(
    private readonly ds: DataSource,
    private readonly deps: { composer: Composer; serialized: <T>(work: () => Promise<T>) => Promise<T>; storeSupergraph: StoreSupergraph; environments: () => readonly string[] },
  ) {}

  private get m(): EntityManager {
    return this.ds.manager;
  }

  /** Every contract's filter, as compositions take them. */
  async filters(): Promise<ContractFilter[]> {
    return (await contractStore.contracts(this.m)).map(({ name, includeTags, excludeTags }) => ({ name, includeTags, excludeTags }));
  }

  /** The contract schemas of one supergraph version (what a gateway serving it validates against). */
  versionsOf(supergraphVersion: number): Promise<ContractVersionEntity[]> {
    return contractStore.versionsOf(this.m, [supergraphVersion]);
  }

  list(principal: Principal): Promise<ContractEntity[]> {
    authorizeRead(principal, '*');
    return contractStore.contracts(this.m);
  }

  /** A contract's schema in the newest supergraph versions that hold it, newest first. */
  history(principal: Principal, name: string, limit = 20): Promise<ContractVersionEntity[]> {
    authorizeRead(principal, '*');
    return contractStore.history(this.m, name, Math.min(Math.max(limit, 1), 500));
  }

  /** Every contract's schema in one supergraph version. */
  versions(principal: Principal, supergraphVersion: number): Promise<ContractVersionEntity[]> {
    authorizeRead(principal, '*');
    return this.versionsOf(supergraphVersion);
  }

  /**
   * Creates or changes a contract (registry:admin): composes it from the current subgraphs and
   * stores a new supergraph version holding it. Refused, with nothing stored, when it does not
   * compose (it would leave out a required argument or a type still referenced).
   * @returns the changes its callers see, graphql-inspector's classification
   * @throws ForbiddenError unless the principal is an admin
   * @throws BadUserInputError for a malformed name or tag
   */
  async set(principal: Principal, input: ContractInput): Promise<SetContractOutcome> {
    requireAdmin(principal, 'define contracts');
    const parsed = parseInput(contractInputSchema, input, 'contract');
    return this.deps.serialized(async () => {
      const filters = (await this.filters()).filter((f) => f.name !== parsed.name);
      const filter = { name: parsed.name, includeTags: parsed.includeTags, excludeTags: parsed.excludeTags };
      type Staged = { set: false; errors: CompositionProblem[] } | { set: true; row: ContractEntity; before: ContractVersionEntity | null; apiSdl: string };
      const stored = await this.recompose<Staged>(principal, [...filters, filter], `contract ${parsed.name} set`, async (tx, at, compositions) => {
        // Refused when it fails in any environment; otherwise production's schema is the one reported.
        const composed = compositions.find((c) => c.name === parsed.name && !c.ok) ?? compositions.find((c) => c.name === parsed.name)!;
        if (!composed.ok) return { store: false, value: { set: false, errors: composed.errors } };
        const existing = await contractStore.contract(tx, parsed.name);
        const row: ContractEntity = { ...filter, description: parsed.description ?? null, createdBy: existing?.createdBy ?? principal.name, createdAt: existing?.createdAt ?? at, updatedAt: at };
        await contractStore.upsert(tx, row);
        return { store: true, value: { set: true, row, before: (await contractStore.history(tx, parsed.name, 1))[0] ?? null, apiSdl: composed.apiSdl } };
      });
      if (!stored.value.set) return stored.value;
      const { row, before, apiSdl } = stored.value;
      const changes = await schemaChanges(before ? contractSchemaOf(before.sdl) : null, contractSchemaOf(apiSdl));
      return { set: true, contract: row, supergraphVersion: stored.supergraphVersion!, changes };
    });
  }

  /**
   * Removes a contract (registry:admin) in a new supergraph version. Callers whose key or token
   * still names it are refused by the gateway (CONTRACT_UNKNOWN): they never fall back to the whole schema.
   * @throws NotFoundError for an unknown contract
   */
  async remove(principal: Principal, name: string): Promise<number> {
    requireAdmin(principal, 'remove contracts');
    const parsed = parseInput(contractNameSchema, name, 'name');
    return this.deps.serialized(async () => {
      if (!(await contractStore.contract(this.m, parsed))) throw new NotFoundError('Contract', parsed);
      const filters = (await this.filters()).filter((f) => f.name !== parsed);
      const stored = await this.recompose(principal, filters, `contract ${parsed} removed`, async (tx) => {
        await contractStore.remove(tx, parsed);
        return { store: true, value: null };
      });
      return stored.supergraphVersion!;
    });
  }

  /**
   * Composes the current subgraphs of every environment that has a supergraph with `filters`;
   * `change` sees each contract's composition in each of them (production's first, another's errors
   * naming it) and decides in the transaction whether a new supergraph version (same subgraphs,
   * these contracts) is stored in each.
   * @returns the value of `change` and production's new supergraph version
   */
  private async recompose<T>(
    principal: Principal,
    filters: ContractFilter[],
    reason: string,
    change: (tx: EntityManager, at: Date, compositions: readonly ContractComposition[]) => Promise<{ store: boolean; value: T }>,
  ): Promise<{ value: T; supergraphVersion: number | null }> {
    const environments = [PRODUCTION, ...this.deps.environments().filter((e) => e !== PRODUCTION)];
    const composedIn: { environment: string; members: Parameters<StoreSupergraph>[2]['members']; composed: ComposedSupergraph & { ok: true } }[] = [];
    for (const environment of environments) {
      const currents = await schemaStore.currentSchemas(this.m, environment);
      if (!currents.length) continue;
      const composed = await this.deps.composer.compose(
        currents.map((c) => ({ name: c.subgraph.name, url: c.subgraph.routingUrl, sdl: c.schema.sdl })),
        filters,
      );
      if (!composed.ok) throw new ConflictError(`The current subgraphs of ${environment} do not compose: ${composed.errors.map((e) => e.message).join('; ')}`);
      const members = currents.map((c) => ({ name: c.subgraph.name, url: c.subgraph.routingUrl, subscriptionUrl: c.subgraph.subscriptionUrl, schemaId: c.schema.id }));
      composedIn.push({ environment, members, composed });
    }
    if (composedIn[0]?.environment !== PRODUCTION) throw new ConflictError('The registry holds no supergraph yet', { reason: 'NOT_SEEDED' });
    const compositions = composedIn.flatMap(({ environment, composed }) =>
      composed.contracts.map((c) => (c.ok || environment === PRODUCTION ? c : { ...c, errors: c.errors.map((e) => ({ ...e, message: `${environment}: ${e.message}` })) })),
    );
    const at = new Date();
    return writeTransaction(this.ds, async (tx) => {
      const { store, value } = await change(tx, at, compositions);
      if (!store) return { value, supergraphVersion: null };
      let supergraphVersion: number | null = null;
      for (const { environment, members, composed } of composedIn) {
        const version = await this.deps.storeSupergraph(tx, composed.supergraphSdl, { environment, createdBy: principal.name, reason, members, contracts: composed.contracts, at });
        if (environment === PRODUCTION) supergraphVersion = version;
      }
      return { value, supergraphVersion };
    });
  }
}
