import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { z } from 'zod';
import { parseInput } from '../../../../lib/errors.js';
import { assertId, isId } from '../../../../lib/validation.js';
import type { ExceptionEntity } from '../../data/exception.entity.js';
import type { WebhookRow } from '../../data/exception.store.js';
import type { ExceptionsContext } from '../context.js';

const evidenceFirst = z.number().int().min(1).max(100);

export const exceptionResolvers = {
  Query: {
    exceptions: (_: unknown, args: { filter?: unknown; first?: number; after?: string | null }, ctx: ExceptionsContext) =>
      ctx.exceptions.list(args.filter, args.first, args.after, ctx.reads),
    exception: (_: unknown, args: { id: string }, ctx: ExceptionsContext) => ctx.loaders.exceptionById.load(assertId(args.id)),
    exceptionCounts: (_: unknown, args: { filter?: unknown }, ctx: ExceptionsContext) => ctx.exceptions.counts(args.filter, ctx.reads),
    exceptionWebhooks: (_: unknown, _args: unknown, ctx: ExceptionsContext) => ctx.webhooks.list(),
  },
  Mutation: {
    acknowledgeException: (_: unknown, args: { id: string; note?: string | null }, ctx: ExceptionsContext) =>
      ctx.exceptions.move(assertId(args.id), 'ACKNOWLEDGE', ctx.clientId, args.note),
    resolveException: (_: unknown, args: { id: string; note?: string | null }, ctx: ExceptionsContext) =>
      ctx.exceptions.move(assertId(args.id), 'RESOLVE', ctx.clientId, args.note),
    assignException: (_: unknown, args: { id: string; team?: string | null }, ctx: ExceptionsContext) =>
      ctx.exceptions.assign(assertId(args.id), args.team, ctx.clientId),
    markNotAnomaly: (_: unknown, args: { id: string; note?: string | null }, ctx: ExceptionsContext) =>
      ctx.exceptions.markNotAnomaly(assertId(args.id), ctx.clientId, args.note),
    announcePromotion: async (_: unknown, args: { input: unknown }, ctx: ExceptionsContext) => {
      await ctx.anomalies.announcePromotion(args.input, ctx.clientId);
      return true;
    },
    runAnomalyDetection: (_: unknown, _args: unknown, ctx: ExceptionsContext) => ctx.detection.run(),
    addExceptionWebhook: (_: unknown, args: { url: string; minSeverity: string; kinds?: string[] | null }, ctx: ExceptionsContext) =>
      ctx.webhooks.add(args, ctx.clientId),
    removeExceptionWebhook: (_: unknown, args: { id: string }, ctx: ExceptionsContext) => ctx.webhooks.remove(assertId(args.id)),
  },
  Subscription: {
    exceptionRaised: {
      subscribe: (_: unknown, args: { filter?: unknown }, ctx: ExceptionsContext) => ctx.live.subscribe(args.filter),
    },
  },
  Exception: {
    __resolveReference: (ref: { id: unknown }, ctx: ExceptionsContext) => (isId(ref.id) ? ctx.loaders.exceptionById.load(ref.id) : null),
    title: (x: ExceptionEntity, _args: unknown, ctx: ExceptionsContext) => ctx.exceptions.title(x),
    location: (x: ExceptionEntity) => (x.locationId ? { __typename: 'Location' as const, id: x.locationId } : null),
    channel: (x: ExceptionEntity) => (x.channelId ? { __typename: 'Channel' as const, id: x.channelId } : null),
    evidence: (x: ExceptionEntity, args: { first?: number }, ctx: ExceptionsContext) =>
      ctx.loaders.evidence(parseInput(evidenceFirst, args.first ?? 20, 'first')).load(x.id),
    evidenceCount: (x: ExceptionEntity, _args: unknown, ctx: ExceptionsContext) => ctx.loaders.evidenceCount.load(x.id),
    action: (x: ExceptionEntity, _args: unknown, ctx: ExceptionsContext) => {
      const op = ctx.exceptions.action(x);
      return op && { ...op, variables: JSON.stringify(op.variables) };
    },
    history: (x: ExceptionEntity, _args: unknown, ctx: ExceptionsContext) => ctx.loaders.history.load(x.id),
  },
  Evidence: {
    id: (e: { refId: string }) => e.refId,
  },
  ExceptionWebhook: {
    kinds: (w: WebhookRow) => w.kinds,
  },
} satisfies GraphQLResolverMap<ExceptionsContext>;
