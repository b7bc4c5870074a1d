import { GraphQLScalarType } from 'graphql';
import { DateTime } from '../../../lib/scalars.js';
import { formatCheckResult, type CheckResult, type OperationUsage } from '../../domain/check-result.js';
import type { TrustedDocumentEntity } from '../../data/document.entity.js';
import type { ClientPolicyView } from '../../services/documents.service.js';
import type { Principal } from '../../domain/principal.js';
import type { SubgraphView, SupergraphView } from '../../services/history.service.js';
import type { PublishOutcome, RegistryService } from '../../services/registry.service.js';
import type { SchemaVersionEntity } from '../../data/schema.entity.js';

/** What every registry API resolver gets: the service and the caller, authenticated on first use. */
export interface RegistryContext {
  service: RegistryService;
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
  },
  CheckResult: {
    id: (r: CheckResult) => r.checkId,
    environment: (r: CheckResult) => r.environment ?? 'production',
    json: (r: CheckResult) => r,
    text: (r: CheckResult) => formatCheckResult(r),
    brokenDocuments: (r: CheckResult) => r.brokenDocuments ?? [],
    takeovers: (r: CheckResult) => r.takeovers ?? [],
    endpointProblems: (r: CheckResult) => r.endpointProblems ?? [],
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
