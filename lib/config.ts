import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import './zod-messages.js';

/**
 * The one place that reads process.env. Every variable is parsed here, once; a bad value is
 * reported together with every other bad value and the process exits non-zero.
 */
const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalUrl = z.url().optional();
const optionalWsUrl = z
  .url()
  .refine((u) => u.startsWith('ws://') || u.startsWith('wss://'), 'must be a ws:// or wss:// URL')
  .optional();

/** A registry environment's name. */
const environmentName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, _ and -, starting with a letter; at most 32');
/** A comma-separated list of registry environments. */
const environmentList = z
  .string()
  .transform((v) => [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))])
  .pipe(z.array(environmentName));

/** A `client=number,client=number` list (per-client overrides of a gateway limit). */
function perClientNumbers(shape: string) {
  return z
    .string()
    .default('')
    .transform((v, ctx) => {
      const out: Record<string, number> = {};
      for (const pair of v.split(/[\s,]+/).filter(Boolean)) {
        const m = /^([^=]+)=(\d+)$/.exec(pair);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `"${pair}" is not ${shape}` });
          continue;
        }
        out[m[1]!] = Number(m[2]);
      }
      return out;
    });
}

/** Every process: logging, MySQL, Redis, where each service listens, shutdown, tracing, request bodies. */
const platformSection = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where `npm start` (and the benchmarks, each in a folder of its own) write each service's log, <service>.log. */
  LOG_DIR: z.string().min(1).default('logs'),
  /** npm start: `auto` starts a MariaDB and a Redis of its own (installed binaries, or docker compose) where none answers at MYSQL_URL / REDIS_URL; `off` fails instead. */
  LOCAL_SERVICES: z.enum(['auto', 'off']).default('auto'),
  /** Where the MariaDB and Redis npm start brings keep their data between starts. */
  LOCAL_SERVICES_DIR: z.string().min(1).default('.omnistock'),
  MYSQL_URL: z
    .url()
    .refine((u) => u.startsWith('mysql://'), 'must be a mysql:// URL')
    .default('mysql://root@127.0.0.1:3306'),
  /** A file holding MYSQL_URL (a mounted secret: the URL carries the password); see SECRET_FILE_SETTINGS. */
  MYSQL_URL_FILE: z.string().min(1).optional(),
  DB_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,40}$/, 'lower-case letters, digits and _ only')
    .default('omnistock'),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DB_SLOW_QUERY_MS: z.coerce.number().int().min(1).default(500),
  /** How long opening a MySQL connection (TCP and handshake) may take before the request fails with DATABASE_UNAVAILABLE. */
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(2000),
  /** Requests a process lets wait for a free pooled connection; past it they fail at once (DATABASE_UNAVAILABLE); 0 = no bound. */
  DB_POOL_QUEUE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  /**
   * Read replicas of MYSQL_URL (comma-separated mysql:// URLs, MariaDB replicating with GTIDs); empty:
   * none, every read on MYSQL_URL. Read-only queries a store marks as such may go to a replica
   * (lib/read-replicas.ts); writes, transactions, reservation decisions, outbox relays and the
   * availability read model's rebuild always use MYSQL_URL.
   */
  MYSQL_REPLICA_URLS: z
    .string()
    .default('')
    .transform((v) => [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))])
    .pipe(z.array(z.url().refine((u) => u.startsWith('mysql://'), 'must be a mysql:// URL'))),
  /** A replica whose data may be older than this (or whose replication stopped, or that is unreachable) answers no read: another replica or MYSQL_URL does. */
  MYSQL_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  /** How often each process checks its replicas (replication threads and GTID position against the primary's). */
  MYSQL_REPLICA_CHECK_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  /** How long a read of a caller that wrote may wait (MASTER_GTID_WAIT) for a replica to apply that write before it goes to MYSQL_URL; 0: at once. */
  MYSQL_REPLICA_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(100),
  REDIS_URL: z
    .url()
    .refine((u) => u.startsWith('redis://') || u.startsWith('rediss://'), 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  /** A file holding REDIS_URL (a mounted secret, when the URL carries a password); see SECRET_FILE_SETTINGS. */
  REDIS_URL_FILE: z.string().min(1).optional(),
  /**
   * A Redis Cluster to use instead of the single server at REDIS_URL: comma-separated `host:port`
   * seeds (any masters or replicas; the rest of the cluster is discovered from them). Set, every
   * process connects to the cluster (REDIS_URL then only lends its user name, password and TLS
   * (`rediss://`) to every node) and lays its keys out in hash tags, so keys used together share a
   * slot (README, "Redis Cluster"). Unset: the single server at REDIS_URL, keys unchanged.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(
      z
        .array(
          z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/, 'each seed must be host:port').refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port above 65535'),
        )
        .min(1, 'at least one host:port seed'),
    )
    .optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_HOST: z.string().min(1).default('localhost'),
  GATEWAY_PORT: port.default(4000),
  INVENTORY_PORT: port.default(4001),
  ORDERS_PORT: port.default(4002),
  LOCATIONS_PORT: port.default(4003),
  CHANNELS_PORT: port.default(4004),
  MARKETPLACES_PORT: port.default(4005),
  EXCEPTIONS_PORT: port.default(4006),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * The bearer token every service's /metrics asks for, so Prometheus can scrape from another host;
   * unset, /metrics answers callers on the same host only.
   */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** A file holding METRICS_TOKEN (a mounted secret); see SECRET_FILE_SETTINGS. */
  METRICS_TOKEN_FILE: z.string().min(1).optional(),
  /**
   * OpenTelemetry tracing: off unless set. The OTLP/HTTP collector's base URL (spans go to
   * `<endpoint>/v1/traces`, JSON), e.g. `http://otel-collector:4318`.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The `service.name` of the spans; default: the process's service (gateway, inventory, …, jobs). */
  OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),
  JOBS_PORT: port.default(4010),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_:-]{0,60}$/, 'lower-case letters, digits, _, : and - only')
    .default('omnistock'),
  OUTBOX_RETENTION_MS: z.coerce.number().int().min(1000).default(24 * 60 * 60 * 1000),
  /**
   * `enforce`: every request is authenticated (API key or JWT) and checked against the supergraph's
   * @authenticated / @requiresScopes. `off`: everyone may do everything; only when set, and the
   * gateway then listens on loopback only. Default: `enforce`, whatever NODE_ENV.
   */
  AUTH_MODE: z.enum(['off', 'enforce']).optional(),
  /**
   * `enforce`: every service refuses a request without a service token it can verify (the gateway
   * signs one for each subgraph fetch, services sign as themselves). `off` only to measure what the
   * tokens cost, and then every subgraph listens on loopback only.
   */
  SERVICE_AUTH: z.enum(['off', 'enforce']).default('enforce'),
  /** The services' token keys, a JWK set (Ed25519; the first key signs, all verify) as JSON; or SERVICE_TOKEN_KEYS_FILE. */
  SERVICE_TOKEN_KEYS: z.string().min(1).optional(),
  /** A file holding the JWK set of SERVICE_TOKEN_KEYS (a mounted secret); npm start makes `.omnistock/service-keys-<DB_PREFIX>.json`. */
  SERVICE_TOKEN_KEYS_FILE: z.string().min(1).optional(),
  /** Lifetime of a service token; the signer reuses one for half of it. */
  SERVICE_TOKEN_TTL_S: z.coerce.number().int().min(10).max(3600).default(60),
  /** Largest HTTP request body a service accepts, in bytes; a larger one is refused with 413 PAYLOAD_TOO_LARGE before any work. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  /** Largest sales CSV `POST /imports/sales` takes. */
  SALES_IMPORT_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
});

