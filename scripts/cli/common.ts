/**
 * What every `omnistock` area shares: how an answer is printed (text, or JSON with --json), how a
 * failed action ends (one line on stderr, a non-zero exit), and one GraphQL call to an API as the
 * caller's credentials.
 */
import type { DomainError } from '../../lib/errors.js';
import type { GraphQLCall } from '../../contracts/sales-import.js';

/** Prints `value` as JSON with --json, else the text: stdout is the answer, so scripts can read it. */
export function print(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/**
 * Runs an action; an error prints one line on stderr (with its code when it has one) and exits 1.
 * An action may return an exit code of its own (e.g. a check that failed, input that was refused).
 */
export function run<A extends unknown[]>(action: (...args: A) => Promise<number | void>) {
  return async (...args: A) => {
    try {
      const code = await action(...args);
      if (code) process.exitCode = code;
    } catch (err) {
      // A domain error (lib/errors.ts, not imported here: it loads Apollo Server, seconds for a CLI that talks to an API) carries its code.
      const code = err instanceof Error && 'details' in err && typeof (err as DomainError).code === 'string' ? `${(err as DomainError).code}: ` : '';
      process.stderr.write(`✖ ${code}${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

/** A GraphQL error an API answered, with its code (FORBIDDEN, NOT_FOUND, …) in the message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(code ? `${code}: ${message}` : message);
  }
}

export interface ApiErrorShape {
  message: string;
  extensions?: { code?: unknown };
}

/** The answer's data. @throws ApiError with the first error, if any (a partial answer is a failure to a command) */
export function unwrap<T>(body: { data?: unknown; errors?: readonly ApiErrorShape[] }): T {
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, typeof error.extensions?.code === 'string' ? error.extensions.code : undefined);
  return body.data as T;
}

/**
 * One GraphQL request to `url` as the token's client (no token: anonymous, which AUTH_MODE=off
 * serves). `clientId` names the caller only where nothing authenticates it (AUTH_MODE=off); with
 * credentials the gateway takes the client from them. An unreachable API or an answer that is not
 * JSON comes back as an error, not a throw of fetch's own.
 */
export function graphqlCall(url: string, token: string | undefined, clientId: string): GraphQLCall {
  return async (query, variables) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), 'x-client-id': clientId },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      throw new Error(`Cannot reach ${url}: ${(err as Error).message}`);
    }
    return (await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status} from ${url}` }] }))) as Awaited<ReturnType<GraphQLCall>>;
  };
}
