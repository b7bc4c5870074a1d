import { config, subgraphUrlOverrides } from '../lib/config.js';
import { logger, setServiceName } from '../lib/logger.js';
import { closeOnSignals } from '../lib/server.js';
import { compose, formatCompositionErrors, readSupergraphConfig } from './compose.js';
import { startGateway } from './gateway.js';

setServiceName('gateway');
const cfg = config();
try {
  const composed = compose(await readSupergraphConfig(cfg.SUPERGRAPH_CONFIG));
  if (!composed.ok) throw new Error(`Composition failed:\n${formatCompositionErrors(composed.errors)}`);
  const running = await startGateway({
    supergraphSdl: composed.supergraphSdl,
    urlOverrides: subgraphUrlOverrides(cfg),
    host: cfg.HOST,
    port: cfg.GATEWAY_PORT,
  });
  closeOnSignals(() => running.close());
} catch (err) {
  logger().fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
