import { createRequire } from 'node:module';
import { parse, type DocumentNode } from 'graphql';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import type { SubgraphSource } from '../../contracts/composition.js';
import { Composer, type ComposerSettings } from './composer.js';
import { RegistryReads } from './reads.service.js';
import { HostsService } from './hosts.service.js';
import { ExplorerService } from './explorer.service.js';
import { hostStore } from '../data/host.store.js';
import { SUBGRAPH_NAMES } from '../../lib/config.js';
import { getNamedLock, releaseNamedLock, writeTransaction } from '../../lib/db.js';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError, parseInput } from '../../lib/errors.js';
import type { CheckKind } from '../data/check.entity.js';
import { checkStore } from '../data/check.store.js';
import type { SchemaVersionEntity } from '../data/schema.entity.js';
import { schemaStore } from '../data/schema.store.js';
import { teamStore } from '../data/team.store.js';
import { usageStore, type UsageIncrement } from '../data/usage.store.js';
import type { WebhookEvent } from '../data/webhook.entity.js';
import { webhookStore } from '../data/webhook.store.js';
import { changeSummaries } from '../domain/check-rules.js';
import type { CheckResult } from '../domain/check-result.js';
import { httpUrl, nameSchema, publishSchema, wsUrl, type ProposalInput } from '../domain/inputs.js';
import { DEFAULT_ENVIRONMENTS, environmentOf, PRODUCTION, type EnvironmentSettings } from '../domain/environments.js';
import { deprecationsOf } from '../domain/lint.js';
import { authorize, type Principal } from '../domain/principal.js';
import { sdlHash } from '../domain/sdl-hash.js';
import { ApprovalsService } from './approvals.service.js';
import { ChecksService, type Evaluation } from './checks.service.js';
import { ContractsService } from './contracts.service.js';
import { contractStore } from '../data/contract.store.js';
import type { ContractComposition } from '../domain/contracts.js';
import { DocumentsService } from './documents.service.js';
import { RegistryHistory } from './history.service.js';
import { TeamsService } from './teams.service.js';
import { WebhooksService } from './webhooks.service.js';

/** @apollo/composition's version, recorded with every supergraph it composes. */
export const COMPOSITION_VERSION: string = (createRequire(import.meta.url)('@apollo/composition/package.json') as { version: string }).version;

/** Where registry events go (signed webhook deliveries); called after the change committed. */
export interface RegistryEvents {
  emit(event: WebhookEvent, payload: Record<string, unknown>): Promise<void>;
}

export interface RegistryServiceOptions {
  /** REGISTRY_USAGE_WINDOW_DAYS. */
  usageWindowDays: number;
  /** REGISTRY_DEPRECATION_NOTICE_DAYS. */
  deprecationNoticeDays: number;
  events: RegistryEvents;
  log: Logger;
  /** REGISTRY_COMPOSITION_TIMEOUT_MS and REGISTRY_COMPOSITION_QUEUE. */
  composition: ComposerSettings;
  /** The team that owns subgraphs seeded from supergraph.yaml or published by an operator. */
  platformTeam?: string;
  /** REGISTRY_ENVIRONMENTS and REGISTRY_PROMOTION_REQUIRED (default: staging and production, none required). */
  environments?: EnvironmentSettings;
}

/** Which environment a request is for (production when it names none). */
export interface InEnvironment {
  environment?: string | null;
}

export interface PromoteInput {
  subgraph: string;
  /** The environment whose current schema version is promoted. */
  from: string;
  /** The environment it is published to. */
  to: string;
  /** Required when the subgraph is new to `to`; else changes its routing URL there. */
  routingUrl?: string | null;
  subscriptionUrl?: string | null;
}

export interface PublishInput {
  subgraph: string;
  sdl: string;
  /** Required for a new subgraph; changes the routing URL of an existing one. */
  routingUrl?: string | null;
  subscriptionUrl?: string | null;
  author?: string | null;
  commit?: string | null;
  /** Owner of a new subgraph (admins only; a partner's subgraph belongs to its key's team). */
  team?: string | null;
}

export type CheckInput = Pick<PublishInput, 'subgraph' | 'sdl' | 'routingUrl' | 'subscriptionUrl'>;

export type PublishOutcome =
  | {
      published: true;
      /** False when the proposal was the current schema: nothing new was stored. */
      created: boolean;
      schemaVersion: SchemaVersionEntity | null;
      supergraphVersion: number;
      check: CheckResult;
    }
  | { published: false; check: CheckResult };

