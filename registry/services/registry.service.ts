import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { parse, Source, type DocumentNode } from 'graphql';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { SUBGRAPH_NAMES } from '../../lib/config.js';
import { getNamedLock, releaseNamedLock, writeTransaction } from '../../lib/db.js';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError, parseInput } from '../../lib/errors.js';
import type { Logger } from 'pino';
import { compose, type CompositionProblem, type SubgraphSource } from '../../contracts/composition.js';
import { apiSchemaOf, schemaChanges, type SchemaChange } from '../domain/changes.js';
import type { CheckKind } from '../data/check.entity.js';
import type { CheckResult, ClientUsage, ReportedChange } from '../domain/check-result.js';
import { checkStore } from '../data/check.store.js';
import { brokenDocuments, documentUsage, hashOfDocumentId, type ClientDocument } from '../domain/documents.js';
import { DocumentsService } from './documents.service.js';
import { coordinatesOf, deprecationsOf, lintSubgraph } from '../domain/lint.js';
import { authorize, type Principal } from '../domain/principal.js';
import type { RegistrySubgraphEntity, SchemaVersionEntity } from '../data/schema.entity.js';
import { schemaStore, type CurrentSchema } from '../data/schema.store.js';
import { teamStore } from '../data/team.store.js';
import { usageStore, type UsageIncrement } from '../data/usage.store.js';
import { fieldOfOmitted, type UsageRow } from '../domain/usage.js';
import type { WebhookEvent } from '../data/webhook.entity.js';
import { webhookStore } from '../data/webhook.store.js';
import { ApprovalsService } from './approvals.service.js';
import { RegistryHistory } from './history.service.js';
import { TeamsService } from './teams.service.js';
import { WebhooksService } from './webhooks.service.js';
import { day, DAY_MS, httpUrl, nameSchema, wsUrl } from '../domain/inputs.js';

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
  /** The team that owns subgraphs seeded from supergraph.yaml or published by an operator. */
  platformTeam?: string;
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

const publishSchema = z.object({
  subgraph: nameSchema,
  sdl: z.string().min(1).max(1_000_000),
  routingUrl: httpUrl.nullish(),
  subscriptionUrl: wsUrl.nullish(),
  author: z.string().min(1).max(200).nullish(),
  commit: z.string().min(1).max(200).nullish(),
  team: nameSchema.nullish(),
});
const PUBLISH_LOCK_WAIT_S = 60;

export function sdlHash(sdl: string): string {
  return createHash('sha256').update(sdl).digest('hex');
}

/** What evaluating a proposal produced, beyond the result it reports. */
interface Evaluation {
  result: CheckResult;
  current: CurrentSchema | undefined;
  existing: RegistrySubgraphEntity | null;
  routingUrl: string;
  subscriptionUrl: string | null;
  supergraphSdl: string | null;
  document: DocumentNode | null;
  /** Every member of the supergraph the proposal would make, with its SDL. */
  members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number | null }[];
}

