import { randomUUID } from 'node:crypto';
import { parse, Source, type DocumentNode } from 'graphql';
import type { DataSource, EntityManager } from 'typeorm';
import type { SubgraphSource } from '../../contracts/composition.js';
import type { Composer } from './composer.js';
import { hostStore } from '../data/host.store.js';
import { endpointProblems, type EndpointProblem } from '../domain/endpoint-rules.js';
import { BadUserInputError } from '../../lib/errors.js';
import type { CheckKind, CheckRunEntity } from '../data/check.entity.js';
import { checkStore } from '../data/check.store.js';
import type { RegistrySubgraphEntity } from '../data/schema.entity.js';
import { schemaStore, type CurrentSchema } from '../data/schema.store.js';
import { usageStore } from '../data/usage.store.js';
import { webhookStore } from '../data/webhook.store.js';
import { apiSchemaOf, schemaChanges, type SchemaChange } from '../domain/changes.js';
import { blockersOf, reportChange, withProposedSubgraph } from '../domain/check-rules.js';
import type { CheckResult } from '../domain/check-result.js';
import { brokenDocuments, documentUsage, type ClientDocument } from '../domain/documents.js';
import { day, DAY_MS, type ProposalInput } from '../domain/inputs.js';
import { coordinatesOf, deprecationsOf, lintSubgraph } from '../domain/lint.js';
import { fieldResolvers, takeoversOf } from '../domain/ownership.js';
import type { Principal } from '../domain/principal.js';
import { fieldOfOmitted } from '../domain/usage.js';
import type { DocumentsService } from './documents.service.js';
import type { ContractsService } from './contracts.service.js';
import { contractSchemaOf, type ContractComposition } from '../domain/contracts.js';
import type { RegistryHistory } from './history.service.js';
import { sdlHash } from '../domain/sdl-hash.js';
import { usageEnvironments } from '../domain/environments.js';

/** What evaluating a proposal produced, beyond the result it reports. */
export interface Evaluation {
  result: CheckResult;
  current: CurrentSchema | undefined;
  existing: RegistrySubgraphEntity | null;
  routingUrl: string;
  subscriptionUrl: string | null;
  supergraphSdl: string | null;
  document: DocumentNode | null;
  /** Every member of the supergraph the proposal would make, with its SDL. */
  members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number | null }[];
  /** Every contract composed from the proposed supergraph's subgraphs. */
  contracts: ContractComposition[];
}

/** A stored check run, with its result. */
export interface CheckRunView extends CheckRunEntity {
  parsed: CheckResult;
}

/**
 * Where a proposal routes: its URLs, else the subgraph's current ones.
 * @throws BadUserInputError for a new subgraph without a routing URL
 */
function routingOf(input: ProposalInput, existing: RegistrySubgraphEntity | null): { routingUrl: string; subscriptionUrl: string | null } {
  const routingUrl = input.routingUrl ?? existing?.routingUrl;
  if (!routingUrl) {
    throw new BadUserInputError(`Subgraph "${input.subgraph}" is new: give its routing URL`, [{ path: 'routingUrl', message: 'required for a new subgraph' }]);
  }
  return { routingUrl, subscriptionUrl: input.subscriptionUrl !== undefined ? input.subscriptionUrl : (existing?.subscriptionUrl ?? null) };
}

/**
 * Checks of proposals: what a subgraph schema (or a subgraph's removal) would do to the supergraph
 * (composition, client-facing changes weighed by usage, registered documents and approvals, lint),
 * and the check runs stored. Publishing (RegistryService) stores what a check let through.
 */
export class ChecksService {
  constructor(
    private readonly ds: DataSource,
    /** `composer`: composes in a thread of its own, so a check never stalls the gateway hosting the registry. */
    private readonly deps: { history: RegistryHistory; documents: DocumentsService; contracts: ContractsService; usageWindowDays: number; composer: Composer },
  ) {}

  private get m(): EntityManager {
    return this.ds.manager;
  }