export interface SyncOutcome {
  subgraph: string;
  outcome: 'seeded' | 'unchanged' | 'published' | 'blocked';
  supergraphVersion?: number;
  check?: CheckResult;
}

const PUBLISH_LOCK_WAIT_S = 60;


/**
 * The schema registry: publishing what a check let through (new schema and supergraph versions,
 * one publish at a time), rollback, removal, seeding and usage here; its other capabilities beside
 * it, one service each: `checks` (evaluating proposals, check runs), `history` (reads and diffs),
 * `approvals`, `teams`, `webhooks`, `documents`. Every interface (the
 * GraphQL API, the CLI in --local mode, the gateway's poller and usage recorder) goes through it.
 */
export class RegistryService {
  private readonly platformTeam: string;
  /** Subgraphs, schema and supergraph versions, diffs: the registry's reads. */
  readonly history: RegistryHistory;
  /** Approvals of breaking changes. */
  readonly approvals: ApprovalsService;
  /** Teams that own subgraphs. */
  readonly teams: TeamsService;
  /** Webhook subscriptions, registry events and deprecation notices. */
  readonly webhooks: WebhooksService;
  /** Client applications' trusted documents and policies. */
  readonly documents: DocumentsService;
  /** Checks of proposals and the stored check runs. */
  readonly checks: ChecksService;
  /** What the registry API lets each caller read. */
  readonly reads: RegistryReads;
  /** The hosts each subgraph may be routed to. */
  readonly hosts: HostsService;
  /** Contracts: API schemas per audience, filtered by @tag. */
  readonly contracts: ContractsService;
  /** The schema explorer: types and fields with their owners, deprecations and usage. */
  readonly explorer: ExplorerService;
  /** Composes in a thread of its own (close() ends it). */
  private readonly composer: Composer;
  /** REGISTRY_ENVIRONMENTS and REGISTRY_PROMOTION_REQUIRED. */
  readonly environments: EnvironmentSettings;

  constructor(
    private readonly ds: DataSource,
    private readonly opts: RegistryServiceOptions,
  ) {
    this.platformTeam = opts.platformTeam ?? 'platform';
    this.environments = opts.environments ?? DEFAULT_ENVIRONMENTS;
    this.composer = new Composer(opts.composition);
    this.history = new RegistryHistory(ds);
    this.approvals = new ApprovalsService(ds, opts.log);
    this.teams = new TeamsService(ds);
    this.webhooks = new WebhooksService(ds, opts);
    this.documents = new DocumentsService(ds, {
      apiSchema: () => this.history.currentApiSchema(),
      // Registrations and publishes take turns: a publish's check sees every document registered before it.
      serialized: (work) => this.withLock('publish', PUBLISH_LOCK_WAIT_S, work),
      log: opts.log,
    });
    this.contracts = new ContractsService(ds, {
      composer: this.composer,
      serialized: (work) => this.withLock('publish', PUBLISH_LOCK_WAIT_S, work),
      storeSupergraph: (tx, sdl, storeOpts) => this.storeSupergraph(tx, sdl, storeOpts),
      environments: () => this.environments.names,
    });
    this.checks = new ChecksService(ds, { history: this.history, documents: this.documents, contracts: this.contracts, usageWindowDays: opts.usageWindowDays, composer: this.composer });
    this.hosts = new HostsService(ds);
    this.explorer = new ExplorerService(ds, { history: this.history, usageWindowDays: opts.usageWindowDays });
    this.reads = new RegistryReads({
      history: this.history,
      checks: this.checks,
      approvals: this.approvals,
      documents: this.documents,
      environment: (name) => this.environment(name),
      environments: () => this.environments.names,
    });
  }

  /** Ends the composition thread. */
  close(): Promise<void> {
    return this.composer.close();
  }

  private get m(): EntityManager {
    return this.ds.manager;
  }

  /** @throws BadUserInputError for an environment REGISTRY_ENVIRONMENTS does not list */
  private environment(name: string | null | undefined, path = 'environment'): string {
    return environmentOf(this.environments, name, path);
  }

  /**
   * In an environment REGISTRY_PROMOTION_REQUIRED lists, a direct change (publish, rollback,
   * removal) needs `registry:promote:<subgraph>` besides `registry:publish:<subgraph>`: a key that
   * may only publish reaches it by no other way than a promotion someone else runs.
   * @throws ForbiddenError
   */
  private authorizeDirectChange(principal: Principal, environment: string, subgraph: string): void {
    if (!this.environments.promotionRequired.includes(environment)) return;
    try {
      authorize(principal, 'PROMOTE', subgraph);
    } catch (err) {
      if (!(err instanceof ForbiddenError)) throw err;
      throw new ForbiddenError(
        `${principal.name} may not change "${subgraph}" in ${environment} directly: ${environment} takes changes by promotion (REGISTRY_PROMOTION_REQUIRED); promoting needs the scope registry:promote:${subgraph}`,
        { ...err.details, environment, reason: 'PROMOTION_REQUIRED' },
      );
    }
  }

