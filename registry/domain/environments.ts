import { BadUserInputError } from '../../lib/errors.js';

/** The environment every existing client, key and gateway means when it names none. */
export const PRODUCTION = 'production';

/** The registry's environments (REGISTRY_ENVIRONMENTS) and which of them only a promotion may change (REGISTRY_PROMOTION_REQUIRED). */
export interface EnvironmentSettings {
  names: readonly string[];
  promotionRequired: readonly string[];
}

export const DEFAULT_ENVIRONMENTS: EnvironmentSettings = { names: ['staging', PRODUCTION], promotionRequired: [] };

/**
 * The environment a request names (production when it names none).
 * @throws BadUserInputError for an environment REGISTRY_ENVIRONMENTS does not list
 */
export function environmentOf(settings: EnvironmentSettings, name: string | null | undefined, path = 'environment'): string {
  const environment = name ?? PRODUCTION;
  if (!settings.names.includes(environment)) {
    throw new BadUserInputError(`Unknown registry environment "${environment}": the registry has ${settings.names.join(', ')}`, [
      { path, message: `one of ${settings.names.join(', ')}` },
    ]);
  }
  return environment;
}

/** The environments whose usage a check in `environment` classifies breaking changes by: production's and its own. */
export function usageEnvironments(environment: string): string[] {
  return [...new Set([PRODUCTION, environment])];
}