  /**
   * Composition, client-facing changes with usage and approvals, and lint of one proposal, in
   * `environment` (its other subgraphs, its current supergraph, its approvals; usage of production
   * and of the environment); `alongside`: other subgraphs' proposals published with it, composed in its place.
   */
  async evaluate(
    input: ProposalInput,
    opts: { environment: string; remove?: boolean; alongside?: readonly ProposalInput[]; team?: string | null; anyHost?: boolean },
  ): Promise<Evaluation> {
    const now = new Date();
    const { environment } = opts;
    const currents = await schemaStore.currentSchemas(this.m, environment);
    const current = currents.find((c) => c.subgraph.name === input.subgraph);
    const existing = current?.subgraph ?? (await schemaStore.subgraph(this.m, environment, input.subgraph));
    const { routingUrl, subscriptionUrl } = routingOf(input, existing);
    const proposedHash = sdlHash(input.sdl);
    const base = await schemaStore.latestSupergraph(this.m, environment);
    const alongside = (opts.alongside ?? []).map((other) => ({
      name: other.subgraph,
      ...routingOf(other, currents.find((c) => c.subgraph.name === other.subgraph)?.subgraph ?? null),
      schemaId: null,
      sdl: other.sdl,
    }));
    const proposed = new Set([input.subgraph, ...alongside.map((a) => a.name)]);
    const members = [
      ...currents
        .filter((c) => !proposed.has(c.subgraph.name))
        .map((c) => ({ name: c.subgraph.name, url: c.subgraph.routingUrl, subscriptionUrl: c.subgraph.subscriptionUrl, schemaId: c.schema.id as number | null, sdl: c.schema.sdl })),
      // A removal proposes the supergraph without it.
      ...(opts.remove ? [] : [{ name: input.subgraph, url: routingUrl, subscriptionUrl, schemaId: null, sdl: input.sdl }]),
      ...alongside.map(({ routingUrl: url, ...a }) => ({ ...a, url })),
    ].sort((a, b) => a.name.localeCompare(b.name));

    const result: CheckResult = {
      checkId: randomUUID(),
      subgraph: input.subgraph,
      environment,
      proposedHash,
      baseSupergraphVersion: base?.id ?? null,
      unchanged: !!current && current.schema.hash === proposedHash && current.subgraph.routingUrl === routingUrl && current.subgraph.subscriptionUrl === subscriptionUrl,
      composition: { ok: true, errors: [] },
      changes: [],
      lint: [],
      usageWindowDays: this.deps.usageWindowDays,
      blockers: [],
      ok: false,
    };

    if (!opts.remove) result.endpointProblems = await this.endpointProblems(input.subgraph, { routingUrl, subscriptionUrl }, opts.anyHost ?? false);

    let document: DocumentNode | null = null;
    try {
      if (!opts.remove) document = parse(new Source(input.sdl, input.subgraph));
    } catch (err) {
      result.composition = { ok: false, errors: [{ code: 'INVALID_GRAPHQL', message: (err as Error).message, subgraphs: [input.subgraph] }] };
    }

    let supergraphSdl: string | null = null;
    let contracts: ContractComposition[] = [];
    if (document || opts.remove) {
      const composed = await this.deps.composer.compose(
        members.map((m) => ({ name: m.name, url: m.url, sdl: m.sdl }) satisfies SubgraphSource),
        await this.deps.contracts.filters(),
      );
      if (composed.ok) supergraphSdl = composed.supergraphSdl;
      else result.composition = { ok: false, errors: composed.errors.map(withProposedSubgraph(input.subgraph)) };
      contracts = composed.contracts;
    }

    const previous = current ? parse(current.schema.sdl) : undefined;
    const removedDeprecated = document && previous ? deprecationsOf(previous).filter((d) => !coordinatesOf(document!).has(d.coordinate)) : [];
    let changes: SchemaChange[] = [];
    const proposedApi = supergraphSdl ? apiSchemaOf(supergraphSdl) : null;
    if (proposedApi) changes = await schemaChanges(base ? this.deps.history.apiSchemaOfVersion(base) : null, proposedApi);

    // What each contract's callers would see change: a change outside a contract is not breaking for it.
    const baseContracts = new Map(base ? (await this.deps.contracts.versionsOf(base.id)).map((v) => [v.contract, v.sdl]) : []);
    const contractChanges = await Promise.all(
      contracts.map(async (c) => ({
        composition: c,
        changes: c.ok ? await schemaChanges(baseContracts.has(c.name) ? contractSchemaOf(baseContracts.get(c.name)!) : null, contractSchemaOf(c.apiSdl)) : [],
      })),
    );

    const breaking = [...changes, ...contractChanges.flatMap((c) => c.changes)].filter((c) => c.criticality === 'BREAKING');
    const since = day(new Date(now.getTime() - this.deps.usageWindowDays * DAY_MS));
    const coordinates = [...new Set([...breaking.flatMap((c) => c.usageCoordinates), ...removedDeprecated.map((d) => d.coordinate)])];
    const fromEnvironments = usageEnvironments(environment);
    const usage = await usageStore.usageOf(this.m, coordinates, since, fromEnvironments);
    // Usage recorded before omitted arguments were cannot tell one left out from one passed: an
    // operation that selected the field then counts as leaving every argument out, until it is
    // recorded again.
    const omitted = coordinates.filter((c) => fieldOfOmitted(c));
    const unsure = await usageStore.usageWithoutOmissions(this.m, [...new Set(omitted.map((c) => fieldOfOmitted(c)!))], since, fromEnvironments);
    for (const c of omitted) usage.push(...unsure.filter((u) => u.coordinate === fieldOfOmitted(c)).map((u) => ({ ...u, coordinate: c })));
    // Registered documents are usage no window ages out; one the proposal would no longer validate blocks it.
    const registered = proposedApi ? await this.deps.documents.all() : [];
    const parsedDocument = (d: ClientDocument) => this.deps.documents.parsedDocument(d);
    if (registered.length && base) usage.push(...documentUsage(this.deps.history.apiSchemaOfVersion(base), registered, parsedDocument));
    result.brokenDocuments = proposedApi && registered.length ? brokenDocuments(proposedApi, registered, parsedDocument) : [];
    if (supergraphSdl && base && !opts.remove) {
      const teams = new Map(currents.map((c) => [c.subgraph.name, c.subgraph.team]));
      const team = existing?.team ?? opts.team ?? null;
      const found = takeoversOf(fieldResolvers(base.sdl), fieldResolvers(supergraphSdl), input.subgraph, (s) => (s === input.subgraph ? team : (teams.get(s) ?? null)));
      const granted = new Set((await checkStore.pendingApprovals(this.m, environment, found.map((t) => t.fingerprint))).map((a) => a.fingerprint));
      result.takeovers = found.map((t) => ({ ...t, approved: granted.has(t.fingerprint) }));
    }
    const approvals = new Set((await checkStore.pendingApprovals(this.m, environment, breaking.map((c) => c.fingerprint))).map((a) => a.fingerprint));
    result.changes = changes.map((c) => reportChange(c, usage, approvals));
    result.contracts = contractChanges.map(({ composition: c, changes: its }) => ({
      contract: c.name,
      composition: c.ok ? { ok: true, errors: [] } : { ok: false, errors: c.errors },
      changes: its.map((change) => reportChange(change, usage, approvals)),
    }));

    if (document) {
      const firstDeprecated = new Map((await webhookStore.activeDeprecations(this.m, input.subgraph)).map((d) => [d.coordinate, d.firstPublishedAt]));
      const uses = new Map<string, number>();
      for (const u of usage) uses.set(u.coordinate, (uses.get(u.coordinate) ?? 0) + u.count);
      result.lint = lintSubgraph(document, {
        now,
        firstDeprecated: (coordinate) => firstDeprecated.get(coordinate),
        previous,
        usage: (coordinate) => uses.get(coordinate) ?? 0,
      });
    }

    result.blockers = blockersOf(result);
    result.ok = result.blockers.length === 0;
    return {
      result,
      current,
      existing,
      routingUrl,
      subscriptionUrl,
      supergraphSdl,
      document,
      members: members.map(({ sdl: _sdl, ...m }) => m),
      contracts,
    };
  }