  /** Approves a breaking change in an environment (see ApprovalsService.approve). */
  approve(principal: Principal, input: { fingerprint: string; reason?: string | null } & InEnvironment) {
    const environment = this.environment(input.environment);
    return this.approvals.approve(principal, { fingerprint: input.fingerprint, reason: input.reason }, environment);
  }

  // ── checks and publishing ─────────────────────────────────────────────────────────────────

  /**
   * Checks a proposed subgraph schema against the current supergraph and records the check run.
   * @throws ForbiddenError when the principal may not check this subgraph
   * @throws BadUserInputError for a malformed name or URL, or a new subgraph without a routing URL
   */
  async check(principal: Principal, input: CheckInput & InEnvironment): Promise<CheckResult> {
    const environment = this.environment(input.environment);
    const parsed = parseInput(publishSchema, input, 'check');
    authorize(principal, 'CHECK', parsed.subgraph);
    // A check of an environment no one has published to yet is against production's copy, as its first publish would be.
    if ((await schemaStore.latestSupergraphId(this.m, environment)) === 0) await this.withLock('publish', PUBLISH_LOCK_WAIT_S, () => this.startEnvironment(environment));
    const owner = await schemaStore.ownerOf(this.m, parsed.subgraph);
    const evaluation = await this.checks.evaluate(parsed, { environment, team: owner ?? this.newSubgraphTeam(principal, parsed), anyHost: principal.admin });
    await this.checks.record(evaluation.result, 'CHECK', principal);
    return evaluation.result;
  }

  /**
   * Checks and, when nothing blocks, stores the new schema version and composes a new supergraph
   * version (the gateways pick it up at their next poll). One publish runs at a time, so the
   * supergraph a check compared with is still the latest when its result is stored.
   * @throws ForbiddenError when the principal may not publish this subgraph (scope or owning team)
   * @throws BadUserInputError for a malformed name or URL, or a new subgraph without a routing URL
   * @throws ConflictError when the registry has not been seeded yet
   */
  async publish(principal: Principal, input: PublishInput & InEnvironment): Promise<PublishOutcome> {
    const environment = this.environment(input.environment);
    const parsed = parseInput(publishSchema, input, 'publish');
    authorize(principal, 'PUBLISH', parsed.subgraph);
    this.authorizeDirectChange(principal, environment, parsed.subgraph);
    return this.publishParsed(principal, parsed, 'PUBLISH', environment);
  }

  /**
   * Publishes the schema version current in `from` (the same version: nothing new is stored but a
   * supergraph version of `to`) to `to`, through the full check against `to`: composition with its
   * other subgraphs, breaking changes against its current supergraph weighed by production's and
   * its own usage, its approvals, the endpoint rules. Refused as a publish would be. The subgraph
   * keeps its routing URL in `to` unless one is given; one new to `to` needs one.
   * @throws ForbiddenError without `registry:promote:<subgraph>` (or registry:admin), or when the subgraph is another team's
   * @throws BadUserInputError for an unknown environment, `from` equal to `to`, a malformed URL, or a subgraph new to `to` without a routing URL
   * @throws NotFoundError when the subgraph has no current schema in `from`
   */
  async promote(principal: Principal, input: PromoteInput): Promise<PublishOutcome> {
    const from = this.environment(input.from, 'from');
    const to = this.environment(input.to, 'to');
    if (from === to) throw new BadUserInputError(`Promote from one environment to another: both are ${from}`, [{ path: 'to', message: 'must differ from `from`' }]);
    const subgraph = parseInput(nameSchema, input.subgraph, 'subgraph');
    const routingUrl = input.routingUrl == null ? null : parseInput(httpUrl, input.routingUrl, 'routingUrl');
    const subscriptionUrl = input.subscriptionUrl == null ? input.subscriptionUrl : parseInput(wsUrl, input.subscriptionUrl, 'subscriptionUrl');
    authorize(principal, 'PROMOTE', subgraph);
    const source = await schemaStore.subgraph(this.m, from, subgraph);
    const [schema] = source?.currentSchemaId ? await schemaStore.schemaVersionsById(this.m, [source.currentSchemaId]) : [];
    if (!schema) throw new NotFoundError(`Subgraph in ${from}`, subgraph);
    const target = await schemaStore.subgraph(this.m, to, subgraph);
    if (!routingUrl && !target) {
      throw new BadUserInputError(`Subgraph "${subgraph}" is new to ${to}: give its routing URL there (its ${from} URL is not used)`, [
        { path: 'routingUrl', message: `required for a subgraph new to ${to}` },
      ]);
    }
    return (
      await this.publishTogether(
        principal,
        [{ subgraph, sdl: schema.sdl, routingUrl: routingUrl ?? undefined, subscriptionUrl, author: principal.name, commit: `promote v${schema.version} from ${from}` }],
        'PROMOTE',
        to,
        schema,
      )
    )[0]!;
  }