/**
 * The schema registry: checks (composition, client-facing changes weighed by usage and
 * approvals, lint), publishing (new schema and supergraph versions, one publish at a time),
 * rollback, removal, seeding and usage here; its other capabilities beside it, one service each:
 * `history` (reads and diffs), `approvals`, `teams`, `webhooks`, `documents`. Every interface (the
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

  constructor(
    private readonly ds: DataSource,
    private readonly opts: RegistryServiceOptions,
  ) {
    this.platformTeam = opts.platformTeam ?? 'platform';
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
  }

  private get m(): EntityManager {
    return this.ds.manager;
  }

  // ── checks and publishing ─────────────────────────────────────────────────────────────────

  /**
   * Checks a proposed subgraph schema against the current supergraph and records the check run.
   * @throws ForbiddenError when the principal may not check this subgraph
   * @throws BadUserInputError for a malformed name or URL, or a new subgraph without a routing URL
   */
  async check(principal: Principal, input: CheckInput): Promise<CheckResult> {
    const parsed = parseInput(publishSchema, input, 'check');
    authorize(principal, 'CHECK', parsed.subgraph);
    const evaluation = await this.evaluate(parsed);
    await this.recordCheck(evaluation.result, 'CHECK', principal);
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
  async publish(principal: Principal, input: PublishInput): Promise<PublishOutcome> {
    const parsed = parseInput(publishSchema, input, 'publish');
    authorize(principal, 'PUBLISH', parsed.subgraph);
    return this.publishParsed(principal, parsed, 'PUBLISH');
  }

  /**
   * Publishes an earlier schema version of a subgraph again, as a new version, through the same
   * checks as a publish (it must compose with today's other subgraphs).
   * @throws NotFoundError for an unknown subgraph or version
   */
  async rollback(principal: Principal, input: { subgraph: string; version: number; author?: string | null }): Promise<PublishOutcome> {
    const subgraph = parseInput(nameSchema, input.subgraph, 'subgraph');
    authorize(principal, 'PUBLISH', subgraph);
    const target = await schemaStore.schemaVersion(this.m, subgraph, input.version);
    if (!target) throw new NotFoundError('Schema version', `${subgraph}@${input.version}`);
    return this.publishParsed(
      principal,
      { subgraph, sdl: target.sdl, author: input.author ?? null, commit: `rollback to v${target.version}${target.commitRef ? ` (${target.commitRef})` : ''}` },
      'ROLLBACK',
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
  async remove(principal: Principal, input: { subgraph: string }): Promise<PublishOutcome> {
    const subgraph = parseInput(nameSchema, input.subgraph, 'subgraph');
    authorize(principal, 'PUBLISH', subgraph);
    if ((SUBGRAPH_NAMES as readonly string[]).includes(subgraph) && !principal.admin) {
      throw new ForbiddenError(`"${subgraph}" is a core subgraph: only registry:admin may remove it`, { subgraph, reason: 'CORE_SUBGRAPH' });
    }
    return this.withLock('publish', PUBLISH_LOCK_WAIT_S, async () => {
      const existing = await schemaStore.subgraph(this.m, subgraph);
      if (!existing?.currentSchemaId) throw new NotFoundError('Subgraph in the supergraph', subgraph);
      if (!principal.admin && existing.team !== principal.team) {
        throw new ForbiddenError(`Subgraph "${subgraph}" belongs to team ${existing.team}`, { subgraph });
      }
      const evaluation = await this.evaluate({ subgraph, sdl: '', author: null, commit: null }, { remove: true });
      const { result } = evaluation;
      await this.recordCheck(result, 'REMOVE', principal);
      if (!result.ok) return { published: false, check: result };
      const now = new Date();
      const supergraphVersion = await writeTransaction(this.ds, async (tx) => {
        await schemaStore.updateSubgraph(tx, subgraph, { routingUrl: existing.routingUrl, subscriptionUrl: existing.subscriptionUrl, currentSchemaId: null, updatedAt: now });
        const version = await this.storeSupergraph(tx, evaluation.supergraphSdl!, {
          createdBy: principal.name,
          reason: `remove ${subgraph}`,
          members: evaluation.members.map((m) => ({ ...m, schemaId: m.schemaId! })),
          at: now,
        });
        await checkStore.markShipped(tx, result.changes.filter((c) => c.approved).map((c) => c.fingerprint), version);
        await webhookStore.resolveDeprecations(tx, subgraph, (await webhookStore.activeDeprecations(tx, subgraph)).map((d) => d.coordinate), now);
        return version;
      });
      await this.webhooks.emit('SCHEMA_PUBLISHED', {
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
      this.opts.log.info({ subgraph, supergraphVersion, actor: principal.name }, 'subgraph removed');
      return { published: true, created: true, schemaVersion: null, supergraphVersion, check: result };
    });
  }

  private async publishParsed(principal: Principal, input: z.output<typeof publishSchema>, kind: CheckKind): Promise<PublishOutcome> {
    return this.withLock('publish', PUBLISH_LOCK_WAIT_S, async () => {
      if ((await schemaStore.latestSupergraphId(this.m)) === 0) {
        throw new ConflictError('The registry holds no supergraph yet: the first gateway (or npm start) seeds it from supergraph.yaml', { reason: 'NOT_SEEDED' });
      }
      const existing = await schemaStore.subgraph(this.m, input.subgraph);
      if (existing && !principal.admin && existing.team !== principal.team) {
        throw new ForbiddenError(`Subgraph "${input.subgraph}" belongs to team ${existing.team}`, { subgraph: input.subgraph });
      }
      const evaluation = await this.evaluate(input);
      const { result } = evaluation;
      await this.recordCheck(result, kind, principal);
      if (!result.ok) return { published: false, check: result };
      if (result.unchanged && evaluation.current) {
        const latest = await schemaStore.latestSupergraphId(this.m);
        return { published: true, created: false, schemaVersion: evaluation.current.schema, supergraphVersion: latest, check: result };
      }
      const stored = await this.store(principal, input, evaluation, kind);
      await this.webhooks.emit('SCHEMA_PUBLISHED', {
        subgraph: input.subgraph,
        kind,
        schemaVersion: stored.schemaVersion?.version ?? evaluation.current?.schema.version ?? null,
        supergraphVersion: stored.supergraphVersion,
        author: stored.schemaVersion?.author ?? principal.name,
        commit: stored.schemaVersion?.commitRef ?? null,
        routingUrl: evaluation.routingUrl,
        checkId: result.checkId,
        changes: changeSummaries(result),
      });
      this.opts.log.info({ subgraph: input.subgraph, supergraphVersion: stored.supergraphVersion, kind, actor: principal.name }, 'schema published');
      return { published: true, created: true, schemaVersion: stored.schemaVersion, supergraphVersion: stored.supergraphVersion, check: result };
    });
  }

  private async store(
    principal: Principal,
    input: z.output<typeof publishSchema>,
    evaluation: Evaluation,
    kind: CheckKind,
  ): Promise<{ schemaVersion: SchemaVersionEntity | null; supergraphVersion: number }> {
    const now = new Date();
    const { result, existing, current } = evaluation;
    const sdlChanged = !current || current.schema.hash !== result.proposedHash;
    // A non-admin's new subgraph belongs to its key's team (else its client id, which must then be a valid team name).
    const team = existing?.team ?? (principal.admin ? (input.team ?? principal.team ?? this.platformTeam) : parseInput(nameSchema, principal.team, "team (the key's team, else its client id)"));
    return writeTransaction(this.ds, async (tx) => {
      await teamStore.ensureTeam(tx, team, now);
      let schemaVersion: SchemaVersionEntity | null = null;
      let schemaId = current?.schema.id ?? null;
      if (sdlChanged) {
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
      const subgraphRow = { routingUrl: evaluation.routingUrl, subscriptionUrl: evaluation.subscriptionUrl, currentSchemaId: schemaId, updatedAt: now };
      if (existing) await schemaStore.updateSubgraph(tx, input.subgraph, subgraphRow);
      else await schemaStore.insertSubgraph(tx, { name: input.subgraph, team, createdAt: now, ...subgraphRow });
      const supergraphVersion = await this.storeSupergraph(tx, evaluation.supergraphSdl!, {
        createdBy: principal.name,
        reason: `${kind.toLowerCase()} ${input.subgraph}${schemaVersion ? ` v${schemaVersion.version}` : ' (routing)'}`,
        members: evaluation.members.map((m) => ({ ...m, schemaId: m.name === input.subgraph ? schemaId! : m.schemaId! })),
        at: now,
      });
      const shipped = result.changes.filter((c) => c.approved).map((c) => c.fingerprint);
      await checkStore.markShipped(tx, shipped, supergraphVersion);
      if (evaluation.document) await this.recordDeprecations(tx, input.subgraph, evaluation.document, now);
      return { schemaVersion, supergraphVersion };
    });
  }

  private async storeSupergraph(
    tx: EntityManager,
    sdl: string,
    opts: { createdBy: string; reason: string; members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number }[]; at: Date },
  ): Promise<number> {
    const id = await schemaStore.insertSupergraph(tx, {
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

  /** Composition, client-facing changes with usage and approvals, and lint of one proposal. */
  private async evaluate(input: z.output<typeof publishSchema>, opts: { remove?: boolean } = {}): Promise<Evaluation> {
    const now = new Date();
    const currents = await schemaStore.currentSchemas(this.m);
    const current = currents.find((c) => c.subgraph.name === input.subgraph);
    const existing = current?.subgraph ?? (await schemaStore.subgraph(this.m, input.subgraph));
    const routingUrl = input.routingUrl ?? existing?.routingUrl;
    if (!routingUrl) {
      throw new BadUserInputError(`Subgraph "${input.subgraph}" is new: give its routing URL`, [{ path: 'routingUrl', message: 'required for a new subgraph' }]);
    }
    const subscriptionUrl = input.subscriptionUrl !== undefined ? input.subscriptionUrl : (existing?.subscriptionUrl ?? null);
    const proposedHash = sdlHash(input.sdl);
    const base = await schemaStore.latestSupergraph(this.m);
    const members = [
      ...currents
        .filter((c) => c.subgraph.name !== input.subgraph)
        .map((c) => ({ name: c.subgraph.name, url: c.subgraph.routingUrl, subscriptionUrl: c.subgraph.subscriptionUrl, schemaId: c.schema.id as number | null, sdl: c.schema.sdl })),
      // A removal proposes the supergraph without it.
      ...(opts.remove ? [] : [{ name: input.subgraph, url: routingUrl, subscriptionUrl, schemaId: null, sdl: input.sdl }]),
    ].sort((a, b) => a.name.localeCompare(b.name));

    const result: CheckResult = {
      checkId: randomUUID(),
      subgraph: input.subgraph,
      proposedHash,
      baseSupergraphVersion: base?.id ?? null,
      unchanged: !!current && current.schema.hash === proposedHash && current.subgraph.routingUrl === routingUrl && current.subgraph.subscriptionUrl === subscriptionUrl,
      composition: { ok: true, errors: [] },
      changes: [],
      lint: [],
      usageWindowDays: this.opts.usageWindowDays,
      blockers: [],
      ok: false,
    };

    let document: DocumentNode | null = null;
    try {
      if (!opts.remove) document = parse(new Source(input.sdl, input.subgraph));
    } catch (err) {
      result.composition = { ok: false, errors: [{ code: 'INVALID_GRAPHQL', message: (err as Error).message, subgraphs: [input.subgraph] }] };
    }

    let supergraphSdl: string | null = null;
    if (document || opts.remove) {
      const composed = compose(members.map((m) => ({ name: m.name, url: m.url, sdl: m.sdl }) satisfies SubgraphSource));
      if (composed.ok) supergraphSdl = composed.supergraphSdl;
      else result.composition = { ok: false, errors: composed.errors.map(withProposedSubgraph(input.subgraph)) };
    }

    const previous = current ? parse(current.schema.sdl) : undefined;
    const removedDeprecated = document && previous ? deprecationsOf(previous).filter((d) => !coordinatesOf(document!).has(d.coordinate)) : [];
    let changes: SchemaChange[] = [];
    const proposedApi = supergraphSdl ? apiSchemaOf(supergraphSdl) : null;
    if (proposedApi) changes = await schemaChanges(base ? this.history.apiSchemaOfVersion(base) : null, proposedApi);

    const breaking = changes.filter((c) => c.criticality === 'BREAKING');
    const since = day(new Date(now.getTime() - this.opts.usageWindowDays * DAY_MS));
    const coordinates = [...new Set([...breaking.flatMap((c) => c.usageCoordinates), ...removedDeprecated.map((d) => d.coordinate)])];
    const usage = await usageStore.usageOf(this.m, coordinates, since);
    // Usage recorded before omitted arguments were cannot tell one left out from one passed: an
    // operation that selected the field then counts as leaving every argument out, until it is
    // recorded again.
    const omitted = coordinates.filter((c) => fieldOfOmitted(c));
    const unsure = await usageStore.usageWithoutOmissions(this.m, [...new Set(omitted.map((c) => fieldOfOmitted(c)!))], since);
    for (const c of omitted) usage.push(...unsure.filter((u) => u.coordinate === fieldOfOmitted(c)).map((u) => ({ ...u, coordinate: c })));
    // Registered documents are usage no window ages out; one the proposal would no longer validate blocks it.
    const registered = proposedApi ? await this.documents.all() : [];
    const parsedDocument = (d: ClientDocument) => this.documents.parsedDocument(d);
    if (registered.length && base) usage.push(...documentUsage(this.history.apiSchemaOfVersion(base), registered, parsedDocument));
    result.brokenDocuments = proposedApi && registered.length ? brokenDocuments(proposedApi, registered, parsedDocument) : [];
    const approvals = new Set((await checkStore.pendingApprovals(this.m, breaking.map((c) => c.fingerprint))).map((a) => a.fingerprint));
    result.changes = changes.map((c) => reportChange(c, usage, approvals));

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
    };
  }

  /** The latest supergraph's API schema (what trusted documents are validated against); null before the seed. */
  private async recordCheck(result: CheckResult, kind: CheckKind, principal: Principal): Promise<void> {
    const at = new Date();
    await checkStore.insertCheckRun(
      this.m,
      {
        id: result.checkId,
        subgraph: result.subgraph,
        kind,
        proposedHash: result.proposedHash,
        baseSupergraphVersion: result.baseSupergraphVersion,
        ok: result.ok,
        result: JSON.stringify(result),
        actor: principal.name,
        createdAt: at,
      },
      result.changes
        .filter((c) => c.criticality === 'BREAKING')
        .map((c) => ({ checkRunId: result.checkId, fingerprint: c.fingerprint, subgraph: result.subgraph, type: c.type, coordinate: c.coordinate, message: c.message, createdAt: at })),
    );
  }

  /** A stored check run's result. */
  async checkRun(id: string): Promise<CheckResult | null> {
    const row = await checkStore.checkRun(this.m, id);
    return row ? (JSON.parse(row.result) as CheckResult) : null;
  }

  // ── seeding ───────────────────────────────────────────────────────────────────────────────

  /**
   * Seeds an empty registry from supergraph.yaml's subgraphs: each becomes version 1, owned by the
   * platform team, and their composition supergraph version 1. Under a named lock, so of several
   * gateways starting at once exactly one seeds.
   * @returns whether this call seeded
   */
  async seed(sources: SubgraphSource[]): Promise<boolean> {
    // The publish lock: a seed and a publish never interleave.
    return this.withLock('publish', PUBLISH_LOCK_WAIT_S, async () => {
      if ((await schemaStore.latestSupergraphId(this.m)) > 0) return false;
      const composed = compose(sources);
      if (!composed.ok) throw new Error(`The registry cannot be seeded: ${composed.errors.map((e) => e.message).join('; ')}`);
      const now = new Date();
      await writeTransaction(this.ds, async (tx) => {
        await teamStore.ensureTeam(tx, this.platformTeam, now);
        const members: { name: string; url: string; subscriptionUrl: string | null; schemaId: number }[] = [];
        for (const s of sources) {
          const existing = await schemaStore.subgraph(tx, s.name);
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
          if (existing) await schemaStore.updateSubgraph(tx, s.name, row);
          else await schemaStore.insertSubgraph(tx, { name: s.name, team: this.platformTeam, createdAt: now, ...row });
          members.push({ name: s.name, url: s.url, subscriptionUrl: s.subscriptionUrl ?? null, schemaId });
          await this.recordDeprecations(tx, s.name, parse(s.sdl), now);
        }
        await this.storeSupergraph(tx, composed.supergraphSdl, { createdBy: 'seed', reason: 'seed from supergraph.yaml', members, at: now });
      });
      this.opts.log.info({ subgraphs: sources.map((s) => s.name) }, 'registry seeded');
      return true;
    });
  }

  /**
   * Brings the registry in line with a supergraph config (a developer's `npm start` after editing a
   * schema file): seeds an empty registry, else publishes, through every check, each listed
   * subgraph whose SDL or routing URL differs from its current version.
   */
  async syncFromSources(principal: Principal, sources: SubgraphSource[]): Promise<SyncOutcome[]> {
    if (await this.seed(sources)) return sources.map((s) => ({ subgraph: s.name, outcome: 'seeded' }));
    const current = new Map((await this.history.subgraphs()).map((s) => [s.name, s]));
    const out: SyncOutcome[] = [];
    for (const s of sources) {
      const registered = current.get(s.name);
      const schema = registered?.currentVersion ? await this.history.schemaVersion(s.name, registered.currentVersion) : null;
      if (registered && schema?.hash === sdlHash(s.sdl) && registered.routingUrl === s.url) {
        out.push({ subgraph: s.name, outcome: 'unchanged' });
        continue;
      }
      const result = await this.publish(principal, {
        subgraph: s.name,
        sdl: s.sdl,
        routingUrl: s.url,
        subscriptionUrl: s.subscriptionUrl ?? null,
        author: principal.name,
        commit: 'working tree',
      });
      out.push(
        result.published
          ? { subgraph: s.name, outcome: 'published', supergraphVersion: result.supergraphVersion, check: result.check }
          : { subgraph: s.name, outcome: 'blocked', check: result.check },
      );
    }
    return out;
  }

  // ── usage ─────────────────────────────────────────────────────────────────────────────────

  /** Adds usage the gateway accumulated (called off the request path, in batches). */
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

/** Composition names the subgraphs an error involves from its AST nodes; a proposal's own errors always name it. */
function withProposedSubgraph(subgraph: string) {
  return (e: CompositionProblem): CompositionProblem => (e.subgraphs.length ? e : { ...e, subgraphs: e.message.includes(`"${subgraph}"`) ? [subgraph] : [] });
}

function reportChange(change: SchemaChange, usage: UsageRow[], approvals: Set<string>): ReportedChange {
  const base = {
    fingerprint: change.fingerprint,
    type: change.type,
    coordinate: change.coordinate,
    message: change.message,
    originalCriticality: change.criticality,
    reason: change.reason,
    approved: false,
  };
  if (change.criticality !== 'BREAKING') return { ...base, criticality: change.criticality, usage: [] };
  const coordinates = new Set(change.usageCoordinates);
  const clients = new Map<string, ClientUsage>();
  for (const u of usage) {
    if (!coordinates.has(u.coordinate)) continue;
    const client = clients.get(u.clientId) ?? { clientId: u.clientId, operations: [] };
    clients.set(u.clientId, client);
    const op = client.operations.find((o) => o.hash === u.operationHash);
    if (op) {
      op.count += u.count;
      if (u.lastSeen.toISOString() > op.lastSeen) op.lastSeen = u.lastSeen.toISOString();
      if (u.registered) op.registered = true;
    } else {
      client.operations.push({ name: u.operationName || null, hash: u.operationHash, count: u.count, lastSeen: u.lastSeen.toISOString(), ...(u.registered ? { registered: true } : {}) });
    }
  }
  if (!clients.size) {
    return { ...base, criticality: 'SAFE', reason: `No client used ${change.usageCoordinates.join(', ')} in the usage window`, usage: [] };
  }
  return { ...base, criticality: 'BREAKING', usage: [...clients.values()], approved: approvals.has(change.fingerprint) };
}

function blockersOf(result: CheckResult): string[] {
  const blockers: string[] = [];
  if (!result.composition.ok) {
    const subgraphs = [...new Set(result.composition.errors.flatMap((e) => e.subgraphs))];
    blockers.push(`composition failed with ${result.composition.errors.length} error(s)${subgraphs.length ? ` involving ${subgraphs.join(', ')}` : ''}`);
  }
  if (result.lint.length) blockers.push(`${result.lint.length} lint issue(s): ${[...new Set(result.lint.map((l) => l.rule))].join(', ')}`);
  for (const c of result.changes) {
    if (c.criticality === 'BREAKING' && !c.approved) {
      blockers.push(
        `breaking change ${c.coordinate ?? c.type} used by ${c.usage.map((u) => `${u.clientId} (${u.operations.map((o) => `${o.name ?? 'anonymous'}${o.registered ? ', registered' : ''}`).join('; ')})`).join(', ')}: approve fingerprint ${c.fingerprint} to publish it`,
      );
    }
  }
  // A registered document the proposal breaks blocks it unless an approved breaking change names that document.
  for (const d of result.brokenDocuments ?? []) {
    const hash = hashOfDocumentId(d.documentId);
    const approved = result.changes.some((c) => c.approved && c.usage.some((u) => u.clientId === d.clientId && u.operations.some((o) => o.hash === hash)));
    if (!approved) {
      blockers.push(`registered document ${d.operationNames.map((n) => n || 'anonymous').join(', ')} (${d.documentId}) of client ${d.clientId} would no longer validate: ${d.errors.join('; ')}`);
    }
  }
  return blockers;
}

/** The changes of a check as webhook payloads carry them. */
function changeSummaries(result: CheckResult) {
  return result.changes.map((c) => ({ type: c.type, coordinate: c.coordinate, criticality: c.criticality, message: c.message }));
}
