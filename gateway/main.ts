import { config, subgraphUrlOverrides, subscriptionUrlOverrides } from '../lib/config.js';
import { logger, setServiceName } from '../lib/logger.js';
import { closeOnSignals } from '../lib/server.js';
import { compose, formatCompositionErrors, readSupergraphConfig } from './compose.js';
import { startGateway } from './gateway.js';

setServiceName('gateway');
const cfg = config();
try {
  const sources = await readSupergraphConfig(cfg.SUPERGRAPH_CONFIG);
  const composed = compose(sources);
  if (!composed.ok) throw new Error(`Composition failed:\n${formatCompositionErrors(composed.errors)}`);
  const running = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: subgraphUrlOverrides(cfg),
    subscriptionUrls: {
      ...Object.fromEntries(sources.filter((s) => s.subscriptionUrl).map((s) => [s.name, s.subscriptionUrl])),
      ...subscriptionUrlOverrides(cfg),
    },
    host: cfg.HOST,
    port: cfg.GATEWAY_PORT,
  });
  closeOnSignals(() => running.close());
} catch (err) {
  logger().fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
