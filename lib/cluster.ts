import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';

const METRICS_REQUEST = 'omnistock:cluster-metrics';

interface MetricsMessage {
  type: typeof METRICS_REQUEST;
  id: string;
  text?: string;
  error?: string;
}

const isMetricsMessage = (m: unknown): m is MetricsMessage => !!m && typeof m === 'object' && (m as MetricsMessage).type === METRICS_REQUEST;

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
 * every worker's registry, so /metrics on any worker shows the whole process group), and on
 * SIGTERM/SIGINT stops them all gracefully.
 */
export function runClusterPrimary(settings: ClusterSettings): void {
  const { workers, log } = settings;
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let backoffMs = 1000;

  const fork = () => {
    const worker = cluster.fork();
    const startedAt = Date.now();
    worker.on('message', (message: unknown) => {
      if (!isMetricsMessage(message)) return;
      aggregator.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: METRICS_REQUEST, id: message.id, text }),
        (err: Error) => worker.isConnected() && worker.send({ type: METRICS_REQUEST, id: message.id, error: err.message }),
      );
    });
    worker.once('exit', (code, signal) => {
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
 * In a cluster worker: registers this worker's registry for the primary's aggregation and returns
 * how /metrics reads the whole cluster's metrics; null outside a cluster (the registry is read as is).
 */
export function clusterMetricsReader(registry: Registry): (() => Promise<string>) | null {
  if (!cluster.isWorker || !process.send) return null;
  // Constructing one installs prom-client's listener that answers the primary with this worker's registries.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage(message)) return;
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
      process.send!({ type: METRICS_REQUEST, id });
    });
}