  /**
   * What is wrong with the URLs a proposal would route the subgraph to: hosts the subgraph is not
   * allowed (unless `anyHost`: an admin's), and what no one may use. Both URLs, changed or not: a host
   * an admin disallowed stops the next publish that keeps it.
   */
  private async endpointProblems(subgraph: string, urls: { routingUrl: string; subscriptionUrl: string | null }, anyHost: boolean): Promise<EndpointProblem[]> {
    const allowed = anyHost ? 'any' : await hostStore.hosts(this.m, subgraph);
    return [
      ...endpointProblems('routing', urls.routingUrl, allowed),
      ...(urls.subscriptionUrl ? endpointProblems('subscription', urls.subscriptionUrl, allowed) : []),
    ];
  }

  /** Stores a check run with its breaking changes (what approvals refer to). */
  async record(result: CheckResult, kind: CheckKind, principal: Principal): Promise<void> {
    const at = new Date();
    await checkStore.insertCheckRun(
      this.m,
      {
        id: result.checkId,
        environment: result.environment ?? 'production',
        subgraph: result.subgraph,
        kind,
        proposedHash: result.proposedHash,
        baseSupergraphVersion: result.baseSupergraphVersion,
        ok: result.ok,
        result: JSON.stringify(result),
        actor: principal.name,
        createdAt: at,
      },
      [
        ...uniqueByFingerprint([...result.changes, ...(result.contracts ?? []).flatMap((c) => c.changes)])
          .filter((c) => c.criticality === 'BREAKING')
          .map((c) => ({ checkRunId: result.checkId, fingerprint: c.fingerprint, subgraph: result.subgraph, type: c.type, coordinate: c.coordinate, message: c.message, createdAt: at })),
        // Approved by the owner of what is taken over: the change is recorded under its subgraph.
        ...(result.takeovers ?? []).map((t) => ({
          checkRunId: result.checkId,
          fingerprint: t.fingerprint,
          subgraph: t.from[0]!,
          type: 'FIELD_TAKEOVER',
          coordinate: t.coordinate,
          message: `${result.subgraph} would resolve ${t.coordinate}, resolved by ${t.from.join(', ')} today`,
          createdAt: at,
        })),
      ],
    );
  }