/** The gateway: subgraph routing and fetches, subscriptions, authentication, limits, introspection, /ops. */
const gatewaySection = z.object({
  /** How long the gateway waits for one subgraph fetch before answering SUBGRAPH_UNAVAILABLE for the fields it was to supply. */
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /**
   * Identical queries in flight at once run once at the gateway, and identical subgraph fetches of
   * queries go out once (the same document, variables and client); mutations never share.
   */
  GATEWAY_SHARE_INFLIGHT: bool.default(true),
  /**
   * A query whose plan is one fetch asking its subgraph exactly the client's operation is answered
   * straight from that fetch, without @apollo/gateway's walk over the answer (gateway/single-fetch.ts).
   */
  GATEWAY_DIRECT_FETCH: bool.default(true),
  /** How long concurrent queries' entity fetches wait to merge into one call; 0: those made in the same turn of the event loop. */
  GATEWAY_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(0),
  /** Gateway processes serving GATEWAY_PORT together (Node's cluster module): a number, or `auto` for one per core. */
  GATEWAY_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
  INVENTORY_URL: optionalUrl,
  ORDERS_URL: optionalUrl,
  LOCATIONS_URL: optionalUrl,
  CHANNELS_URL: optionalUrl,
  MARKETPLACES_URL: optionalUrl,
  EXCEPTIONS_URL: optionalUrl,
  INVENTORY_SUBSCRIPTION_URL: optionalWsUrl,
  ORDERS_SUBSCRIPTION_URL: optionalWsUrl,
  LOCATIONS_SUBSCRIPTION_URL: optionalWsUrl,
  CHANNELS_SUBSCRIPTION_URL: optionalWsUrl,
  MARKETPLACES_SUBSCRIPTION_URL: optionalWsUrl,
  EXCEPTIONS_SUBSCRIPTION_URL: optionalWsUrl,
  /** Events a gateway subscriber may have waiting; past it, only the latest per (sku, location) is kept. */
  SUBSCRIPTION_QUEUE_SIZE: z.coerce.number().int().min(1).max(100_000).default(100),
  SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(100_000).default(100),
  SUBSCRIPTIONS_PER_NODE: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  /** Interval of the gateway's pings to subgraph subscription servers. */
  SUBSCRIPTION_KEEPALIVE_MS: z.coerce.number().int().min(100).default(10_000),
  /** Interval of the gateway's pings to its graphql-ws clients; a client that has not answered by the next ping is disconnected. */
  SUBSCRIPTION_CLIENT_KEEPALIVE_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Open graphql-ws connections the gateway accepts from one client address; more are refused at the upgrade (HTTP 429). */
  WS_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(500),
  /** With authentication, how often an open socket's credentials are checked again: a revoked key or an expired token loses its socket (4403). */
  WS_AUTH_RECHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  /** Upper bound of the gateway's backoff when reconnecting to a subgraph's subscription server. */
  SUBSCRIPTION_RETRY_MAX_MS: z.coerce.number().int().min(10).default(10_000),
  SUPERGRAPH_CONFIG: z.string().min(1).default('supergraph.yaml'),
  /** How often the gateway's ops page (/ops) gathers its figures while someone watches it. */
  OPS_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /**
   * Which peers' X-Forwarded-For the gateway believes, for the caller's address (per-address limits of
   * anonymous callers, failed authentications, WebSocket connections): unset, none (the socket's
   * peer is the caller); a number of proxy hops; or addresses, CIDRs and `loopback`, `linklocal`,
   * `uniquelocal`, comma-separated, e.g. `10.0.0.0/8` for the load balancers' network.
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v): TrustProxy => (!v ? false : /^\d+$/.test(v) ? Number(v) : v.split(/[\s,]+/).filter(Boolean))),
  /** Scopes an anonymous request has under AUTH_MODE=enforce, space- or comma-separated (e.g. `availability:read`). */
  AUTH_PUBLIC_SCOPES: z
    .string()
    .default('')
    .transform((v) => [...new Set(v.split(/[\s,]+/).filter(Boolean))]),
  /** Shared secret of HS256 JWTs (at least 32 characters); HS256 tokens are refused without it. */
  AUTH_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** A file holding AUTH_JWT_SECRET (a mounted secret); see SECRET_FILE_SETTINGS. */
  AUTH_JWT_SECRET_FILE: z.string().min(1).optional(),
  /** JWKS of RS256/ES256 JWTs (the identity provider's `jwks_uri`); such tokens are refused without it. */
  AUTH_JWKS_URL: optionalUrl,
  /** Required `iss` of JWTs, when set. */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  /** Required `aud` of JWTs, when set. */
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  /** Failed authentications (a credential presented and refused) per caller address and minute; past them, 429 without checking. 0: not counted. */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** Longest lifetime of a JWT the gateway accepts (`exp` minus `iat`); every JWT must carry `exp`. */
  AUTH_JWT_MAX_LIFETIME_S: z.coerce.number().int().min(60).max(31 * 24 * 3600).default(24 * 3600),
  /** How long a gateway trusts an API key it looked up (revocations still apply at once, announced through Redis); 0 = read the database on every request. */
  AUTH_KEY_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** Requests per client and minute at the gateway, counted in Redis across replicas; 0 = no limit. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6000),
  /**
   * How long a gateway replica may hold requests of a busy client's budget taken ahead from Redis,
   * so that they cost no round trip each (at most what the client may spend in that time); 0 = every request counted in Redis.
   */
  RATE_LIMIT_LEASE_MS: z.coerce.number().int().min(0).max(1000).default(100),
  /** Per-client overrides of RATE_LIMIT_PER_MINUTE, e.g. `storefront=60000,partner-x=600` (0 = unlimited). */
  RATE_LIMITS: perClientNumbers('client=requestsPerMinute'),
  /** Largest estimated cost of an operation the gateway runs (1 per field, times list sizes from first/skus/ids arguments); 0 = no limit. */
  MAX_QUERY_COST: z.coerce.number().int().min(0).default(50_000),
  /** Deepest field nesting of an operation the gateway runs; 0 = no limit. */
  MAX_QUERY_DEPTH: z.coerce.number().int().min(0).default(12),
  /**
   * Most field selections of an operation once its fragments are expanded (a fragment counts each
   * time it is spread; aliases count), checked before its cost is estimated; always on.
   */
  MAX_QUERY_FIELDS: z.coerce.number().int().min(1).default(2000),
  /** Most tokens of an operation's text: the parser stops past them, before any validation (GRAPHQL_PARSE_FAILED); always on. */
  MAX_QUERY_TOKENS: z.coerce.number().int().min(100).default(15_000),
  /** Per-client overrides of MAX_QUERY_COST, e.g. `reporting=500000,partner-x=5000` (0 = unlimited). */
  MAX_QUERY_COSTS: perClientNumbers('client=maxCost'),
  /** Most operations in one batched HTTP request (a JSON array) at the gateway; a larger batch is refused whole with BATCH_TOO_LARGE. */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  /**
   * Who may introspect the gateway's schema (`__schema`, `__type`): `on` everyone, `off` nobody,
   * `admins` callers with the scope `admin` or `registry:admin`. Default: `admins` when
   * NODE_ENV=production, else `on`; see introspectionMode().
   */
  INTROSPECTION: z.enum(['on', 'off', 'admins']).optional(),
});

