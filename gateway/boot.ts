import { introspectionMode, type Config } from '../lib/config.js';
import { RateLimitedError } from '../lib/errors.js';
import { logger } from '../lib/logger.js';
import { closeRedis, createRedis, redisTarget } from '../lib/redis.js';
import type { RunningService } from '../lib/server.js';
import type { SubgraphSource } from '../contracts/composition.js';
import { mountRegistryConsole, REGISTRY_PATH, startRegistry, type Registry, type RegistrySupergraph, type UsageRecorder } from '../registry/index.js';
import { credentialsFromHeaders } from './auth/authenticator.js';
import { createAuthenticator, gatewayAuth } from './auth/index.js';
import { startGateway } from './gateway.js';
import { limitSettings, RateLimiter } from './limits/limits.js';
import { opsSettings } from './ops/index.js';
import { TrustedDocuments } from './trusted-documents.js';

export interface RegistryGatewayOptions {
  cfg: Config;
  /** Seeds an empty registry (supergraph.yaml's subgraphs). */
  seed?: SubgraphSource[];
  /** Routing URLs that replace the registry's, by subgraph name (tests, containers). */
  urlOverrides?: Partial<Record<string, string>>;
  /** graphql-ws URLs that replace the registry's, by subgraph name. */
  subscriptionUrls?: Partial<Record<string, string>>;
  host: string;
  port: number;
}

export interface RegistryGateway extends Awaited<ReturnType<typeof startGateway>> {
  registry: Registry;
  supergraph: RegistrySupergraph;
  usage: UsageRecorder;
  /** The gateway's in-memory copy of the registry's trusted documents and client policies. */
  trustedDocuments: TrustedDocuments;
  /** The registry API: `http://host:port/registry/graphql`. */
  registryUrl: string;
}

/**
 * The gateway serving the registry's supergraph (hot-reloaded by polling), with the registry API
 * at /registry/graphql, usage recording, and the registry's workers (signed webhook deliveries,
 * the daily deprecation check). The registry is started through its public interface; the gateway
 * reads it only through its own interfaces (a supergraph hook, a document source, a key store).
 */
export async function startRegistryGateway(opts: RegistryGatewayOptions): Promise<RegistryGateway> {
  const { cfg } = opts;
  const registry = await startRegistry(cfg, { seed: opts.seed });
  const rateRedis = cfg.REGISTRY_RATE_LIMIT_PER_MINUTE > 0 ? createRedis(redisTarget(cfg), { maxRetriesPerRequest: 1 }) : null;
  const rate = rateRedis ? new RateLimiter(rateRedis, { ...limitSettings(cfg), perMinute: cfg.REGISTRY_RATE_LIMIT_PER_MINUTE, perClient: {} }, logger().child({ component: 'registry' })) : null;
  let trusted: TrustedDocuments | undefined;
  try {
    // Loaded before the gateway serves: an ENFORCE client is never let through by an empty copy.
    trusted = await TrustedDocuments.start(registry.documents, cfg.REGISTRY_POLL_MS, logger().child({ component: 'trusted-documents' }));
    // One authenticator for /graphql and /registry/graphql: the same keys and JWTs work on both.
    const authn = createAuthenticator(cfg, registry.keys);
    const running = await startGateway({
      supergraphSdl: registry.supergraph.hook,
      urlOverrides: opts.urlOverrides,
      subscriptionUrls: { ...(await registry.subscriptionUrls()), ...opts.subscriptionUrls },
      host: opts.host,
      port: opts.port,
      plugins: [registry.supergraph.plugin(), ...(cfg.REGISTRY_USAGE_RECORDING ? [registry.usage.plugin()] : [])],
      usage: cfg.REGISTRY_USAGE_RECORDING ? registry.usage : undefined,
      auth: gatewayAuth(cfg, authn),
      limits: limitSettings(cfg),
      maxBatchSize: cfg.MAX_BATCH_SIZE,
      introspection: introspectionMode(cfg),
      contracts: registry.supergraph,
      ops: opsSettings(cfg),
      routes: (app) => {
        // The registry console (/registry, its bundle under /registry/assets/) beside the API it calls.
        mountRegistryConsole(app);
        return registry.mountApi(app, async (headers) => {
          const caller = await authn.identify(credentialsFromHeaders(headers));
          // Checks compose a supergraph: each client's registry calls are bounded (REGISTRY_RATE_LIMIT_PER_MINUTE).
          const budget = rate && caller.clientId ? await rate.take(`registry:${caller.clientId}`) : { ok: true as const };
          if (!budget.ok) {
            throw new RateLimitedError(`Client ${caller.clientId} is over its limit of ${budget.limit} registry requests per minute; retry in ${budget.retryAfterSeconds} s`, {
              limit: budget.limit,
              retryAfterSeconds: budget.retryAfterSeconds,
            });
          }
          return caller;
        });
      },
      trustedDocuments: trusted,
    });
    const trustedDocuments = trusted;
    let closing: Promise<void> | undefined;
    return {
      ...running,
      registry: registry.registry,
      supergraph: registry.supergraph,
      usage: registry.usage,
      trustedDocuments,
      registryUrl: running.url.replace(/\/graphql$/, REGISTRY_PATH),
      close() {
        closing ??= (async () => {
          await running.close();
          trustedDocuments.close();
          await registry.close();
          if (rateRedis) await closeRedis(rateRedis);
        })();
        return closing;
      },
    } satisfies RegistryGateway & RunningService;
  } catch (err) {
    trusted?.close();
    await registry.close().catch(() => {});
    if (rateRedis) await closeRedis(rateRedis);
    throw err;
  }
}
