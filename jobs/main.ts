import { config } from '../lib/config.js';
import { logger, setServiceName } from '../lib/logger.js';
import { closeOnSignals } from '../lib/server.js';
import { startTracing, tracingSettings } from '../lib/tracing.js';
import { startJobs } from './jobs.js';

setServiceName('jobs');
// Only the jobs process's part of the configuration must be valid here.
startTracing(tracingSettings(config('jobs'), 'jobs'));
try {
  const running = await startJobs(config());
  closeOnSignals(() => running.close());
} catch (err) {
  logger().fatal({ err }, 'jobs failed to start');
  process.exit(1);
}