/** The schema registry, hosted by the gateway process. */
const registrySection = z.object({
  /** How often the gateway looks for a newer supergraph version in the registry database. */
  REGISTRY_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(1000),
  /** Registry API requests per client and minute (checks compose a supergraph); 0 = no limit. */
  REGISTRY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  /** A breaking change to something no client used in this many days is safe. */
  REGISTRY_USAGE_WINDOW_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** How often the gateway writes the field usage it accumulated to the registry. */
  REGISTRY_USAGE_FLUSH_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  /** Whether the gateway records field usage per client and operation (the registry's breaking-change checks need it; off only to measure its cost). */
  REGISTRY_USAGE_RECORDING: bool.default(true),
  /** Tries of a webhook delivery (5xx, timeout, network error) before it is given up and logged. */
  REGISTRY_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** First retry delay of a webhook delivery; doubles with every try. */
  REGISTRY_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).default(2000),
  /** How long a webhook receiver may take to answer. */
  REGISTRY_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** A check's or publish's composition that runs longer fails with COMPOSITION_TIMEOUT (it runs in a thread of its own). */
  REGISTRY_COMPOSITION_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  /** Compositions waiting or running at once; more are refused with RATE_LIMITED. */
  REGISTRY_COMPOSITION_QUEUE: z.coerce.number().int().min(1).max(1000).default(16),
  /** Webhook subscribers hear of a deprecated field this many days before its removal date. */
  REGISTRY_DEPRECATION_NOTICE_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  /** The registry's environments, comma-separated; must include `production` (where existing data lives). */
  REGISTRY_ENVIRONMENTS: environmentList.default(['staging', 'production']).refine((l) => l.includes('production'), 'must include production'),
  /** The environment whose supergraph this gateway serves and under which it records usage; one of REGISTRY_ENVIRONMENTS. */
  REGISTRY_ENVIRONMENT: environmentName.default('production'),
  /** Environments that take changes by promotion, comma-separated: a publish, rollback or removal there also needs `registry:promote:<subgraph>` (or registry:admin). Default: none. */
  REGISTRY_PROMOTION_REQUIRED: environmentList.default([]),
});

