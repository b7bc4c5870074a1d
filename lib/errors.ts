import { HeaderMap } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { z } from 'zod';
import { isDatabaseUnavailable } from './db.js';
import { logger, requestScope } from './logger.js';
import './zod-messages.js';

export type DomainErrorCode =
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'INSUFFICIENT_STOCK'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'RATE_LIMITED'
  | 'QUERY_TOO_COMPLEX'
  | 'OPERATION_NOT_TRUSTED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'DATABASE_UNAVAILABLE'
  | 'SUBGRAPH_UNAVAILABLE';

/** Base of every error a client may see as is: a stable code plus structured details. */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  /** `hint`: what else may explain it, appended to the message. */
  constructor(entity: string, id: string | number, opts: { hint?: string } = {}) {
    super(`${entity} ${JSON.stringify(id)} not found${opts.hint ? `. ${opts.hint}` : ''}`, { entity, id });
  }
}

export interface InputIssue {
  path: string;
  message: string;
}

export class BadUserInputError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(message: string, issues: InputIssue[] = []) {
    super(message, { issues });
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT' as const;
}

export class InsufficientStockError extends DomainError {
  readonly code = 'INSUFFICIENT_STOCK' as const;
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN' as const;
}

/** No credentials, or credentials that are unknown, expired or revoked. */
export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED' as const;
}

export class RateLimitedError extends DomainError {
  readonly code = 'RATE_LIMITED' as const;
}

/** An operation over the gateway's cost or depth limit (MAX_QUERY_COST, MAX_QUERY_DEPTH). */
export class QueryTooComplexError extends DomainError {
  readonly code = 'QUERY_TOO_COMPLEX' as const;
}

/** An operation a client whose policy is ENFORCE has not registered as a trusted document (HTTP 403). */
export class OperationNotTrustedError extends DomainError {
  readonly code = 'OPERATION_NOT_TRUSTED' as const;
}

/** A documentId (or persisted-query hash) no client registered (HTTP 400). */
export class PersistedQueryNotFoundError extends DomainError {
  readonly code = 'PERSISTED_QUERY_NOT_FOUND' as const;
}

/** A request body over MAX_BODY_BYTES (HTTP 413), refused before it is parsed. */
export class PayloadTooLargeError extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE' as const;
}

/** An HTTP request GraphQL cannot even read: a body that is not JSON, or of a media type not accepted (HTTP 400/415). */
export class BadRequestError extends DomainError {
  readonly code = 'BAD_REQUEST' as const;
}

/** A batched HTTP request with more operations than MAX_BATCH_SIZE (HTTP 400), refused before any runs. */
export class BatchTooLargeError extends DomainError {
  readonly code = 'BATCH_TOO_LARGE' as const;
}

/** MySQL cannot be reached (see isDatabaseUnavailable): the transaction rolled back (or, if the connection died during COMMIT, may have committed: hence idempotency keys), and a retry later may succeed. */
export class DatabaseUnavailableError extends DomainError {
  readonly code = 'DATABASE_UNAVAILABLE' as const;
  constructor(message = 'The database is unreachable. Retry shortly; a write retried with the same idempotency key is applied at most once.', details: Record<string, unknown> = {}) {
    super(message, details);
  }
}

/** The gateway could not reach a subgraph (refused, reset or no answer within SUBGRAPH_TIMEOUT_MS); names it as `serviceName`. */
export class SubgraphUnavailableError extends DomainError {
  readonly code = 'SUBGRAPH_UNAVAILABLE' as const;
  constructor(serviceName: string, reason: string) {
    super(`The ${serviceName} service is unavailable (${reason}); the fields it supplies are missing. Retry shortly.`, { serviceName });
  }
}

