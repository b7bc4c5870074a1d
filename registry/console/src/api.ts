/** The console's one way to the registry: GraphQL over fetch to /registry/graphql, the credential in a header. */

const TOKEN_KEY = 'omnistock.registry.token';
export const API_PATH = '/registry/graphql';

/** The key or JWT the user signed in with: kept for this tab only (sessionStorage), never in a URL. */
export const credential = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

const ENVIRONMENT_KEY = 'omnistock.registry.environment';
export const DEFAULT_ENVIRONMENT = 'production';

/** The registry environment the user picked in the header: remembered for this tab (sessionStorage); production until one is picked. */
export const chosenEnvironment = {
  get: (): string => sessionStorage.getItem(ENVIRONMENT_KEY) ?? DEFAULT_ENVIRONMENT,
  set: (environment: string) => sessionStorage.setItem(ENVIRONMENT_KEY, environment),
  clear: () => sessionStorage.removeItem(ENVIRONMENT_KEY),
};

/** An error the registry answered with: its stable code (FORBIDDEN, UNAUTHENTICATED, NOT_FOUND…) and message. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

/**
 * Runs a registry API operation as the signed-in user.
 * @throws RegistryError with the first error's code (a network failure: NETWORK_ERROR)
 */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = credential.get()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(API_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new RegistryError(`The registry could not be reached: ${(err as Error).message}`, 'NETWORK_ERROR');
  }
  let body: GraphQLAnswer<T>;
  try {
    body = (await res.json()) as GraphQLAnswer<T>;
  } catch {
    throw new RegistryError(`The registry answered HTTP ${res.status} without JSON`, `HTTP_${res.status}`);
  }
  const [first] = body.errors ?? [];
  if (first) {
    const { code, ...details } = first.extensions ?? {};
    throw new RegistryError(first.message, code ?? 'INTERNAL_SERVER_ERROR', details);
  }
  if (!body.data) throw new RegistryError(`The registry answered HTTP ${res.status} without data`, `HTTP_${res.status}`);
  return body.data;
}

/** The signed-in caller, as `whoami` answers. */
export interface Me {
  name: string;
  clientId: string | null;
  team: string | null;
  admin: boolean;
  scopes: string[];
}

/** What the caller's scopes let it use; the server checks every call again, this only shapes the page. */
export function abilities(me: Me) {
  const has = (action: string, target: string) => me.admin || me.scopes.includes(`registry:${action}:${target}`) || me.scopes.includes(`registry:${action}:*`);
  const registryScopes = me.scopes.filter((s) => s.startsWith('registry:'));
  return {
    admin: me.admin,
    readsAll: has('read', '*'),
    /** Reads something: any subgraph scope of read, check, publish, promote or approve. */
    readsSome: me.admin || registryScopes.some((s) => /^registry:(read|check|publish|promote|approve):/.test(s)),
    /** Reads contracts: registry:read:* or an admin; only an admin changes them. */
    contracts: has('read', '*'),
    documents: me.admin || registryScopes.some((s) => s.startsWith('registry:documents:')),
    approve: (subgraph: string) => has('approve', subgraph),
    publish: (subgraph: string) => has('publish', subgraph),
    promote: (subgraph: string) => has('promote', subgraph),
  };
}
export type Abilities = ReturnType<typeof abilities>;