  /**
   * Publishes an earlier schema version of a subgraph again, as a new version, through the same
   * checks as a publish (it must compose with today's other subgraphs).
   * @throws NotFoundError for an unknown subgraph or version
   */
  async rollback(principal: Principal, input: { subgraph: string; version: number; author?: string | null } & InEnvironment): Promise<PublishOutcome> {
    const environment = this.environment(input.environment);
    const subgraph = parseInput(nameSchema, input.subgraph, 'subgraph');
    authorize(principal, 'PUBLISH', subgraph);
    this.authorizeDirectChange(principal, environment, subgraph);
    const target = await schemaStore.schemaVersion(this.m, subgraph, input.version);
    if (!target) throw new NotFoundError('Schema version', `${subgraph}@${input.version}`);
    return this.publishParsed(
      principal,
      { subgraph, sdl: target.sdl, author: input.author ?? null, commit: `rollback to v${target.version}${target.commitRef ? ` (${target.commitRef})` : ''}` },
      'ROLLBACK',
      environment,
    );
  }

  /**
   * Takes a subgraph out of the supergraph, through the same checks as a publish: the rest must
   * compose, and what its removal breaks for clients needs an approval. The removal is a new
   * supergraph version (history, diff and rollback see it); publishing the subgraph again brings
   * it back. Gateways drop it at their next poll.
   * @throws ForbiddenError when the principal may not publish this subgraph, or it is one of the core subgraphs and the principal is no admin
   * @throws NotFoundError when the subgraph is not in the supergraph
   */
  async remove(principal: Principal, input: { subgraph: string } & InEnvironment): Promise<PublishOutcome> {
    const environment = this.environment(input.environment);
    const subgraph = parseInput(nameSchema, input.subgraph, 'subgraph');
    authorize(principal, 'PUBLISH', subgraph);
    this.authorizeDirectChange(principal, environment, subgraph);
    if ((SUBGRAPH_NAMES as readonly string[]).includes(subgraph) && !principal.admin) {
      throw new ForbiddenError(`"${subgraph}" is a core subgraph: only registry:admin may remove it`, { subgraph, reason: 'CORE_SUBGRAPH' });
    }
    return this.withLock('publish', PUBLISH_LOCK_WAIT_S, async () => {
      const existing = await schemaStore.subgraph(this.m, environment, subgraph);
      if (!existing?.currentSchemaId) throw new NotFoundError(`Subgraph in ${environment}'s supergraph`, subgraph);
      if (!principal.admin && existing.team !== principal.team) {
        throw new ForbiddenError(`Subgraph "${subgraph}" belongs to team ${existing.team}`, { subgraph });
      }
      const evaluation = await this.checks.evaluate({ subgraph, sdl: '', author: null, commit: null }, { environment, remove: true });
      const { result } = evaluation;
      await this.checks.record(result, 'REMOVE', principal);
      if (!result.ok) return { published: false, check: result };
      const now = new Date();
      const supergraphVersion = await writeTransaction(this.ds, async (tx) => {
        await schemaStore.updateSubgraph(tx, environment, subgraph, { routingUrl: existing.routingUrl, subscriptionUrl: existing.subscriptionUrl, currentSchemaId: null, updatedAt: now });
        const version = await this.storeSupergraph(tx, evaluation.supergraphSdl!, {
          environment,
          createdBy: principal.name,
          reason: `remove ${subgraph}`,
          members: evaluation.members.map((m) => ({ ...m, schemaId: m.schemaId! })),
          contracts: evaluation.contracts,
          at: now,
        });
        await checkStore.markShipped(tx, environment, [...result.changes, ...(result.contracts ?? []).flatMap((c) => c.changes)].filter((c) => c.approved).map((c) => c.fingerprint), version);
        // Deprecation notices are about what production serves.
        if (environment === PRODUCTION) await webhookStore.resolveDeprecations(tx, subgraph, (await webhookStore.activeDeprecations(tx, subgraph)).map((d) => d.coordinate), now);
        return version;
      });
      await this.webhooks.emit('SCHEMA_PUBLISHED', {
        environment,
        subgraph,
        kind: 'REMOVE',
        schemaVersion: null,
        supergraphVersion,
        author: principal.name,
        commit: null,
        routingUrl: null,
        checkId: result.checkId,
        changes: changeSummaries(result),
      });
      this.opts.log.info({ subgraph, environment, supergraphVersion, actor: principal.name }, 'subgraph removed');
      return { published: true, created: true, schemaVersion: null, supergraphVersion, check: result };
    });
  }