/** REGISTRY_ENVIRONMENT and REGISTRY_PROMOTION_REQUIRED must name environments of REGISTRY_ENVIRONMENTS. */
function registryEnvironmentProblems(cfg: Pick<Config, 'REGISTRY_ENVIRONMENTS' | 'REGISTRY_ENVIRONMENT' | 'REGISTRY_PROMOTION_REQUIRED'>): string[] {
  const known = cfg.REGISTRY_ENVIRONMENTS.join(', ');
  return [
    ...(cfg.REGISTRY_ENVIRONMENTS.includes(cfg.REGISTRY_ENVIRONMENT) ? [] : [`REGISTRY_ENVIRONMENT: "${cfg.REGISTRY_ENVIRONMENT}" is not one of REGISTRY_ENVIRONMENTS (${known})`]),
    ...cfg.REGISTRY_PROMOTION_REQUIRED.filter((e) => !cfg.REGISTRY_ENVIRONMENTS.includes(e)).map((e) => `REGISTRY_PROMOTION_REQUIRED: "${e}" is not one of REGISTRY_ENVIRONMENTS (${known})`),
  ];
}

/**
 * @throws ConfigError when REGISTRY_ENVIRONMENT (or REGISTRY_PROMOTION_REQUIRED) names an environment
 * REGISTRY_ENVIRONMENTS does not list (the registry's boot calls it: a config built by hand is checked too)
 */
export function assertRegistryEnvironments(cfg: Config): void {
  const problems = registryEnvironmentProblems(cfg);
  if (problems.length) throw new ConfigError(problems);
}

/** The inventory subgraph (and its reservation expiry in the jobs process). */
const inventorySection = z.object({
  /** How long inventory keeps the last availability it answered per (channel, SKU), served marked stale while MySQL is unreachable. */
  AVAILABILITY_SNAPSHOT_TTL_S: z.coerce.number().int().min(1).max(365 * 24 * 3600).default(7 * 24 * 3600),
  /** A channel's available-to-sell at or below this is LOW_STOCK. */
  LOW_STOCK_THRESHOLD: z.coerce.number().int().min(0).default(5),
  RESERVATION_EXPIRY_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  /** on: availability is answered from an in-memory read model kept by the stock and availability-rule streams; off: every read goes to MySQL. */
  AVAILABILITY_READ_MODEL: z.enum(['on', 'off']).default('on'),
  /** The read model answers only while it is known to have applied every event published more than this long ago; otherwise MySQL answers. */
  AVAILABILITY_READ_MODEL_MAX_LAG_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** SKUs the read model holds at most (each with every level of it); past it the least recently read are dropped and reloaded on their next read. */
  AVAILABILITY_READ_MODEL_MAX_SKUS: z.coerce.number().int().min(100).max(50_000_000).default(1_000_000),
  /** (channel, SKU) figures the read model keeps as it handed them out, the same object while unchanged (what kept answers go by); past it the oldest go. */
  AVAILABILITY_READ_MODEL_MAX_FIGURES: z.coerce.number().int().min(1).max(50_000_000).default(50_000),
  /** How long a READ_YOUR_WRITES read waits for the read model to apply every change committed before it; past it MySQL answers. */
  AVAILABILITY_READ_YOUR_WRITES_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(2000),
  /** MiB of availability entries' JSON each inventory process keeps to answer storefront queries with (api/availability-answers.ts); 0: none kept, every query runs. */
  AVAILABILITY_ANSWER_CACHE_MB: z.coerce.number().int().min(0).max(65_536).default(64),
});

