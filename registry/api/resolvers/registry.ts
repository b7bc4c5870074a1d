import { GraphQLScalarType } from 'graphql';
import { DateTime } from '../../../lib/scalars.js';
import { formatCheckResult, type CheckResult, type OperationUsage, type ReportedChange } from '../../domain/check-result.js';
import type { SchemaChange } from '../../domain/changes.js';
import type { ContractEntity } from '../../data/contract.entity.js';
import type { SetContractOutcome } from '../../services/contracts.service.js';
import type { TrustedDocumentEntity } from '../../data/document.entity.js';
import type { ClientPolicyView } from '../../services/documents.service.js';
import type { Principal } from '../../domain/principal.js';
import type { SubgraphView, SupergraphView } from '../../services/history.service.js';
import type { PublishOutcome, RegistryService } from '../../services/registry.service.js';
import type { SchemaVersionEntity } from '../../data/schema.entity.js';
import type { ApiKeyEntity } from '../../data/api-key.entity.js';
import type { CheckRunView } from '../../services/checks.service.js';
import type { ApiKeyAdmin, IssueKeyInput } from '../../services/key-admin.service.js';

/** What every registry API resolver gets: the service and the caller, authenticated on first use. */
export interface RegistryContext {
  service: RegistryService;
  /** API keys: listed, issued and revoked by admins. */
  keys: ApiKeyAdmin;
  /** @throws UnauthenticatedError when the request carries no valid credentials */
  principal(): Promise<Principal>;
}

type Args<T> = Record<string, T>;

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