  private async publishParsed(principal: Principal, input: ProposalInput, kind: CheckKind, environment: string): Promise<PublishOutcome> {
    return (await this.publishTogether(principal, [input], kind, environment))[0]!;
  }

  /**
   * Checks and publishes subgraph schemas as one change: each is checked composed with all the
   * others (so fields can move from one subgraph to another), each gets its check run, and
   * nothing is stored unless every check passes; then one supergraph version of `environment`
   * holds them all. `promoted`: the schema version a promotion publishes (one input), stored as is.
   * @returns an outcome per input, in their order
   */
  private async publishTogether(principal: Principal, inputs: ProposalInput[], kind: CheckKind, environment: string, promoted?: SchemaVersionEntity): Promise<PublishOutcome[]> {
    return this.withLock('publish', PUBLISH_LOCK_WAIT_S, async () => {
      await this.startEnvironment(environment);
      if ((await schemaStore.latestSupergraphId(this.m, environment)) === 0) {
        throw new ConflictError('The registry holds no supergraph yet: the first gateway (or npm start) seeds it from supergraph.yaml', { reason: 'NOT_SEEDED' });
      }
      const owners = new Map<string, string | null>();
      for (const input of inputs) {
        // A subgraph belongs to one team in every environment.
        const owner = await schemaStore.ownerOf(this.m, input.subgraph);
        owners.set(input.subgraph, owner);
        if (owner && !principal.admin && owner !== principal.team) {
          throw new ForbiddenError(`Subgraph "${input.subgraph}" belongs to team ${owner}`, { subgraph: input.subgraph });
        }
      }
      const evaluations: Evaluation[] = [];
      for (const input of inputs) {
        const evaluation = await this.checks.evaluate(input, {
          environment,
          alongside: inputs.filter((other) => other !== input),
          team: owners.get(input.subgraph) ?? this.newSubgraphTeam(principal, input),
          anyHost: principal.admin,
        });
        await this.checks.record(evaluation.result, kind, principal);
        evaluations.push(evaluation);
      }
      if (evaluations.some((e) => !e.result.ok)) return evaluations.map((e) => ({ published: false, check: e.result }));
      if (evaluations.every((e) => e.result.unchanged && e.current)) {
        const latest = await schemaStore.latestSupergraphId(this.m, environment);
        return evaluations.map((e) => ({ published: true, created: false, schemaVersion: e.current!.schema, supergraphVersion: latest, check: e.result }));
      }
      const stored = await this.store(principal, inputs, evaluations, kind, environment, owners, promoted);
      return Promise.all(
        evaluations.map(async (evaluation, i) => {
          const input = inputs[i]!;
          const { result } = evaluation;
          const schemaVersion = stored.schemaVersions[i]!;
          await this.webhooks.emit('SCHEMA_PUBLISHED', {
            environment,
            subgraph: input.subgraph,
            kind,
            schemaVersion: schemaVersion?.version ?? evaluation.current?.schema.version ?? null,
            supergraphVersion: stored.supergraphVersion,
            author: schemaVersion?.author ?? principal.name,
            commit: schemaVersion?.commitRef ?? null,
            routingUrl: evaluation.routingUrl,
            checkId: result.checkId,
            changes: changeSummaries(result),
          });
          this.opts.log.info({ subgraph: input.subgraph, environment, supergraphVersion: stored.supergraphVersion, kind, actor: principal.name }, 'schema published');
          return { published: true, created: true, schemaVersion, supergraphVersion: stored.supergraphVersion, check: result } as const;
        }),
      );
    });
  }