/** The orders subgraph (and its order sweeper in the jobs process). */
const ordersSection = z.object({
  /** Inventory's GraphQL endpoint, which the orders subgraph and the order sweeper call; default: see ordersInventoryUrl. */
  ORDERS_INVENTORY_URL: optionalUrl,
  /** How long orders wait for one inventory call before treating inventory as unavailable. */
  ORDERS_INVENTORY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Time to live of an order's reservation until the order is confirmed (1 s to 7 days). */
  ORDER_RESERVATION_TTL_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(900),
  /** How often the jobs process looks for orders and order steps left unfinished. */
  ORDER_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /** An order still PENDING (or a step not applied in inventory) this long after it began is finished by the sweeper. */
  ORDER_PENDING_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** An order the sweeper still cannot finish this long after the unfinished work began is raised as a STUCK_ORDER problem (once). */
  ORDER_STUCK_AFTER_MS: z.coerce.number().int().min(0).default(10 * 60_000),
});

/** The marketplaces subgraph and marketplace sync in the jobs process. */
const marketplacesSection = z.object({
  /** Directory of marketplace credentials, one `<secret name>.json` file per connection secret (e.g. a mounted Kubernetes secret). */
  MARKETPLACE_SECRETS_DIR: z.string().min(1).default('secrets'),
  /**
   * Hosts (`host` for any port, or `host:port`) a connection's base URL may name besides the
   * marketplaces' documented API hosts, over http or https: a simulator, a recording proxy. Empty:
   * only the documented hosts, over https.
   */
  MARKETPLACE_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean).map((h) => h.toLowerCase())),
  /** Where marketplace order intake places and cancels orders (the orders subgraph); default orders on this host at ORDERS_PORT. */
  MARKETPLACE_ORDERS_URL: optionalUrl,
  /** How often order intake polls each marketplace connection for new and changed orders (Amazon getOrders refills one call a minute). */
  MARKETPLACE_INTAKE_POLL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** A connection's first poll takes orders changed this long before it (later polls resume from their stored cursor). */
  MARKETPLACE_INTAKE_LOOKBACK_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** How long one read of an Amazon notification queue waits for a message (SQS long polling, 1-20 s). */
  MARKETPLACE_NOTIFICATION_WAIT_S: z.coerce.number().int().min(1).max(20).default(20),
  /** Inventory's GraphQL endpoint, where marketplace pushes read available-to-sell; default: inventory on this host at INVENTORY_PORT. */
  MARKETPLACE_INVENTORY_URL: optionalUrl,
  /**
   * An ordinary change waits this long before its push, so the changes of a burst go out as one
   * push of the latest quantity; a change to or from zero goes at once.
   */
  MARKETPLACE_COALESCE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** Tries of a push that fails with a 5xx or a network error before it becomes a dead letter. */
  MARKETPLACE_PUSH_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** First retry delay of such a push; doubles with every try, with jitter. */
  MARKETPLACE_BACKOFF_MS: z.coerce.number().int().min(10).default(1000),
  /** A push held this long by a worker that stopped answering goes back to the queue. */
  MARKETPLACE_LOCK_MS: z.coerce.number().int().min(500).default(30_000),
  /** How often drift repair reads marketplaces' quantities back. */
  MARKETPLACE_DRIFT_INTERVAL_MS: z.coerce.number().int().min(1000).default(15 * 60 * 1000),
  /**
   * Protective channels: a SKU's demand rate is its units sold or reserved over this window (over its
   * last fifth when higher), and its unreported units come from the sales reported late within it.
   */
  PROTECT_WINDOW_MS: z.coerce.number().int().min(1000).max(24 * 3_600_000).default(15 * 60_000),
  /** Protective channels withhold the fewest units that cover the units at risk with this probability (they arrive as a Poisson process). */
  PROTECT_CONFIDENCE: z.coerce.number().gt(0).lt(1).default(0.95),
  /** SKUs per channel one drift-repair run reads back, least recently verified first. */
  MARKETPLACE_DRIFT_SKUS_PER_RUN: z.coerce.number().int().min(1).max(1_000_000).default(500),
  /** A marketplace quantity further than this from our available-to-sell is drift. */
  MARKETPLACE_DRIFT_TOLERANCE: z.coerce.number().int().min(0).default(0),
  /** How often the jobs process checks whether Redis lost its data (a restart without persistence) and resynchronises. */
  MARKETPLACE_EPOCH_CHECK_MS: z.coerce.number().int().min(100).default(5000),
  /** How often the jobs process re-reads marketplace connections (new accounts get a push worker). */
  MARKETPLACE_REFRESH_MS: z.coerce.number().int().min(100).default(5000),
  /**
   * For the marketplace simulator only (benchmarks, demos): its clocks run this many times faster,
   * so intake's buckets refill this much faster and Amazon shows orders this much sooner. Against a
   * real marketplace anything but 1 breaks its limits.
   */
  MARKETPLACE_TIME_SCALE: z.coerce.number().min(1).max(1000).default(1),
  /** A channel whose oldest change not yet pushed is this old raises a SYNC_LAG problem; it clears under half of it. */
  SYNC_LAG_THRESHOLD_MS: z.coerce.number().int().min(100).default(60_000),
});

