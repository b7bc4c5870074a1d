import type { MarketplaceKind } from '../connectors/types.js';

/**
 * Where a connection may send its credentials, and which credentials it may use: a caller who may
 * set connections must not be able to send a marketplace token to a host of its choosing, nor push
 * with another channel's or account's credentials.
 */

/** The API hosts each marketplace documents (production and sandbox), reached over https only. */
const DOCUMENTED_HOSTS: Record<MarketplaceKind, (host: string) => boolean> = {
  // SP-API regional endpoints and their sandboxes.
  AMAZON: (h) => /^(sandbox\.)?sellingpartnerapi-(na|eu|fe)\.amazon\.com$/.test(h),
  EBAY: (h) => h === 'api.ebay.com' || h === 'api.sandbox.ebay.com',
  WALMART: (h) => h === 'marketplace.walmartapis.com' || h === 'sandbox.walmartapis.com',
  // A shop's own Admin API host.
  SHOPIFY: (h) => /^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$/.test(h),
};

/**
 * Why `baseUrl` may not receive this marketplace's credentials, or null when it may: the
 * marketplace's documented hosts over https on the default port, or a `host` / `host:port` the
 * operator listed (MARKETPLACE_ALLOWED_HOSTS: a simulator, a recording proxy), over http or https.
 */
export function endpointProblem(kind: MarketplaceKind, baseUrl: string, allowedHosts: readonly string[]): string | null {
  return urlProblem(baseUrl, allowedHosts, DOCUMENTED_HOSTS[kind], `a documented ${kind} API host`);
}

/**
 * Why an Amazon notification queue URL may not receive requests signed with the connection's AWS key,
 * or null when it may: Amazon SQS (`sqs.<region>.amazonaws.com`) over https, or a listed host.
 */
export function queueProblem(queueUrl: string, allowedHosts: readonly string[]): string | null {
  return urlProblem(queueUrl, allowedHosts, (h) => /^sqs\.[a-z0-9-]+\.amazonaws\.com$/.test(h), 'an Amazon SQS host');
}

function urlProblem(raw: string, allowedHosts: readonly string[], documented: (host: string) => boolean, what: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  const host = url.hostname.toLowerCase();
  const listed = allowedHosts.some((entry) => entry === host || entry === url.host.toLowerCase());
  if (listed && (url.protocol === 'https:' || url.protocol === 'http:')) return null;
  if (url.protocol === 'https:' && url.port === '' && documented(host)) return null;
  return `is not ${what} over https (${host}); list it in MARKETPLACE_ALLOWED_HOSTS to allow it`;
}

/** The fields of a secret that say what it was issued for; the others are credentials. */
export interface SecretBinding {
  kind?: string;
  accountId?: string;
  channel?: string;
}

/**
 * Why a secret may not be used by this connection, or null when it may: a secret names the
 * marketplace (`kind`), the account (`accountId`) and the channel (`channel`: its code) it was issued
 * for, and only that channel's connection to that account uses it.
 */
export function bindingProblem(secret: SecretBinding, connection: { kind: MarketplaceKind; accountId: string; channelCode: string }): string | null {
  const missing = (['kind', 'accountId', 'channel'] as const).filter((k) => !secret[k]);
  if (missing.length) return `it does not say what it was issued for (${missing.join(', ')} missing)`;
  if (secret.kind !== connection.kind || secret.accountId !== connection.accountId) {
    return `it was issued for ${secret.kind} account ${secret.accountId}, not ${connection.kind} account ${connection.accountId}`;
  }
  if (secret.channel !== connection.channelCode) return `it was issued for channel ${secret.channel}, not ${connection.channelCode}`;
  return null;
}

/** Longest marketplace message kept with a dead letter. */
export const MAX_STORED_MESSAGE = 1000;

/**
 * A marketplace's message as stored and shown (dead letters, last errors): anything that looks like
 * a credential (bearer tokens, long opaque strings, `token=`/`secret=`-style pairs) masked, and cut
 * to MAX_STORED_MESSAGE characters. Marketplaces echo requests in their errors.
 */
export function redactMessage(message: string): string {
  const masked = message
    .replace(/\b(bearer|basic)\s+[^\s"',;]+/gi, '$1 [redacted]')
    .replace(/\b([\w-]*(token|secret|password|signature|authorization|api[-_]?key)[\w-]*)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi, '$1$3[redacted]')
    .replace(/[A-Za-z0-9+_=-]{32,}/g, '[redacted]');
  return masked.length > MAX_STORED_MESSAGE ? `${masked.slice(0, MAX_STORED_MESSAGE - 1)}…` : masked;
}