/**
 * A service this one calls (orders and marketplace sync call inventory) did not answer, timed out
 * or failed. Deliberately no DomainError, so callers can tell it from a refusal and keep what they
 * recorded for a retry; should it reach a client, formatError answers SUBGRAPH_UNAVAILABLE naming
 * the service, and logs the reason, which stays private.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly serviceName: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${serviceName} unavailable: ${reason}`, options);
    this.name = new.target.name;
  }
}

/** The HTTP status of a request refused with this code before it ran. */
const REFUSAL_STATUS: Partial<Record<DomainErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  OPERATION_NOT_TRUSTED: 403,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 400,
  QUERY_TOO_COMPLEX: 400,
  PERSISTED_QUERY_NOT_FOUND: 400,
  BAD_REQUEST: 400,
};

/** A GraphQL-shaped answer for a refusal made outside Apollo Server (body and batch limits, trusted documents). */
export function errorBody(err: DomainError): { errors: { message: string; extensions: Record<string, unknown> }[] } {
  return { errors: [{ message: err.message, extensions: { ...err.details, code: err.code } }] };
}

/**
 * A refusal (authentication, scopes, limits, trusted documents) as the GraphQLError Apollo Server
 * answers with: the domain error's code, its HTTP status and any headers (Retry-After);
 * formatError adds the details.
 */
export function refusalError(err: DomainError, headers: [string, string][] = []): GraphQLError {
  const status = REFUSAL_STATUS[err.code];
  // A rate limit says when to come back.
  const retryAfter = err.details['retryAfterSeconds'];
  if (err.code === 'RATE_LIMITED' && typeof retryAfter === 'number' && !headers.some(([name]) => name === 'retry-after')) headers = [...headers, ['retry-after', String(retryAfter)]];
  const http = status ? { http: { status, headers: new HeaderMap(headers) } } : {};
  return new GraphQLError(err.message, { originalError: err, extensions: { code: err.code, ...http } });
}

/**
 * Parses untyped input with zod; any problem becomes one BAD_USER_INPUT error listing every issue.
 * @throws BadUserInputError when the value does not match the schema
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new BadUserInputError(`Invalid ${what}: ${summary}`, issues);
}

/** Codes produced by graphql-js, Apollo Server and our own domain errors; all safe to show. */
const PUBLIC_CODES = new Set<string>([
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'INSUFFICIENT_STOCK',
  'CONFLICT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
  'OPERATION_NOT_TRUSTED',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'DATABASE_UNAVAILABLE',
  'SUBGRAPH_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** graphql-js wraps what a resolver threw (sometimes twice); the innermost error decides the code. */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/**
 * The single error formatter of every server: domain errors keep their code and details, errors
 * already carrying a public code pass through (they come from graphql-js, Apollo Server or, in the
 * gateway, from a subgraph that formatted them the same way), everything else is masked and logged.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = rootCause(error);
  if (original instanceof DomainError) {
    return {
      ...formatted,
      message: original.message,
      extensions: { ...original.details, code: original.code },
    };
  }
  // The one mapping of "MySQL is unreachable", whatever statement or pool call met it first.
  if (isDatabaseUnavailable(original)) {
    const unavailable = new DatabaseUnavailableError();
    logger().warn({ err: (original as Error)?.message, path: formatted.path }, 'database unavailable');
    return {
      ...formatted,
      message: unavailable.message,
      extensions: { ...unavailable.details, code: unavailable.code },
    };
  }
  if (original instanceof DependencyUnavailableError) {
    logger().warn({ err: original.message, path: formatted.path }, 'a service this one calls is unavailable');
    return {
      ...formatted,
      message: `The ${original.serviceName} service is unavailable. Retry shortly; a write retried with the same idempotency key is applied at most once.`,
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: original.serviceName },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && PUBLIC_CODES.has(code)) {
    const { stacktrace: _stack, exception: _exception, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  const requestId = requestScope.getStore()?.requestId;
  logger().error({ err: original, path: formatted.path }, 'unexpected error');
  return {
    message: 'Internal server error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) },
  };
}
