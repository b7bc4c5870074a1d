import type { DataSource } from 'typeorm';
import { introspectionMode, registryDatabaseName, type Config } from '../../lib/config.js';
import { openDatabase } from '../../lib/db.js';
import { logger } from '../../lib/logger.js';
import type { RunningService } from '../../lib/server.js';
import type { SubgraphSource } from '../compose.js';
import { startGateway } from '../gateway.js';
import { limitSettings } from '../limits/limits.js';
import { opsSettings } from '../ops/index.js';
import { mountRegistryApi, REGISTRY_PATH } from './api.js';
import { ApprovalEntity, CheckChangeEntity, CheckRunEntity } from './check.entity.js';
import { CreateRegistry1733000000000 } from './migrations/1733000000000-create-registry.js';
import { CreateApiKeys1734000000000 } from './migrations/1734000000000-create-api-keys.js';
import { CreateTrustedDocuments1735000000000 } from './migrations/1735000000000-create-trusted-documents.js';
import { ClientPolicyEntity, TrustedDocumentEntity } from './document.entity.js';
import { UnifyIdentity1736000000000 } from './migrations/1736000000000-unify-identity.js';
import { UsageOmissions1737000000000 } from './migrations/1737000000000-usage-omissions.js';
import { TeamEntity } from './team.entity.js';
import { ApiKeyEntity } from '../auth/api-key.entity.js';
import type { Authenticator } from '../auth/authenticator.js';
import { gatewayAuth, startAuthenticator } from '../auth/index.js';
import { formatCheckResult } from './check-result.js';
import { OPERATOR } from './principal.js';
import { RegistryService } from './registry.service.js';
import { RegistrySubgraphEntity, SchemaVersionEntity, SupergraphMemberEntity, SupergraphVersionEntity } from './schema.entity.js';
import { RegistrySupergraph } from './supergraph-source.js';
import { UsageRecorder } from './usage-recorder.js';
import { TrustedDocuments } from '../trusted-documents.js';
import { UsageRecordEntity } from './usage.entity.js';
import { DeprecationEntity, WebhookEntity } from './webhook.entity.js';
import type { ScheduledWorker } from '../../lib/scheduled-worker.js';
import { startRegistryMaintenance, WebhookDispatcher, webhookSettings } from './webhooks.js';

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
];
export const REGISTRY_MIGRATIONS = [CreateRegistry1733000000000, CreateApiKeys1734000000000, CreateTrustedDocuments1735000000000, UnifyIdentity1736000000000, UsageOmissions1737000000000];

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
  const ds = await openRegistryDatabase(cfg);
  const webhooks = WebhookDispatcher.create(ds, webhookSettings(cfg), { deliver: opts.deliverWebhooks });
  const service = new RegistryService(ds, {
    usageWindowDays: cfg.REGISTRY_USAGE_WINDOW_DAYS,
    deprecationNoticeDays: cfg.REGISTRY_DEPRECATION_NOTICE_DAYS,
    events: webhooks,
    log: logger().child({ component: 'registry' }),
  });
  return {
    dataSource: ds,
    service,
    webhooks,
    async close() {
      await webhooks.close();
      await ds.destroy();
    },
  };
}

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
 * at /registry/graphql, usage recording, signed webhook deliveries and the daily deprecation check.
 */
export async function startRegistryGateway(opts: RegistryGatewayOptions): Promise<RegistryGateway> {
  const { cfg } = opts;
  const log = logger().child({ component: 'registry' });
  const registry = await openRegistry(cfg, { deliverWebhooks: true });
  const { service } = registry;
  let maintenance: ScheduledWorker | undefined;
  let usage: UsageRecorder | undefined;
  let trusted: TrustedDocuments | undefined;
  let authenticator: Authenticator | undefined;
  try {
    if (opts.seed) await service.seed(opts.seed);
    const supergraph = new RegistrySupergraph(service, cfg.REGISTRY_POLL_MS, log);
    // Loaded before the gateway serves: an ENFORCE client is never let through by an empty copy.
    trusted = await TrustedDocuments.start(service.documents, cfg.REGISTRY_POLL_MS, log.child({ component: 'trusted-documents' }));
    usage = new UsageRecorder((rows) => service.recordUsage(rows), cfg.REGISTRY_USAGE_FLUSH_MS, log);
    maintenance = await startRegistryMaintenance(service, { redisUrl: cfg.REDIS_URL, keyPrefix: cfg.REDIS_KEY_PREFIX });
    // One authenticator for /graphql and /registry/graphql: the same keys and JWTs work on both.
    const authn = (authenticator = await startAuthenticator(cfg, registry.dataSource));
    const subscriptionUrls = Object.fromEntries((await service.history.subgraphs()).flatMap((s) => (s.subscriptionUrl ? [[s.name, s.subscriptionUrl]] : [])));
    const running = await startGateway({
      supergraphSdl: supergraph.hook,
      urlOverrides: opts.urlOverrides,
      subscriptionUrls: { ...subscriptionUrls, ...opts.subscriptionUrls },
      host: opts.host,
      port: opts.port,
      plugins: [supergraph.plugin(), ...(cfg.REGISTRY_USAGE_RECORDING ? [usage.plugin()] : [])],
      auth: gatewayAuth(cfg, authn),
      limits: limitSettings(cfg),
      maxBatchSize: cfg.MAX_BATCH_SIZE,
      introspection: introspectionMode(cfg),
      ops: opsSettings(cfg),
      routes: (app) => mountRegistryApi(app, service, authn),
      trustedDocuments: trusted,
    });
    const recorder = usage;
    const trustedDocuments = trusted;
    const jobs = maintenance;
    let closing: Promise<void> | undefined;
    return {
      ...running,
      registry,
      supergraph,
      usage: recorder,
      trustedDocuments,
      registryUrl: running.url.replace(/\/graphql$/, REGISTRY_PATH),
      close() {
        closing ??= (async () => {
          await running.close();
          await authn.close();
          trustedDocuments.close();
          await recorder.close();
          await jobs.close();
          await registry.close();
        })();
        return closing;
      },
    } satisfies RegistryGateway & RunningService;
  } catch (err) {
    trusted?.close();
    await authenticator?.close().catch(() => {});
    await usage?.close().catch(() => {});
    await maintenance?.close().catch(() => {});
    await registry.close().catch(() => {});
    throw err;
  }
}

/**
 * `npm start`'s registry step: migrates the registry database and brings it in line with the
 * supergraph config as an operator (seeding an empty registry); returns a line per subgraph.
 */
export async function syncRegistryFromConfig(cfg: Config, sources: SubgraphSource[]): Promise<string[]> {
  const registry = await openRegistry(cfg, { deliverWebhooks: false });
  try {
    const outcomes = await registry.service.syncFromSources(OPERATOR, sources);
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