/** The exceptions subgraph, and its feed, detection and webhooks in the jobs process. */
const exceptionsSection = z.object({
  /** How often anomaly detection runs over the movement ledger's daily figures and the sync trends. */
  ANOMALY_DETECTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
  /** Days of daily figures detection reads (the baseline and the recent days it judges). */
  ANOMALY_WINDOW_DAYS: z.coerce.number().int().min(14).max(400).default(90),
  /**
   * Scores above which a kind of finding fires, overriding the defaults: `KIND=score` pairs, e.g.
   * `SHRINKAGE=8,MOVEMENT_SPIKE=12` (the kinds are checked by the exceptions subgraph when it starts).
   */
  ANOMALY_THRESHOLDS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const out: Record<string, number> = {};
      for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
        const m = /^([A-Z_]+)=(\d+(?:\.\d+)?)$/.exec(pair);
        if (!m || Number(m[2]) <= 0) {
          ctx.addIssue({ code: 'custom', message: `"${pair}" is not KIND=score with a positive score` });
          return z.NEVER;
        }
        out[m[1]!] = Number(m[2]);
      }
      return out;
    }),
  /** Tries of one exception webhook delivery before it is given up (with exponential backoff). */
  EXCEPTION_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  EXCEPTION_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).default(2000),
  EXCEPTION_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
});

/** The jobs process itself: outbox relays and stream consumers. */
const jobsSection = z.object({
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  OUTBOX_POLL_MS: z.coerce.number().int().min(1).max(60_000).default(50),
  /** How long the relays other than inventory's wait after finding nothing, unless a writer's nudge wakes them first. */
  OUTBOX_IDLE_POLL_MS: z.coerce.number().int().min(1).max(600_000).default(250),
  REPLICA_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(30_000),
});

/** npm start, the seed and the CLI. */
const toolingSection = z.object({
  SEED_DEMO: bool.default(true),
  SEED_SKUS: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  /** The registry API the `omnistock registry` CLI talks to; default: the gateway on this host at GATEWAY_PORT. */
  REGISTRY_URL: optionalUrl,
  /** Credentials of the `omnistock registry` CLI, sent as a bearer token: an API key (or JWT) with registry scopes (not needed with --local). */
  REGISTRY_TOKEN: z.string().min(1).optional(),
  /** A file holding REGISTRY_TOKEN; see SECRET_FILE_SETTINGS. */
  REGISTRY_TOKEN_FILE: z.string().min(1).optional(),
  /** The GraphQL endpoint the `omnistock import` CLI records through; default: the gateway on this host at GATEWAY_PORT. */
  GATEWAY_URL: optionalUrl,
  /** Credentials of the `omnistock import` CLI, sent as a bearer token: an API key (or JWT) with inventory:write and availability:read. */
  GATEWAY_TOKEN: z.string().min(1).optional(),
  /** A file holding GATEWAY_TOKEN; see SECRET_FILE_SETTINGS. */
  GATEWAY_TOKEN_FILE: z.string().min(1).optional(),
  /** With SEED_DEMO, `npm start` also runs the marketplace simulator and connects the demo marketplace channels to it. */
  DEMO_MARKETPLACES: bool.default(true),
  MARKETPLACE_SIMULATOR_PORT: port.default(4030),
  /** How long `npm start` waits for a service it starts (or restarts) to answer /readyz; a machine busy with other work may need longer. */
  START_READY_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
});

/** The variables by the part of the system that reads them. */
const SECTIONS = {
  platform: platformSection,
  gateway: gatewaySection,
  registry: registrySection,
  inventory: inventorySection,
  orders: ordersSection,
  marketplaces: marketplacesSection,
  exceptions: exceptionsSection,
  jobs: jobsSection,
  tooling: toolingSection,
};

