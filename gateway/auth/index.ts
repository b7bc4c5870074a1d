import { authMode, type Config } from '../../lib/config.js';
import { CredentialCache } from '../../lib/credential-cache.js';
import { Authenticator, type ApiKeyStore } from './authenticator.js';
import type { GatewayAuth } from './guard.js';
import { JwtVerifier } from './jwt.js';

export { AuthGuard, type GatewayAuth } from './guard.js';
export { AuthLockouts } from './lockouts.js';

/**
 * API keys (the registry's key store) and JWTs, whatever AUTH_MODE is: the gateway uses it under
 * AUTH_MODE=enforce, the registry API always.
 */
export function createAuthenticator(cfg: Config, apiKeys: ApiKeyStore): Authenticator {
  const jwt = new JwtVerifier(
    {
      secret: cfg.AUTH_JWT_SECRET,
      jwksUrl: cfg.AUTH_JWKS_URL,
      issuer: cfg.AUTH_JWT_ISSUER,
      audience: cfg.AUTH_JWT_AUDIENCE,
      maxLifetimeS: cfg.AUTH_JWT_MAX_LIFETIME_S,
    },
    // A storefront sends the same token with every request: its signature is checked once per AUTH_KEY_CACHE_MS.
    cfg.AUTH_KEY_CACHE_MS > 0 ? new CredentialCache(cfg.AUTH_KEY_CACHE_MS) : undefined,
  );
  return new Authenticator({ apiKeys, jwt, publicScopes: cfg.AUTH_PUBLIC_SCOPES });
}

/** The gateway's authentication from the configuration: `authenticator` under AUTH_MODE=enforce. */
export function gatewayAuth(cfg: Config, authenticator: Authenticator): GatewayAuth {
  return { mode: authMode(cfg), authenticator };
}
