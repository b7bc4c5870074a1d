import type { DataSource } from 'typeorm';
import { authMode, type Config } from '../../lib/config.js';
import { logger } from '../../lib/logger.js';
import { ApiKeyService } from './api-key.service.js';
import { CredentialCache, KeyRevocations } from './key-cache.js';
import { Authenticator } from './authenticator.js';
import type { GatewayAuth } from './guard.js';
import { JwtVerifier } from './jwt.js';

export { AuthGuard, type GatewayAuth } from './guard.js';

/**
 * API keys (in the gateway's registry database) and JWTs, whatever AUTH_MODE is: the gateway uses it
 * under AUTH_MODE=enforce, the registry API always.
 */
export async function startAuthenticator(cfg: Config, gatewayDatabase: DataSource): Promise<Authenticator> {
  const jwt = new JwtVerifier(
    {
      secret: cfg.AUTH_JWT_SECRET,
      jwksUrl: cfg.AUTH_JWKS_URL,
      issuer: cfg.AUTH_JWT_ISSUER,
      audience: cfg.AUTH_JWT_AUDIENCE,
    },
    // A storefront sends the same token with every request: its signature is checked once per AUTH_KEY_CACHE_MS.
    cfg.AUTH_KEY_CACHE_MS > 0 ? new CredentialCache(cfg.AUTH_KEY_CACHE_MS) : undefined,
  );
  const apiKeys = new ApiKeyService(gatewayDatabase, {
    cache: cfg.AUTH_KEY_CACHE_MS > 0 ? new CredentialCache(cfg.AUTH_KEY_CACHE_MS) : undefined,
    revocations: new KeyRevocations(cfg.REDIS_URL, cfg.REDIS_KEY_PREFIX, logger().child({ component: 'auth' })),
  });
  await apiKeys.start();
  return new Authenticator({ apiKeys, jwt, publicScopes: cfg.AUTH_PUBLIC_SCOPES });
}

/** The gateway's authentication from the configuration: `authenticator` under AUTH_MODE=enforce. */
export function gatewayAuth(cfg: Config, authenticator: Authenticator): GatewayAuth {
  if (authMode(cfg) === 'off') return { mode: 'off' };
  return { mode: 'enforce', authenticator };
}
