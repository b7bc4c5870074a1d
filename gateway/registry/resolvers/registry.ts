import { GraphQLScalarType } from 'graphql';
import { DateTime } from '../../../lib/scalars.js';
import type { TokenEntity } from '../access.entity.js';
import { formatCheckResult, type CheckResult } from '../check-result.js';
import type { Principal } from '../principal.js';
import type { PublishOutcome, RegistryService, SubgraphView, SupergraphView } from '../registry.service.js';
import type { SchemaVersionEntity } from '../schema.entity.js';

/** What every registry API resolver gets: the service and the caller, authenticated on first use. */
export interface RegistryContext {
  service: RegistryService;
  /** @throws UnauthenticatedError when the request carries no valid token */
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
    subgraphs: async (_: unknown, __: unknown, ctx: RegistryContext) => (await ctx.principal(), ctx.service.subgraphs()),
    subgraph: async (_: unknown, args: { name: string }, ctx: RegistryContext) => (await ctx.principal(), ctx.service.subgraph(args.name)),
    schemaVersions: async (_: unknown, args: { subgraph: string; first: number }, ctx: RegistryContext) =>
      (await ctx.principal(), ctx.service.schemaHistory(args.subgraph, args.first)),
    schemaVersion: async (_: unknown, args: { subgraph: string; version: number }, ctx: RegistryContext) =>
      (await ctx.principal(), ctx.service.schemaVersion(args.subgraph, args.version)),
    supergraphVersions: async (_: unknown, args: { first: number }, ctx: RegistryContext) => (await ctx.principal(), ctx.service.supergraphHistory(args.first)),
    supergraphVersion: async (_: unknown, args: { version?: number | null }, ctx: RegistryContext) => (await ctx.principal(), ctx.service.supergraph(args.version)),
    diff: async (_: unknown, args: { subgraph?: string | null; from: number; to: number }, ctx: RegistryContext) => (await ctx.principal(), ctx.service.diff(args)),
    checkRun: async (_: unknown, args: { id: string }, ctx: RegistryContext) => (await ctx.principal(), ctx.service.checkRun(args.id)),
    approvals: async (_: unknown, args: { subgraph?: string | null; pendingOnly?: boolean | null }, ctx: RegistryContext) =>
      (await ctx.principal(), ctx.service.approvals(args)),
    teams: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.teams(await ctx.principal()),
    tokens: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.tokens(await ctx.principal()),
    webhooks: async (_: unknown, __: unknown, ctx: RegistryContext) => ctx.service.webhooks(await ctx.principal()),
  },
  Mutation: {
    check: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.check(await ctx.principal(), args.input),
    publish: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.publish(await ctx.principal(), args.input),
    rollback: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.rollback(await ctx.principal(), args.input),
    approve: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.approve(await ctx.principal(), args.input),
    registerTeam: async (_: unknown, args: { name: string }, ctx: RegistryContext) => ctx.service.registerTeam(await ctx.principal(), args.name),
    createToken: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.createToken(await ctx.principal(), args.input),
    revokeToken: async (_: unknown, args: { id: string }, ctx: RegistryContext) => ctx.service.revokeToken(await ctx.principal(), args.id),
    addWebhook: async (_: unknown, args: Args<never>, ctx: RegistryContext) => ctx.service.addWebhook(await ctx.principal(), args.input),
    removeWebhook: async (_: unknown, args: { id: string }, ctx: RegistryContext) => ctx.service.removeWebhook(await ctx.principal(), args.id),
  },
  RegistrySubgraph: {
    currentSchema: (s: SubgraphView, _: unknown, ctx: RegistryContext) => (s.currentVersion ? ctx.service.schemaVersion(s.name, s.currentVersion) : null),
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
    json: (r: CheckResult) => r,
    text: (r: CheckResult) => formatCheckResult(r),
  },
  PublishResult: {
    __resolveType: (o: PublishOutcome) => (o.published ? 'Published' : 'PublishRejected'),
  },
  PublishRejected: {
    reasons: (o: PublishOutcome) => o.check.blockers,
  },
  Token: {
    prefix: (t: TokenEntity) => t.tokenPrefix,
  },
};
