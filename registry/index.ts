/**
 * The schema registry's public interface: what the gateway, the jobs process and the tooling may
 * use. Everything else under registry/ is internal (checked by `gateway-imports-no-internals`).
 */
export { createRegistryApollo, operatorContext, REGISTRY_PATH, type IdentifyRequest } from './api/api.js';
export { OPERATOR } from './domain/principal.js';
export { CONSOLE_PATH, mountRegistryConsole } from './console/routes.js';
export { REGISTRY_MAINTENANCE_QUEUE, WEBHOOK_QUEUE } from './feeds/webhooks.js';
export { SUPERGRAPH_VERSION_HEADER, type RegistrySupergraph } from './feeds/supergraph-source.js';
export type { UsageRecorder } from './feeds/usage-recorder.js';
export { KeyRevocations } from './feeds/key-revocations.js';
export { ApiKeyService } from './services/api-keys.service.js';
export {
  openKeyStore,
  openRegistry,
  openRegistryDatabase,
  REGISTRY_ENTITIES,
  REGISTRY_MIGRATIONS,
  startRegistry,
  syncRegistryFromConfig,
  type Registry,
  type RunningRegistry,
} from './runtime.js';