  /**
   * Stored check runs, newest first, each with its result: of the subgraphs `readable` lets
   * through (every subgraph when it is null), or of `subgraph` alone; of `environment` alone when it is given.
   */
  async runs(filter: { subgraph?: string | null; environment?: string | null; readable: ((subgraph: string) => boolean) | null; limit: number }): Promise<CheckRunView[]> {
    let subgraphs: string[] | null = filter.subgraph ? [filter.subgraph] : null;
    if (filter.readable) subgraphs = (subgraphs ?? (await checkStore.checkedSubgraphs(this.m))).filter(filter.readable);
    const rows = await checkStore.checkRuns(this.m, subgraphs, Math.min(Math.max(filter.limit, 1), 200), filter.environment ?? null);
    return rows.map((row) => ({ ...row, parsed: JSON.parse(row.result) as CheckResult }));
  }

  /** A stored check run's result. */
  async run(id: string): Promise<CheckResult | null> {
    const row = await checkStore.checkRun(this.m, id);
    return row ? (JSON.parse(row.result) as CheckResult) : null;
  }
}

/** Changes with distinct fingerprints: a change to the whole schema and to a contract's is one change to approve. */
function uniqueByFingerprint<T extends { fingerprint: string }>(changes: T[]): T[] {
  return [...new Map(changes.map((c) => [c.fingerprint, c])).values()];
}
