import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A Prometheus registry per service (several services share a process in tests), with Node's
 * default process metrics (heap, event loop lag, GC) and a `service` label.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
