import cluster from 'node:cluster';
import { config, gatewayWorkers, subgraphUrlOverrides, subscriptionUrlOverrides } from '../lib/config.js';
import { runClusterPrimary } from '../lib/cluster.js';
import { logger, setServiceName } from '../lib/logger.js';
import { closeOnSignals } from '../lib/server.js';
import { startTracing, tracingSettings } from '../lib/tracing.js';
import { readSupergraphConfig } from '../contracts/composition.js';
import { startRegistryGateway } from './boot.js';

setServiceName('gateway');
// Only the gateway's (and its registry's) part of the configuration must be valid here.
const cfg = config('gateway');
const workers = gatewayWorkers(cfg);
if (workers > 1 && cluster.isPrimary) {
  // One gateway per worker on the same port; this process only supervises them.
  runClusterPrimary({ workers, shutdownTimeoutMs: cfg.SHUTDOWN_TIMEOUT_MS, log: logger() });
} else {
  startTracing(tracingSettings(cfg, 'gateway'));
  try {
    // The registry is the source of truth; supergraph.yaml only seeds an empty one.
    const running = await startRegistryGateway({
      cfg,
      seed: await readSupergraphConfig(cfg.SUPERGRAPH_CONFIG),
      urlOverrides: subgraphUrlOverrides(cfg),
      subscriptionUrls: subscriptionUrlOverrides(cfg),
      host: cfg.HOST,
      port: cfg.GATEWAY_PORT,
    });
    logger().info({ registry: running.registryUrl, supergraphVersion: running.supergraph.version }, 'serving the registry supergraph');
    closeOnSignals(() => running.close());
  } catch (err) {
    logger().fatal({ err }, 'gateway failed to start');
    process.exit(1);
  }
}
