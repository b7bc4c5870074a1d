import { SubgraphHostEntity } from './data/host.entity.js';
import { SubgraphHosts1738000000000 } from './data/migrations/1738000000000-subgraph-hosts.js';
import { Contracts1740000000000 } from './data/migrations/1740000000000-contracts.js';
import { ContractEntity, ContractVersionEntity } from './data/contract.entity.js';
import { Environments1739000000000 } from './data/migrations/1739000000000-environments.js';
import type { DataSource } from 'typeorm';
import { assertRegistryEnvironments, registryDatabaseName, type Config } from '../lib/config.js';
import { openDatabase } from '../lib/db.js';
import { logger } from '../lib/logger.js';
import type { SubgraphSource } from '../contracts/composition.js';
import type { FastifyInstance } from 'fastify';
import { mountRegistryApi, type IdentifyRequest } from './api/api.js';
import { ApprovalEntity, CheckChangeEntity, CheckRunEntity } from './data/check.entity.js';
import { CreateRegistry1733000000000 } from './data/migrations/1733000000000-create-registry.js';
import { CreateApiKeys1734000000000 } from './data/migrations/1734000000000-create-api-keys.js';
import { CreateTrustedDocuments1735000000000 } from './data/migrations/1735000000000-create-trusted-documents.js';
import { ClientPolicyEntity, TrustedDocumentEntity } from './data/document.entity.js';
import { UnifyIdentity1736000000000 } from './data/migrations/1736000000000-unify-identity.js';
import { UsageOmissions1737000000000 } from './data/migrations/1737000000000-usage-omissions.js';
import { TeamEntity } from './data/team.entity.js';
import { ApiKeyEntity } from './data/api-key.entity.js';
import type { TrustedDocumentSource } from '../contracts/trusted-documents.js';
import { CredentialCache } from '../lib/credential-cache.js';
import { KeyRevocations } from './feeds/key-revocations.js';
import { ApiKeyService } from './services/api-keys.service.js';
import { ApiKeyAdmin } from './services/key-admin.service.js';
import { formatCheckResult } from './domain/check-result.js';
import { OPERATOR } from './domain/principal.js';
import { RegistryService } from './services/registry.service.js';
import { RegistrySubgraphEntity, SchemaVersionEntity, SupergraphMemberEntity, SupergraphVersionEntity } from './data/schema.entity.js';
import { RegistrySupergraph } from './feeds/supergraph-source.js';
import { UsageRecorder } from './feeds/usage-recorder.js';
import { UsageRecordEntity } from './data/usage.entity.js';
import { DeprecationEntity, WebhookEntity } from './data/webhook.entity.js';
import type { ScheduledWorker } from '../lib/scheduled-worker.js';
import { startRegistryMaintenance, WebhookDispatcher, webhookSettings } from './feeds/webhooks.js';
import { redisTarget } from '../lib/redis.js';

export const REGISTRY_ENTITIES = [
  RegistrySubgraphEntity,
  SchemaVersionEntity,
  SupergraphVersionEntity,
  SupergraphMemberEntity,
  CheckRunEntity,
  CheckChangeEntity,
  ApprovalEntity,
  TeamEntity,
  UsageRecordEntity,
  WebhookEntity,
  DeprecationEntity,
  ApiKeyEntity,
  TrustedDocumentEntity,
  ClientPolicyEntity,
  SubgraphHostEntity,
  ContractEntity,
  ContractVersionEntity,
];
export const REGISTRY_MIGRATIONS = [CreateRegistry1733000000000, CreateApiKeys1734000000000, CreateTrustedDocuments1735000000000, UnifyIdentity1736000000000, UsageOmissions1737000000000, SubgraphHosts1738000000000, Environments1739000000000, Contracts1740000000000];

/** Opens the registry's database `<DB_PREFIX>_registry` (the gateway's: it also holds the API keys, the one identity store), creating it and applying its migrations when needed. */
export function openRegistryDatabase(cfg: Config): Promise<DataSource> {
  return openDatabase(cfg, { database: registryDatabaseName(cfg), entities: REGISTRY_ENTITIES, migrations: REGISTRY_MIGRATIONS });
}

export interface Registry {
  dataSource: DataSource;
  service: RegistryService;
  webhooks: WebhookDispatcher;
  close(): Promise<void>;
}

/**
 * The registry on its database, with webhook deliveries queued in Redis; with `deliverWebhooks`
 * this process also sends them (the gateway does; the CLI only queues).
 */
export async function openRegistry(cfg: Config, opts: { deliverWebhooks: boolean }): Promise<Registry> {
  assertRegistryEnvironments(cfg);
  const ds = await openRegistryDatabase(cfg);
  const webhooks = WebhookDispatcher.create(ds, webhookSettings(cfg), { deliver: opts.deliverWebhooks });
  const service = new RegistryService(ds, {
    usageWindowDays: cfg.REGISTRY_USAGE_WINDOW_DAYS,
    deprecationNoticeDays: cfg.REGISTRY_DEPRECATION_NOTICE_DAYS,
    composition: { timeoutMs: cfg.REGISTRY_COMPOSITION_TIMEOUT_MS, maxQueued: cfg.REGISTRY_COMPOSITION_QUEUE },
    events: webhooks,
    log: logger().child({ component: 'registry' }),
    environments: { names: cfg.REGISTRY_ENVIRONMENTS, promotionRequired: cfg.REGISTRY_PROMOTION_REQUIRED },
  });
  return {
    dataSource: ds,
    service,
    webhooks,
    async close() {
      await webhooks.close();
      await service.close();
      await ds.destroy();
    },
  };
}