  /** Stores each proposal's schema version (when its SDL changed) and subgraph row, and one supergraph version of them all. */
  private async store(
    principal: Principal,
    inputs: ProposalInput[],
    evaluations: Evaluation[],
    kind: CheckKind,
    environment: string,
    owners: ReadonlyMap<string, string | null>,
    promoted?: SchemaVersionEntity,
  ): Promise<{ schemaVersions: (SchemaVersionEntity | null)[]; supergraphVersion: number }> {
    const now = new Date();
    // A non-admin's new subgraph belongs to its key's team (else its client id, which must then be a valid team name).
    const teams = inputs.map((input, i) => evaluations[i]!.existing?.team ?? owners.get(input.subgraph) ?? parseInput(nameSchema, this.newSubgraphTeam(principal, input), "team (the key's team, else its client id)"));
    return writeTransaction(this.ds, async (tx) => {
      const schemaVersions: (SchemaVersionEntity | null)[] = [];
      const schemaIds = new Map<string, number>();
      for (const [i, input] of inputs.entries()) {
        const { result, existing, current, routingUrl, subscriptionUrl, document } = evaluations[i]!;
        await teamStore.ensureTeam(tx, teams[i]!, now);
        let schemaVersion: SchemaVersionEntity | null = null;
        let schemaId = current?.schema.id ?? null;
        if (promoted) {
          // A promotion publishes the very version current in the environment it comes from.
          schemaVersion = promoted;
          schemaId = promoted.id;
        } else if (!current || current.schema.hash !== result.proposedHash) {
          const row = {
            subgraph: input.subgraph,
            version: await schemaStore.nextVersionNumber(tx, input.subgraph),
            sdl: input.sdl,
            hash: result.proposedHash,
            author: input.author ?? principal.name,
            commitRef: input.commit ?? null,
            createdAt: now,
          };
          schemaId = await schemaStore.insertSchemaVersion(tx, row);
          schemaVersion = { ...row, id: schemaId };
        }
        const subgraphRow = { routingUrl, subscriptionUrl, currentSchemaId: schemaId, updatedAt: now };
        if (existing) await schemaStore.updateSubgraph(tx, environment, input.subgraph, subgraphRow);
        else await schemaStore.insertSubgraph(tx, { environment, name: input.subgraph, team: teams[i]!, createdAt: now, ...subgraphRow });
        // Deprecation notices are about what production serves.
        if (document && environment === PRODUCTION) await this.recordDeprecations(tx, input.subgraph, document, now);
        // An admin's publish allows the hosts it names: the subgraph's team may publish there from now on.
        if (principal.admin) await hostStore.allow(tx, input.subgraph, hostsOf(routingUrl, subscriptionUrl), principal.name, now);
        schemaVersions.push(schemaVersion);
        schemaIds.set(input.subgraph, schemaId!);
      }
      const what = inputs.map((input, i) => `${input.subgraph}${schemaVersions[i] ? ` v${schemaVersions[i]!.version}` : ' (routing)'}`).join(', ');
      const supergraphVersion = await this.storeSupergraph(tx, evaluations[0]!.supergraphSdl!, {
        environment,
        createdBy: principal.name,
        reason: `${kind.toLowerCase()} ${what}`,
        members: evaluations[0]!.members.map((m) => ({ ...m, schemaId: schemaIds.get(m.name) ?? m.schemaId! })),
        contracts: evaluations[0]!.contracts,
        at: now,
      });
      const shipped = evaluations.flatMap((e) => [...e.result.changes, ...(e.result.contracts ?? []).flatMap((c) => c.changes), ...(e.result.takeovers ?? [])].filter((c) => c.approved).map((c) => c.fingerprint));
      await checkStore.markShipped(tx, environment, [...new Set(shipped)], supergraphVersion);
      return { schemaVersions, supergraphVersion };
    });
  }

  /** The team a new subgraph would belong to: an admin's choice (else the platform team), else the key's team (else its client id). */
  private newSubgraphTeam(principal: Principal, input: ProposalInput): string | null {
    return principal.admin ? (input.team ?? principal.team ?? this.platformTeam) : principal.team;
  }

