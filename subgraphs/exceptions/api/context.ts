import { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Config } from '../../../lib/config.js';
import { primaryReads } from '../../../lib/read-replicas.js';
import { createRedis, redisTarget } from '../../../lib/redis.js';
import type { BaseContext, SubgraphRuntime } from '../../../lib/subgraph.js';
import { exceptionStore } from '../data/exception.store.js';
import { UNRESOLVED_STATES } from '../domain/exception-rules.js';
import { AnomalyService } from '../services/anomaly.service.js';
import { DetectionService } from '../services/detection.service.js';
import { ExceptionService } from '../services/exception.service.js';
import { LiveExceptions } from '../services/live-exceptions.js';
import { ExceptionWebhookService } from '../services/webhook.service.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface ExceptionsContext extends BaseContext {
  exceptions: ExceptionService;
  anomalies: AnomalyService;
  detection: DetectionService;
  webhooks: ExceptionWebhookService;
  live: LiveExceptions;
  loaders: Loaders;
}

/** The exceptions' services over a database: the subgraph's, and the jobs process's feed and detection. */
export function createExceptionServices(ds: DataSource, cfg: Pick<Config, 'ANOMALY_WINDOW_DAYS' | 'ANOMALY_THRESHOLDS'>) {
  const anomalies = new AnomalyService(ds, { windowDays: cfg.ANOMALY_WINDOW_DAYS, thresholds: cfg.ANOMALY_THRESHOLDS });
  const exceptions = new ExceptionService(ds, anomalies);
  return { anomalies, exceptions, detection: new DetectionService(ds, anomalies, exceptions) };
}

export function createContext(ds: DataSource, runtime: SubgraphRuntime) {
  const { cfg } = runtime;
  const services = createExceptionServices(ds, cfg);
  // Deliveries are queued by the jobs process, which reads the `exception` events; this process only keeps the list.
  const webhooks = new ExceptionWebhookService(ds, null);
  const live = new LiveExceptions(createRedis(redisTarget(cfg)), cfg.REDIS_KEY_PREFIX, async (id) => (await services.exceptions.byIds(primaryReads(ds), [id]))[0] ?? null);
  runtime.onClose(async () => {
    await live.close();
  });
  new Gauge({
    name: 'omnistock_exceptions_unresolved',
    help: 'Exceptions OPEN or ACKNOWLEDGED, by kind and severity (read from the database at each scrape)',
    labelNames: ['kind', 'severity'] as const,
    registers: [runtime.metrics],
    async collect() {
      this.reset();
      for (const { kind, severity, count } of await exceptionStore.countByKindAndSeverity(ds.manager, UNRESOLVED_STATES)) {
        this.set({ kind, severity }, count);
      }
    },
  });
  return (base: BaseContext): ExceptionsContext => ({ ...base, ...services, webhooks, live, loaders: createLoaders(services.exceptions, base.reads) });
}