/** The API keys as the gateway checks them: cached for AUTH_KEY_CACHE_MS, with the revocations every process announces. */
export async function openKeyStore(cfg: Config, ds: DataSource): Promise<ApiKeyService> {
  const apiKeys = new ApiKeyService(ds, {
    cache: cfg.AUTH_KEY_CACHE_MS > 0 ? new CredentialCache(cfg.AUTH_KEY_CACHE_MS) : undefined,
    unknown: cfg.AUTH_KEY_CACHE_MS > 0 ? new CredentialCache(cfg.AUTH_KEY_CACHE_MS) : undefined,
    revocations: new KeyRevocations(redisTarget(cfg), cfg.REDIS_KEY_PREFIX, logger().child({ component: 'auth' })),
  });
  await apiKeys.start();
  return apiKeys;
}

/** What a gateway serves from the registry, each behind an interface of the gateway's own. */
export interface RunningRegistry {
  registry: Registry;
  /** The newest supergraph of REGISTRY_ENVIRONMENT, polled: a SupergraphSdlHook and a plugin naming each response's version. */
  supergraph: RegistrySupergraph;
  /** The trusted documents and client policies. */
  documents: TrustedDocumentSource;
  /** The API keys (the one identity store). */
  keys: ApiKeyService;
  /** Records which fields each client uses (a gateway plugin), under REGISTRY_ENVIRONMENT. */
  usage: UsageRecorder;
  /** graphql-ws URLs of the subgraphs that registered one, by name. */
  subscriptionUrls(): Promise<Record<string, string>>;
  /** Mounts the registry API at /registry/graphql, authenticating callers with `identify`. */
  mountApi(app: FastifyInstance, identify: IdentifyRequest): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * The registry's boot in a serving process: its database (seeded from `seed` when empty), its
 * workers (webhook deliveries, the daily deprecation check) and what a gateway reads from it: the
 * supergraph of REGISTRY_ENVIRONMENT, and usage recorded under it.
 * @throws ConfigError when REGISTRY_ENVIRONMENT is not one of REGISTRY_ENVIRONMENTS
 */
export async function startRegistry(cfg: Config, opts: { seed?: SubgraphSource[] } = {}): Promise<RunningRegistry> {
  const log = logger().child({ component: 'registry' });
  const environment = cfg.REGISTRY_ENVIRONMENT;
  const registry = await openRegistry(cfg, { deliverWebhooks: true });
  const { service } = registry;
  let maintenance: ScheduledWorker | undefined;
  let keys: ApiKeyService | undefined;
  try {
    if (opts.seed) await service.seed(opts.seed, environment);
    maintenance = await startRegistryMaintenance(service, { redis: redisTarget(cfg), keyPrefix: cfg.REDIS_KEY_PREFIX });
    keys = await openKeyStore(cfg, registry.dataSource);
  } catch (err) {
    await maintenance?.close().catch(() => {});
    await registry.close().catch(() => {});
    throw err;
  }
  const usage = new UsageRecorder((rows) => service.recordUsage(rows.map((r) => ({ ...r, environment }))), cfg.REGISTRY_USAGE_FLUSH_MS, log);
  const jobs = maintenance;
  const apiKeys = keys;
  return {
    registry,
    supergraph: new RegistrySupergraph(service, cfg.REGISTRY_POLL_MS, log, environment),
    documents: service.documents,
    keys: apiKeys,
    usage,
    subscriptionUrls: async () => Object.fromEntries((await service.history.subgraphs(environment)).flatMap((s) => (s.subscriptionUrl ? [[s.name, s.subscriptionUrl]] : []))),
    mountApi: (app, identify) => mountRegistryApi(app, service, new ApiKeyAdmin(apiKeys), identify),
    async close() {
      await apiKeys.close();
      await usage.close();
      await jobs.close();
      await registry.close();
    },
  };
}

/**
 * `npm start`'s registry step: migrates the registry database and brings REGISTRY_ENVIRONMENT
 * (production by default) in line with the supergraph config as an operator (seeding an empty
 * registry); returns a line per subgraph.
 */
export async function syncRegistryFromConfig(cfg: Config, sources: SubgraphSource[]): Promise<string[]> {
  const registry = await openRegistry(cfg, { deliverWebhooks: false });
  try {
    const outcomes = await registry.service.syncFromSources(OPERATOR, sources, cfg.REGISTRY_ENVIRONMENT);
    return outcomes.map((o) => {
      if (o.outcome === 'blocked') {
        return `${o.subgraph}: NOT published, the gateway keeps its current version:\n${formatCheckResult(o.check!).replace(/^/gm, '      ')}`;
      }
      return `${o.subgraph}: ${o.outcome}${o.supergraphVersion ? ` (supergraph v${o.supergraphVersion})` : ''}`;
    });
  } finally {
    await registry.close();
  }
}
