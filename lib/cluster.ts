import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { Logger } from 'pino';

/** One worker's registry as `getMetricsAsJSON` gives it, which `AggregatorRegistry.aggregate` sums. */
type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** A worker asks the primary for the cluster's metrics (answered with `text` or `error`). */
const CLUSTER_METRICS = 'omnistock:cluster-metrics';
/** The primary asks a serving worker for its own registry (answered with `metrics`). */
const WORKER_METRICS = 'omnistock:worker-metrics';
const COLLECT_TIMEOUT_MS = 5000;

interface MetricsMessage {
  type: typeof CLUSTER_METRICS | typeof WORKER_METRICS;
  id: string;
  text?: string;
  metrics?: WorkerMetrics;
  error?: string;
}

const isMetricsMessage = (m: unknown, type: MetricsMessage['type']): m is MetricsMessage => !!m && typeof m === 'object' && (m as MetricsMessage).type === type;

export interface ClusterSettings {
  workers: number;
  /** How long the workers get to drain on SIGTERM/SIGINT before they are killed. */
  shutdownTimeoutMs: number;
  log: Logger;
}

/**
 * The primary of a cluster of `workers` processes serving one port (Node's cluster module hands
 * connections out round-robin): forks them, forks a replacement when one dies (backing off when
 * they keep dying), answers their requests for the cluster's metrics (prom-client's aggregation of
 * the registries of the workers serving, so /metrics on any worker shows the whole process group),
 * and on SIGTERM/SIGINT stops them all gracefully.
 */
export function runClusterPrimary(settings: ClusterSettings): void {
  const { workers, log } = settings;
  // Workers that listen: one still starting (a replacement) has served nothing and is not asked.
  const serving = new Set<Worker>();
  const collecting = new Map<string, (from: Worker, answer: MetricsMessage | null) => void>();
  let stopping = false;
  let backoffMs = 1000;

  /** Every serving worker's registry, summed; a worker that exits meanwhile is left out. */
  const clusterMetrics = () =>
    new Promise<string>((resolve, reject) => {
      const id = randomUUID();
      const asked = new Set([...serving].filter((w) => w.isConnected()));
      const parts: WorkerMetrics[] = [];
      const timer = setTimeout(() => finish(new Error(`${asked.size} gateway worker(s) did not send their metrics within ${COLLECT_TIMEOUT_MS} ms`)), COLLECT_TIMEOUT_MS);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        collecting.delete(id);
        if (err) reject(err);
        else resolve(AggregatorRegistry.aggregate(parts).metrics());
      };
      collecting.set(id, (from, answer) => {
        if (!asked.delete(from)) return;
        if (answer?.error) return finish(new Error(answer.error));
        if (answer?.metrics) parts.push(answer.metrics);
        if (asked.size === 0) finish();
      });
      if (asked.size === 0) return finish();
      for (const w of asked) w.send({ type: WORKER_METRICS, id });
    });

  const fork = () => {
    const worker = cluster.fork();
    const startedAt = Date.now();
    worker.on('listening', () => serving.add(worker));
    worker.on('message', (message: unknown) => {
      if (isMetricsMessage(message, WORKER_METRICS)) return collecting.get(message.id)?.(worker, message);
      if (!isMetricsMessage(message, CLUSTER_METRICS)) return;
      clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: CLUSTER_METRICS, id: message.id, text }),
        (err: Error) => worker.isConnected() && worker.send({ type: CLUSTER_METRICS, id: message.id, error: err.message }),
      );
    });
    worker.once('exit', (code, signal) => {
      serving.delete(worker);
      for (const answer of [...collecting.values()]) answer(worker, null);
      if (stopping) return;
      // A worker that ran a while gets replaced at once; one that dies on start is retried ever more slowly.
      backoffMs = Date.now() - startedAt > 60_000 ? 1000 : Math.min(backoffMs * 2, 30_000);
      log.error({ pid: worker.process.pid, code, signal, restartInMs: backoffMs }, 'gateway worker died; starting another');
      setTimeout(() => !stopping && fork(), backoffMs).unref();
    });
  };
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, 'gateway cluster started');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping the gateway workers');
    const running = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    const timer = setTimeout(() => {
      log.error('gateway workers did not stop in time; killing them');
      for (const w of running) w.process.kill('SIGKILL');
      process.exit(1);
    }, settings.shutdownTimeoutMs + 1000);
    timer.unref();
    Promise.all(running.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : (w.once('exit', () => resolve()), w.process.kill('SIGTERM')))))).then(() =>
      process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const pending = new Map<string, { resolve: (text: string) => void; reject: (err: Error) => void }>();

/**
 * In a cluster worker: answers the primary's requests for this worker's registry and returns how
 * /metrics reads the whole cluster's metrics; null outside a cluster (the registry is read as is).
 */
export function clusterMetricsReader(registry: Registry): (() => Promise<string>) | null {
  if (!cluster.isWorker || !process.send) return null;
  process.on('message', (message: unknown) => {
    if (isMetricsMessage(message, WORKER_METRICS)) {
      registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: WORKER_METRICS, id: message.id, metrics }),
        (err: Error) => process.send?.({ type: WORKER_METRICS, id: message.id, error: err.message }),
      );
      return;
    }
    if (!isMetricsMessage(message, CLUSTER_METRICS)) return;
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiting.reject(new Error(message.error));
    else waiting.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = randomUUID();
      pending.set(id, { resolve, reject });
      process.send!({ type: CLUSTER_METRICS, id });
    });
}
