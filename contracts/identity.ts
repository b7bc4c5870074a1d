/** Who is calling the gateway, once credentials were checked (AUTH_MODE=enforce). */
export interface Identity {
  /** The client application: the API key's client, or the JWT's `client_id`, `azp` or `sub`. */
  clientId: string;
  scopes: string[];
  kind: 'api-key' | 'jwt';
  /** The API key's id and first characters (recorded as the actor in the registry); absent for JWTs. */
  key?: { id: string; prefix: string };
  /** The team that owns what it publishes in the registry (an API key's team); absent: its client id. */
  team?: string | null;
  /**
   * The contract whose API schema it sees (an API key's, or a JWT's `contract` claim): its
   * operations are validated against that schema. Absent: the whole API schema.
   */
  contract?: string | null;
}

/** A request without credentials: it has AUTH_PUBLIC_SCOPES only. */
export interface Anonymous {
  clientId: null;
  scopes: string[];
  kind: 'anonymous';
}

export type Caller = Identity | Anonymous;

/** Prefix of API keys. */
export const API_KEY_PREFIX = 'osk_';

/** Prefix of the registry tokens issued before the key store was unified; they are API keys now and keep working. */
export const LEGACY_REGISTRY_TOKEN_PREFIX = 'osr_';

/** Whether a bearer token is an API key (either prefix) rather than a JWT. */
export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX) || token.startsWith(LEGACY_REGISTRY_TOKEN_PREFIX);
}
