/** Who is calling the gateway, once credentials were checked (AUTH_MODE=enforce). */
export interface Identity {
  /** The client application: the API key's client, or the JWT's `client_id`, `azp` or `sub`. */
  clientId: string;
  scopes: string[];
  kind: 'api-key' | 'jwt';
}

/** A request without credentials: it has AUTH_PUBLIC_SCOPES only. */
export interface Anonymous {
  clientId: null;
  scopes: string[];
  kind: 'anonymous';
}

export type Caller = Identity | Anonymous;

/** Prefix of gateway API keys (registry tokens use `osr_`). */
export const API_KEY_PREFIX = 'osk_';
