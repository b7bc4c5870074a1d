import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../../lib/config.js';
import { TOPICS } from '../../contracts/events.js';
import { eventKeys } from '../../lib/event-stream.js';
import { logger, requestScope } from '../../lib/logger.js';
import { createRedis, redisTarget, type RedisTarget } from '../../lib/redis.js';
import type { AuthGuard } from '../auth/guard.js';
import type { Identity } from '../../contracts/identity.js';
import type { GatewayContext } from '../gateway.js';
import { OPS_OPERATOR_SCOPES, type OpsExecutor } from './graph-figures.js';
import { OpsSampler } from './ops-sampler.js';
import { RefusalRates } from './refusals.js';
import { mountOpsPage } from './routes.js';
import { StockRateReader } from './stock-rate.js';

export { OPS_PATH, OPS_READ_SCOPES } from './routes.js';
export { REFUSALS_METRIC } from './refusals.js';

export interface OpsSettings {
  /** Redis holding the event streams (REDIS_URL or REDIS_CLUSTER_NODES) and their key prefix (REDIS_KEY_PREFIX). */
  redis: RedisTarget;
  keyPrefix: string;
  /** Milliseconds between the page's ticks (OPS_REFRESH_MS). */
  refreshMs: number;
}

export function opsSettings(cfg: Config): OpsSettings {
  return { redis: redisTarget(cfg), keyPrefix: cfg.REDIS_KEY_PREFIX, refreshMs: cfg.OPS_REFRESH_MS };
}

/** The client the page's internal operations run as (its own rate-limit budget, and how logs and usage name it). */
export const OPS_CLIENT_ID = 'omnistock-ops-page';

/**
 * The identity the page's operations run under: an operator with the read scopes its queries need,
 * checked by the gateway's own authorization like any client's (viewers hold only `ops:read`).
 */
const OPS_OPERATOR: Identity = { clientId: OPS_CLIENT_ID, scopes: OPS_OPERATOR_SCOPES, kind: 'api-key' };

/**
 * Runs an operation through the gateway's ApolloServer (plugins, authorization, limits and executor
 * included), in a log scope of its own: the scope of the viewer's request that triggered the tick
 * must not take on the operations' names.
 */
export function gatewayExecutor(apollo: () => ApolloServer<GatewayContext>): OpsExecutor {
  return async (query, variables) => {
    const requestId = `ops-${randomUUID()}`;
    const response = await requestScope.run({ requestId, client: OPS_CLIENT_ID }, () =>
      apollo().executeOperation({ query, variables }, { contextValue: { requestId, clientId: OPS_CLIENT_ID, caller: OPS_OPERATOR, remoteAddress: null } }),
    );
    if (response.body.kind !== 'single') throw new Error('the ops page does not read incremental results');
    return response.body.singleResult;
  };
}

/**
 * The ops page on the gateway's HTTP server: the stock-change rate from the Redis stock stream,
 * marketplace sync and reconciliation through the supergraph, refusals from the gateway's metrics.
 * Returns how to stop it.
 */
export function mountOps(
  app: FastifyInstance,
  opts: { settings: OpsSettings; guard: AuthGuard; apollo: () => ApolloServer<GatewayContext>; metrics: () => Registry | undefined },
): () => Promise<void> {
  const { settings } = opts;
  // Its own connection: XRANGE reads must not queue behind the rate limiter's calls; no retries, a failed read shows as unavailable.
  const redis = createRedis(settings.redis, { maxRetriesPerRequest: 1, lazyConnect: true });
  const sampler = new OpsSampler(
    {
      stock: new StockRateReader(redis, eventKeys.stream(settings.keyPrefix, TOPICS.stock)),
      refusals: new RefusalRates(opts.metrics),
      execute: gatewayExecutor(opts.apollo),
    },
    settings.refreshMs,
    logger().child({ component: 'ops' }),
  );
  const closeRoutes = mountOpsPage(app, { guard: opts.guard, sampler, refreshMs: settings.refreshMs });
  return async () => {
    await closeRoutes();
    redis.disconnect();
  };
}