  private async storeSupergraph(
    tx: EntityManager,
    sdl: string,
    opts: { environment: string; createdBy: string; reason: string; members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number }[]; contracts: readonly ContractComposition[]; at: Date },
  ): Promise<number> {
    const id = await schemaStore.insertSupergraph(tx, {
      environment: opts.environment,
      sdl,
      hash: sdlHash(sdl),
      compositionVersion: COMPOSITION_VERSION,
      createdBy: opts.createdBy,
      reason: opts.reason,
      createdAt: opts.at,
    });
    await schemaStore.insertMembers(
      tx,
      opts.members.map((m) => ({ supergraphVersion: id, subgraph: m.name, schemaId: m.schemaId, routingUrl: m.url, subscriptionUrl: m.subscriptionUrl })),
    );
    // Each contract's schema in this version (a publish's check refused any that failed to compose).
    await contractStore.insertVersions(
      tx,
      opts.contracts.flatMap((c) => (c.ok ? [{ supergraphVersion: id, contract: c.name, sdl: c.apiSdl, hash: c.hash, createdAt: opts.at }] : [])),
    );
    return id;
  }

  /** Keeps the deprecations table in step with the subgraph's published SDL. */
  private async recordDeprecations(tx: EntityManager, subgraph: string, document: DocumentNode, at: Date): Promise<void> {
    const now = deprecationsOf(document);
    const active = await webhookStore.activeDeprecations(tx, subgraph);
    const current = new Set(now.map((d) => d.coordinate));
    await webhookStore.resolveDeprecations(
      tx,
      subgraph,
      active.filter((d) => !current.has(d.coordinate)).map((d) => d.coordinate),
      at,
    );
    for (const d of now) await webhookStore.upsertDeprecation(tx, { subgraph, coordinate: d.coordinate, reason: d.reason, removalDate: d.removalDate }, at);
  }

  // ── seeding ───────────────────────────────────────────────────────────────────────────────

  /**
   * Seeds an empty registry from supergraph.yaml's subgraphs: each becomes version 1, owned by the
   * platform team, and their composition production's supergraph version 1. Under a named lock, so
   * of several gateways starting at once exactly one seeds. Then `environment`, when it has no
   * supergraph yet, starts as a copy of production's (see startEnvironment).
   * @returns whether this call seeded production
   */
  async seed(sources: SubgraphSource[], environment = PRODUCTION): Promise<boolean> {
    environment = this.environment(environment);
    // The publish lock: a seed and a publish never interleave.
    return this.withLock('publish', PUBLISH_LOCK_WAIT_S, async () => {
      const seeded = await this.seedProduction(sources);
      await this.startEnvironment(environment);
      return seeded;
    });
  }

  private async seedProduction(sources: SubgraphSource[]): Promise<boolean> {
    if ((await schemaStore.latestSupergraphId(this.m, PRODUCTION)) > 0) return false;
    const composed = await this.composer.compose(sources);
    if (!composed.ok) throw new Error(`The registry cannot be seeded: ${composed.errors.map((e) => e.message).join('; ')}`);
    const now = new Date();
    await writeTransaction(this.ds, async (tx) => {
      await teamStore.ensureTeam(tx, this.platformTeam, now);
      const members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number }[] = [];
      for (const s of sources) {
        const existing = await schemaStore.subgraph(tx, PRODUCTION, s.name);
        const schemaId = await schemaStore.insertSchemaVersion(tx, {
          subgraph: s.name,
          version: await schemaStore.nextVersionNumber(tx, s.name),
          sdl: s.sdl,
          hash: sdlHash(s.sdl),
          author: 'seed',
          commitRef: 'supergraph.yaml',
          createdAt: now,
        });
        const row = { routingUrl: s.url, subscriptionUrl: s.subscriptionUrl ?? null, currentSchemaId: schemaId, updatedAt: now };
        await hostStore.allow(tx, s.name, hostsOf(row.routingUrl, row.subscriptionUrl), 'seed', now);
        if (existing) await schemaStore.updateSubgraph(tx, PRODUCTION, s.name, row);
        else await schemaStore.insertSubgraph(tx, { environment: PRODUCTION, name: s.name, team: this.platformTeam, createdAt: now, ...row });
        members.push({ name: s.name, url: s.url, subscriptionUrl: s.subscriptionUrl ?? null, schemaId });
        await this.recordDeprecations(tx, s.name, parse(s.sdl), now);
      }
      await this.storeSupergraph(tx, composed.supergraphSdl, { environment: PRODUCTION, createdBy: 'seed', reason: 'seed from supergraph.yaml', members, contracts: composed.contracts, at: now });
    });
    this.opts.log.info({ subgraphs: sources.map((s) => s.name) }, 'registry seeded');
    return true;
  }

  /**
   * An environment with no supergraph yet starts as a copy of production's current one: the same
   * schema versions, routing URLs and supergraph SDL, as its first supergraph version (publishes to
   * it then move it on, e.g. to its own URLs). Under the publish lock; nothing when it has one, or
   * production has none.
   */
  private async startEnvironment(environment: string): Promise<void> {
    if (environment === PRODUCTION || (await schemaStore.latestSupergraphId(this.m, environment)) > 0) return;
    const production = await schemaStore.latestSupergraph(this.m, PRODUCTION);
    if (!production) return;
    const [members, subgraphs] = await Promise.all([schemaStore.members(this.m, [production.id]), schemaStore.subgraphs(this.m, PRODUCTION)]);
    const now = new Date();
    await writeTransaction(this.ds, async (tx) => {
      for (const s of subgraphs) {
        const row = { routingUrl: s.routingUrl, subscriptionUrl: s.subscriptionUrl, currentSchemaId: s.currentSchemaId, updatedAt: now };
        if (await schemaStore.subgraph(tx, environment, s.name)) await schemaStore.updateSubgraph(tx, environment, s.name, row);
        else await schemaStore.insertSubgraph(tx, { environment, name: s.name, team: s.team, createdAt: now, ...row });
      }
      await this.storeSupergraph(tx, production.sdl, {
        environment,
        createdBy: 'registry',
        reason: `copy of production v${production.id}`,
        members: members.map((m) => ({ name: m.subgraph, url: m.routingUrl, subscriptionUrl: m.subscriptionUrl, schemaId: m.schemaId })),
        // The same contract schemas as production's version.
        contracts: (await contractStore.versionsOf(tx, [production.id])).map((v) => ({ name: v.contract, ok: true as const, apiSdl: v.sdl, hash: v.hash })),
        at: now,
      });
    });
    this.opts.log.info({ environment, from: production.id }, 'registry environment started as a copy of production');
  }

  /**
   * Brings an environment (default production) in line with a supergraph config (a developer's
   * `npm start` after editing a schema file): seeds an empty registry, else publishes, through every
   * check and as one change, the listed subgraphs whose SDL or routing URL differs from their current version.
   */
  async syncFromSources(principal: Principal, sources: SubgraphSource[], environment = PRODUCTION): Promise<SyncOutcome[]> {
    environment = this.environment(environment);
    if ((await this.seed(sources, environment)) && environment === PRODUCTION) return sources.map((s) => ({ subgraph: s.name, outcome: 'seeded' }));
    const current = new Map((await this.history.subgraphs(environment)).map((s) => [s.name, s]));
    const changed: SubgraphSource[] = [];
    for (const s of sources) {
      const registered = current.get(s.name);
      const schema = registered?.currentVersion ? await this.history.schemaVersion(s.name, registered.currentVersion) : null;
      if (!(registered && schema?.hash === sdlHash(s.sdl) && registered.routingUrl === s.url)) changed.push(s);
    }
    // As one change: a field moving from one of our subgraphs to another composes only with both edits.
    const inputs = changed.map((s) => parseInput(publishSchema, { subgraph: s.name, sdl: s.sdl, routingUrl: s.url, subscriptionUrl: s.subscriptionUrl ?? null, author: principal.name, commit: 'working tree' }, 'publish'));
    for (const input of inputs) {
      authorize(principal, 'PUBLISH', input.subgraph);
      this.authorizeDirectChange(principal, environment, input.subgraph);
    }
    const outcomes = inputs.length ? await this.publishTogether(principal, inputs, 'PUBLISH', environment) : [];
    return sources.map((s): SyncOutcome => {
      const i = changed.indexOf(s);
      if (i < 0) return { subgraph: s.name, outcome: 'unchanged' };
      const result = outcomes[i]!;
      return result.published
        ? { subgraph: s.name, outcome: 'published', supergraphVersion: result.supergraphVersion, check: result.check }
        : { subgraph: s.name, outcome: 'blocked', check: result.check };
    });
  }

  // ── usage ─────────────────────────────────────────────────────────────────────────────────

  /** Adds usage the gateway accumulated (called off the request path, in batches; each row names its gateway's environment). */
  async recordUsage(rows: readonly UsageIncrement[]): Promise<void> {
    if (rows.length) await writeTransaction(this.ds, (tx) => usageStore.add(tx, rows));
  }

  // ── locking ───────────────────────────────────────────────────────────────────────────────

  private async withLock<T>(name: string, waitSeconds: number, work: () => Promise<T>): Promise<T> {
    const lock = `registry_${name}_${this.ds.driver.database ?? ''}`;
    const runner = this.ds.createQueryRunner();
    try {
      await runner.connect();
      if (!(await getNamedLock(runner.manager, lock, waitSeconds))) throw new Error(`Timed out waiting for the registry's ${name} lock`);
      try {
        return await work();
      } finally {
        await releaseNamedLock(runner.manager, lock);
      }
    } finally {
      await runner.release();
    }
  }
}

/** The hosts (`host:port`) of a subgraph's URLs. */
function hostsOf(...urls: (string | null)[]): string[] {
  return [...new Set(urls.flatMap((url) => (url && URL.canParse(url) ? [new URL(url).host.toLowerCase()] : [])))];
}
