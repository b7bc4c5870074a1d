import type { DataSource } from 'typeorm';
import { authMode, type Config } from '../../lib/config.js';
import { ApiKeyService } from './api-key.service.js';
import { Authenticator } from './authenticator.js';
import type { GatewayAuth } from './guard.js';
import { JwtVerifier } from './jwt.js';

export { AuthGuard, type GatewayAuth } from './guard.js';

/** The gateway's authentication from the configuration; API keys live in the gateway's (registry) database. */
export function gatewayAuth(cfg: Config, gatewayDatabase: DataSource): GatewayAuth {
  if (authMode(cfg) === 'off') return { mode: 'off' };
  const jwt = new JwtVerifier({
    secret: cfg.AUTH_JWT_SECRET,
    jwksUrl: cfg.AUTH_JWKS_URL,
    issuer: cfg.AUTH_JWT_ISSUER,
    audience: cfg.AUTH_JWT_AUDIENCE,
  });
  return { mode: 'enforce', authenticator: new Authenticator({ apiKeys: new ApiKeyService(gatewayDatabase), jwt, publicScopes: cfg.AUTH_PUBLIC_SCOPES }) };
}