/** Thin resolvers: read the arguments and the caller, make one service call. */
export const registryResolvers = {
  DateTime,
  JSON: JSONScalar,
  Query: {
    whoami: (_: unknown, __: unknown, ctx: RegistryContext) => ctx.principal(),
    environments: async (_: unknown, __: unknown, ctx: RegistryContext) => {
      await ctx.principal();
      return ctx.service.reads.environments();
    },
    subgraphs: async (_: unknown, args: { environment?: string | null }, ctx: RegistryContext) => ctx.service.reads.subgraphs(await ctx.principal(), args.environment),
    subgraph: async (_: unknown, args: { name: string; environment?: string | null }, ctx: RegistryContext) => ctx.service.reads.subgraph(await ctx.principal(), args.name, args.environment),
    schemaVersions: async (_: unknown, args: { subgraph: string; first: number }, ctx: RegistryContext) =>
      ctx.service.reads.schemaHistory(await ctx.principal(), args.subgraph, args.first),
    schemaVersion: async (_: unknown, args: { subgraph: string; version: number }, ctx: RegistryContext) =>
      ctx.service.reads.schemaVersion(await ctx.principal(), args.subgraph, args.version),
    supergraphVersions: async (_: unknown, args: { first: number; environment?: string | null }, ctx: RegistryContext) =>
      ctx.service.reads.supergraphHistory(await ctx.principal(), args.first, args.environment),
    supergraphVersion: async (_: unknown, args: { version?: number | null; environment?: string | null }, ctx: RegistryContext) =>
      ctx.service.reads.supergraph(await ctx.principal(), args.version, args.environment),
    diff: async (_: unknown, args: { subgraph?: string | null; from: number; to: number; environment?: string | null }, ctx: RegistryContext) => ctx.service.reads.diff(await ctx.principal(), args),
    checkRun: async (_: unknown, args: { id: string }, ctx: RegistryContext) => ctx.service.reads.checkRun(await ctx.principal(), args.id),
    approvals: async (_: unknown, args: { subgraph?: string | null; pendingOnly?: boolean | null; environment?: string | null }, ctx: RegistryContext) =>
      ctx.service.reads.approvals(await ctx.principal(), args),
    teams: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.teams.list(await ctx.principal()),
    webhooks: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.webhooks.list(await ctx.principal()),
    trustedDocuments: async (_: unknown, args: { client?: string | null }, ctx: RegistryContext) => ctx.service.documents.list(await ctx.principal(), args.client),
    clientPolicies: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.reads.clientPolicies(await ctx.principal()),
    subgraphHosts: async (_: unknown, args: { subgraph: string }, ctx: RegistryContext) => ctx.service.hosts.list(await ctx.principal(), args.subgraph),
    contracts: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.contracts.list(await ctx.principal()),
    contract: async (_: unknown, args: { name: string }, ctx: RegistryContext) => (await ctx.service.contracts.list(await ctx.principal())).find((c) => c.name === args.name) ?? null,
    checkRuns: async (_: unknown, args: { subgraph?: string | null; first?: number | null; environment?: string | null }, ctx: RegistryContext) => ctx.service.reads.checkRuns(await ctx.principal(), args),
    schemaTypes: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.explorer.types(await ctx.principal()),
    fieldUsage: async (_: unknown, args: { coordinate: string }, ctx: RegistryContext) => ctx.service.explorer.fieldUsage(await ctx.principal(), args.coordinate),
    apiKeys: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.keys.list(await ctx.principal()),
  },
  Mutation: {
    check: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.check(await ctx.principal(), args.input),
    publish: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.publish(await ctx.principal(), args.input),
    promote: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.promote(await ctx.principal(), args.input),
    rollback: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.rollback(await ctx.principal(), args.input),
    removeSubgraph: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.remove(await ctx.principal(), args.input),
    approve: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.approve(await ctx.principal(), args.input),
    registerTeam: async (_: unknown, args: { name: string }, ctx: RegistryContext) => ctx.service.teams.register(await ctx.principal(), args.name),
    addWebhook: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.webhooks.add(await ctx.principal(), args.input),
    removeWebhook: async (_: unknown, args: { id: string }, ctx: RegistryContext) => ctx.service.webhooks.remove(await ctx.principal(), args.id),
    publishDocuments: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.documents.publish(await ctx.principal(), args.input),
    removeDocuments: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.documents.remove(await ctx.principal(), args.input),
    setClientPolicy: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.documents.setPolicy(await ctx.principal(), args.input),
    allowSubgraphHosts: async (_: unknown, args: { subgraph: string; hosts: string[] }, ctx: RegistryContext) => ctx.service.hosts.allow(await ctx.principal(), args.subgraph, args.hosts),
    disallowSubgraphHosts: async (_: unknown, args: { subgraph: string; hosts: string[] }, ctx: RegistryContext) =>
      ctx.service.hosts.disallow(await ctx.principal(), args.subgraph, args.hosts),
    setContract: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.contracts.set(await ctx.principal(), args.input),
    removeContract: async (_: unknown, args: { name: string }, ctx: RegistryContext) => ctx.service.contracts.remove(await ctx.principal(), args.name),
    createApiKey: async (_: unknown, args: { input: IssueKeyInput }, ctx: RegistryContext) => ctx.keys.create(await ctx.principal(), args.input),
    revokeApiKey: async (_: unknown, args: { id: string }, ctx: RegistryContext) => ctx.keys.revoke(await ctx.principal(), args.id),
  },
  CheckRunSummary: {
    blockers: (r: CheckRunView) => r.parsed.blockers,
    breakingChanges: (r: CheckRunView) => r.parsed.changes.filter((c) => c.criticality === 'BREAKING').length,
    compositionErrors: (r: CheckRunView) => r.parsed.composition.errors.length,
    clients: (r: CheckRunView) => [...new Set(r.parsed.changes.flatMap((c) => c.usage.map((u) => u.clientId)))].sort(),
  },
  ApiKey: {
    prefix: (k: ApiKeyEntity) => k.keyPrefix,
  },
  CreatedApiKey: {
    apiKey: (c: { record: ApiKeyEntity }) => c.record,
  },
  RegistrySubgraph: {
    currentSchema: (s: SubgraphView, _: unknown, ctx: RegistryContext) => (s.currentVersion ? ctx.service.history.schemaVersion(s.name, s.currentVersion) : null),
  },
  SchemaVersion: {
    commit: (s: SchemaVersionEntity) => s.commitRef,
  },
  SupergraphVersion: {
    version: (s: SupergraphView) => s.id,
    sdl: (s: SupergraphView) => s.sdl ?? null,
    contracts: async (s: SupergraphView, _: unknown, ctx: RegistryContext) => ctx.service.contracts.versions(await ctx.principal(), s.id),
  },
  Contract: {
    history: async (c: ContractEntity, args: { first: number }, ctx: RegistryContext) => ctx.service.contracts.history(await ctx.principal(), c.name, args.first),
  },
  SetContractResult: {
    __resolveType: (o: SetContractOutcome) => (o.set ? 'ContractSet' : 'ContractRejected'),
  },
  // Changes of a diff or a contract change are not weighed by usage: as graphql-inspector classified them.
  SchemaChange: {
    originalCriticality: (c: Partial<ReportedChange> & SchemaChange) => c.originalCriticality ?? c.criticality,
    usage: (c: Partial<ReportedChange>) => c.usage ?? [],
    approved: (c: Partial<ReportedChange>) => c.approved ?? false,
  },
  CheckResult: {
    id: (r: CheckResult) => r.checkId,
    environment: (r: CheckResult) => r.environment ?? 'production',
    json: (r: CheckResult) => r,
    text: (r: CheckResult) => formatCheckResult(r),
    brokenDocuments: (r: CheckResult) => r.brokenDocuments ?? [],
    takeovers: (r: CheckResult) => r.takeovers ?? [],
    endpointProblems: (r: CheckResult) => r.endpointProblems ?? [],
    contracts: (r: CheckResult) => r.contracts ?? [],
  },
  OperationUsage: {
    registered: (o: OperationUsage) => o.registered ?? false,
  },
  TrustedDocument: {
    client: (d: TrustedDocumentEntity) => d.clientId,
    id: (d: TrustedDocumentEntity) => d.documentId,
  },
  PublishedDocument: {
    id: (d: TrustedDocumentEntity) => d.documentId,
  },
  ClientPolicySetting: {
    client: (p: ClientPolicyView) => p.clientId,
  },
  PublishResult: {
    __resolveType: (o: PublishOutcome) => (o.published ? 'Published' : 'PublishRejected'),
  },
  PublishRejected: {
    reasons: (o: PublishOutcome) => o.check.blockers,
  },
};