export const configSchema = z.object({
  ...platformSection.shape,
  ...gatewaySection.shape,
  ...registrySection.shape,
  ...inventorySection.shape,
  ...ordersSection.shape,
  ...marketplacesSection.shape,
  ...exceptionsSection.shape,
  ...jobsSection.shape,
  ...toolingSection.shape,
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A process of the system, and the parts of the configuration it reads (besides the platform's). */
const PROCESS_PARTS = {
  gateway: ['gateway', 'registry'],
  jobs: ['jobs', 'inventory', 'orders', 'marketplaces', 'exceptions'],
  inventory: ['inventory'],
  orders: ['orders'],
  locations: [],
  channels: [],
  marketplaces: ['marketplaces'],
  exceptions: ['exceptions'],
} as const satisfies Record<string, readonly Exclude<keyof typeof SECTIONS, 'platform'>[]>;
export type ProcessName = keyof typeof PROCESS_PARTS;

/**
 * Pure parser, for tests and for the process-wide singleton below. Without `process`, every
 * variable must be valid (the tooling, which runs every part). With `name`, only the platform's and
 * that process's own: a variable only another process reads is taken when valid and otherwise
 * left at its default (that process refuses it), so a subgraph does not fail on a gateway setting.
 */
export function parseConfig(env: Record<string, string | undefined>, name?: ProcessName, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): Config {
  // Empty strings mean "not set" so that `FOO= npm start` falls back to the default.
  const cleaned: Record<string, string> = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const own = name ? z.object(Object.assign({}, SECTIONS.platform.shape, ...PROCESS_PARTS[name].map((part) => SECTIONS[part].shape))) : configSchema;
  const secrets = readSecretFiles(cleaned, (key) => key in own.shape, readFile);
  const result = own.safeParse(cleaned);
  if (!result.success || secrets.problems.length) {
    // A value read from a file is named with its file, never quoted: it is a secret.
    const origin = (key: PropertyKey) => (secrets.fromFile.has(String(key)) ? ` (from ${String(key)}_FILE)` : '');
    throw new ConfigError([...secrets.problems, ...(result.error?.issues ?? []).map((i) => `${i.path.join('.')}${origin(i.path[0] ?? '')}: ${i.message}`)]);
  }
  if ('REGISTRY_ENVIRONMENT' in own.shape) {
    const problems = registryEnvironmentProblems(result.data as Config);
    if (problems.length) throw new ConfigError(problems);
  }
  const others = Object.entries(configSchema.shape)
    .filter(([key]) => !(key in own.shape))
    .map(([key, schema]) => {
      const parsed = (schema as z.ZodType).safeParse(cleaned[key]);
      return [key, parsed.success ? parsed.data : (schema as z.ZodType).parse(undefined)];
    });
  return { ...Object.fromEntries(others), ...result.data } as Config;
}

/**
 * Settings that hold a secret and may instead be read from a file named by `<NAME>_FILE` (a mounted
 * Kubernetes or Docker secret), so the secret is in no environment variable. The file is read once,
 * when the configuration is parsed (a rotated secret needs a restart); trailing newlines are dropped.
 * Setting both the value and its file is refused, as is a file that cannot be read or is empty: a
 * secret that was meant to come from a file never silently falls back to a default.
 * SERVICE_TOKEN_KEYS_FILE is read by lib/service-token.ts (a JWK set), but the same rule holds for it.
 */
export const SECRET_FILE_SETTINGS = ['MYSQL_URL', 'REDIS_URL', 'METRICS_TOKEN', 'AUTH_JWT_SECRET', 'REGISTRY_TOKEN', 'GATEWAY_TOKEN'] as const;

/**
 * Replaces, in `env`, each of SECRET_FILE_SETTINGS whose `_FILE` is set by the file's content.
 * Problems are reported for the settings `owned` (this process's); another's is read when it can be
 * and otherwise left unset, as its bad values are.
 */
function readSecretFiles(env: Record<string, string>, owned: (key: string) => boolean, readFile: (path: string) => string): { problems: string[]; fromFile: Set<string> } {
  const problems: string[] = [];
  const fromFile = new Set<string>();
  if (env.SERVICE_TOKEN_KEYS !== undefined && env.SERVICE_TOKEN_KEYS_FILE !== undefined) {
    problems.push('SERVICE_TOKEN_KEYS_FILE: set SERVICE_TOKEN_KEYS or SERVICE_TOKEN_KEYS_FILE, not both');
  }
  for (const key of SECRET_FILE_SETTINGS) {
    const fileKey = `${key}_FILE`;
    const path = env[fileKey];
    if (path === undefined) continue;
    const problem = (message: string) => {
      if (owned(key)) problems.push(`${fileKey}: ${message}`);
      delete env[key];
    };
    if (env[key] !== undefined) {
      problem(`set ${key} or ${fileKey}, not both`);
      continue;
    }
    let content: string;
    try {
      content = readFile(path).replace(/[\r\n]+$/, '');
    } catch (err) {
      problem(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    if (!content) {
      problem(`${path} is empty`);
      continue;
    }
    env[key] = content;
    fromFile.add(key);
  }
  return { problems, fromFile };
}

let cached: Config | undefined;

/**
 * The process's configuration, parsed on first use (`name`: the service this process runs, whose
 * part alone must be valid; none: all of it); exits the process when it is invalid.
 */
export function config(name?: ProcessName): Config {
  if (!cached) {
    try {
      cached = parseConfig(process.env, name);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
  }
  return cached;
}

/** This process's environment with some variables replaced (benchmarks run the system on their own ports and databases). */
export function configWith(overrides: Record<string, string>): Config {
  return parseConfig({ ...process.env, ...overrides });
}

export type SubgraphName = 'inventory' | 'orders' | 'locations' | 'channels' | 'marketplaces' | 'exceptions';
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ['inventory', 'orders', 'locations', 'channels', 'marketplaces', 'exceptions'];

export function subgraphPort(cfg: Config, name: SubgraphName): number {
  const ports: Record<SubgraphName, number> = {
    inventory: cfg.INVENTORY_PORT,
    orders: cfg.ORDERS_PORT,
    locations: cfg.LOCATIONS_PORT,
    channels: cfg.CHANNELS_PORT,
    marketplaces: cfg.MARKETPLACES_PORT,
    exceptions: cfg.EXCEPTIONS_PORT,
  };
  return ports[name];
}

/** Routing URL overrides for the gateway (the supergraph's own URLs apply when unset). */
export function subgraphUrlOverrides(cfg: Config): Partial<Record<SubgraphName, string>> {
  const out: Partial<Record<SubgraphName, string>> = {};
  if (cfg.INVENTORY_URL) out.inventory = cfg.INVENTORY_URL;
  if (cfg.ORDERS_URL) out.orders = cfg.ORDERS_URL;
  if (cfg.LOCATIONS_URL) out.locations = cfg.LOCATIONS_URL;
  if (cfg.CHANNELS_URL) out.channels = cfg.CHANNELS_URL;
  if (cfg.MARKETPLACES_URL) out.marketplaces = cfg.MARKETPLACES_URL;
  if (cfg.EXCEPTIONS_URL) out.exceptions = cfg.EXCEPTIONS_URL;
  return out;
}

/** graphql-ws URL overrides for the gateway (the supergraph config's `subscription_url`s apply when unset). */
export function subscriptionUrlOverrides(cfg: Config): Partial<Record<SubgraphName, string>> {
  const out: Partial<Record<SubgraphName, string>> = {};
  if (cfg.INVENTORY_SUBSCRIPTION_URL) out.inventory = cfg.INVENTORY_SUBSCRIPTION_URL;
  if (cfg.ORDERS_SUBSCRIPTION_URL) out.orders = cfg.ORDERS_SUBSCRIPTION_URL;
  if (cfg.LOCATIONS_SUBSCRIPTION_URL) out.locations = cfg.LOCATIONS_SUBSCRIPTION_URL;
  if (cfg.CHANNELS_SUBSCRIPTION_URL) out.channels = cfg.CHANNELS_SUBSCRIPTION_URL;
  if (cfg.MARKETPLACES_SUBSCRIPTION_URL) out.marketplaces = cfg.MARKETPLACES_SUBSCRIPTION_URL;
  if (cfg.EXCEPTIONS_SUBSCRIPTION_URL) out.exceptions = cfg.EXCEPTIONS_SUBSCRIPTION_URL;
  return out;
}

/** Where orders reach inventory's GraphQL API: ORDERS_INVENTORY_URL, else inventory on this host at INVENTORY_PORT. */
export function ordersInventoryUrl(cfg: Config): string {
  return cfg.ORDERS_INVENTORY_URL ?? `http://127.0.0.1:${cfg.INVENTORY_PORT}/graphql`;
}

/** Where marketplace order intake reaches orders: MARKETPLACE_ORDERS_URL, else orders on this host. */
export function marketplaceOrdersUrl(cfg: Config): string {
  return cfg.MARKETPLACE_ORDERS_URL ?? `http://127.0.0.1:${cfg.ORDERS_PORT}/graphql`;
}

/** Where marketplace pushes read available-to-sell: MARKETPLACE_INVENTORY_URL, else inventory on this host. */
export function marketplaceInventoryUrl(cfg: Config): string {
  return cfg.MARKETPLACE_INVENTORY_URL ?? `http://127.0.0.1:${cfg.INVENTORY_PORT}/graphql`;
}

export function databaseName(cfg: Config, subgraph: SubgraphName): string {
  return `${cfg.DB_PREFIX}_${subgraph}`;
}

/** The schema registry's database (it belongs to the gateway, beside the subgraphs' own). */
export function registryDatabaseName(cfg: Config): string {
  return `${cfg.DB_PREFIX}_registry`;
}

export type AuthMode = 'off' | 'enforce';

/** TRUST_PROXY: whose X-Forwarded-For to believe (false: nobody's; a number of hops; addresses and CIDRs). */
export type TrustProxy = false | number | string[];

export type IntrospectionMode = 'on' | 'off' | 'admins';

/** INTROSPECTION, defaulting to `admins` in production and `on` elsewhere. */
export function introspectionMode(cfg: Config): IntrospectionMode {
  return cfg.INTROSPECTION ?? (cfg.NODE_ENV === 'production' ? 'admins' : 'on');
}

/** GATEWAY_WORKERS as a number of processes (`auto`: one per core). */
export function gatewayWorkers(cfg: Config): number {
  return cfg.GATEWAY_WORKERS === 'auto' ? availableParallelism() : cfg.GATEWAY_WORKERS;
}

/** AUTH_MODE, defaulting to `enforce` in production and `off` elsewhere. */
export function authMode(cfg: Config): AuthMode {
  return cfg.AUTH_MODE ?? 'enforce';
}

/** Where the `omnistock import` CLI reaches the GraphQL API: GATEWAY_URL, else the gateway on this host. */
export function gatewayUrl(cfg: Config): string {
  return cfg.GATEWAY_URL ?? `http://${cfg.PUBLIC_HOST}:${cfg.GATEWAY_PORT}/graphql`;
}

/** Where the `omnistock registry` CLI reaches the registry API: REGISTRY_URL, else the gateway on this host. */
export function registryUrl(cfg: Config): string {
  return cfg.REGISTRY_URL ?? `http://${cfg.PUBLIC_HOST}:${cfg.GATEWAY_PORT}/registry/graphql`;
}
