import { HeaderMap, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ContractGate } from './contract-gate.js';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { IntrospectionMode } from '../../lib/config.js';
import { DomainError, ForbiddenError, RateLimitedError, refusalError, UnauthenticatedError } from '../../lib/errors.js';
import type { AuthLockouts } from './lockouts.js';
import type { Logger } from 'pino';
import { Authenticator, credentialsFromHeaders, credentialsFromParams, type Credentials } from './authenticator.js';
import type { Caller } from '../../contracts/identity.js';
import { AuthPolicy, describeRequirement, missingScopes, selectsIntrospection, type Denial } from '../../lib/authorization.js';

/**
 * How the gateway treats credentials: `off` admits everyone to everything, though credentials a
 * caller presents are still checked (with `authenticator`; refused without one); `enforce`
 * authenticates and authorizes.
 */
export type GatewayAuth = { mode: 'off'; authenticator?: Authenticator } | { mode: 'enforce'; authenticator: Authenticator };

/** The context fields the guard reads. */
export interface AuthContext extends BaseContext {
  /** Null when AUTH_MODE=off. */
  caller: Caller | null;
}

/**
 * Authentication and field-level authorization at the gateway, for HTTP and graphql-ws alike:
 * credentials are checked when the request's context is built (or at connection_init), the
 * operation against the supergraph's @authenticated/@requiresScopes once it is resolved, both before
 * any subgraph is called.
 */
export class AuthGuard {
  private policy: AuthPolicy | null = null;

  constructor(
    readonly auth: GatewayAuth,
    private readonly log: Logger,
    /** INTROSPECTION: who may select `__schema` / `__type`. */
    readonly introspection: IntrospectionMode = 'on',
    /** Failed authentications per caller address (AUTH_FAILURES_PER_MINUTE); past them, credentials from there are refused unchecked. */
    private readonly failures: AuthLockouts | null = null,
    /** The contracts' schemas of the served supergraph: a caller on a contract sees only its schema. */
    private readonly contracts: ContractGate = new ContractGate(undefined),
  ) {}

  get enforced(): boolean {
    return this.auth.mode === 'enforce';
  }

  /** Called with every supergraph the gateway loads (hot reloads included). */
  updateSupergraph(coreSupergraphSdl: string): void {
    if (!this.enforced) return;
    try {
      this.policy = AuthPolicy.fromSdl(coreSupergraphSdl);
    } catch (err) {
      // Keep the previous policy: the gateway itself would not load a supergraph it cannot parse.
      this.log.error({ err }, 'could not read the authorization policy of the supergraph');
    }
  }

  /**
   * The caller of an HTTP request; null when AUTH_MODE=off.
   * @throws GraphQLError UNAUTHENTICATED (HTTP 401) for malformed, unknown, expired or revoked credentials
   */
  async callerFromHeaders(headers: Record<string, string | string[] | undefined>, address?: string | null): Promise<Caller | null> {
    try {
      return await this.limited(credentialsFromHeaders(headers), address);
    } catch (err) {
      throw asGraphQLError(err);
    }
  }

  /**
   * identify(), counting failures per address: past AUTH_FAILURES_PER_MINUTE, credentials from that
   * address are refused (429 RATE_LIMITED) without being checked, so guessing costs the guesser.
   */
  private async limited(credentials: Credentials, address: string | null | undefined): Promise<Caller | null> {
    const counted = !!this.failures && !!address && !!(credentials.authorization || credentials.apiKey);
    if (counted) {
      const budget = await this.failures!.check(address!);
      if (!budget.ok) {
        throw new RateLimitedError(`Too many failed authentications from ${address}; retry in ${budget.retryAfterSeconds} s`, { limit: budget.limit, retryAfterSeconds: budget.retryAfterSeconds });
      }
    }
    try {
      return await this.identify(credentials);
    } catch (err) {
      if (counted && err instanceof UnauthenticatedError) await this.failures!.fail(address!);
      throw err;
    }
  }

  /**
   * The caller the credentials stand for. With AUTH_MODE=off, null when none are presented: but a
   * credential that is presented and fails is refused in every mode, so a client never believes a
   * bad key works.
   */
  private async identify(credentials: Credentials): Promise<Caller | null> {
    if (this.auth.mode === 'enforce') return this.auth.authenticator.identify(credentials);
    if (!credentials.authorization && !credentials.apiKey) return null;
    if (!this.auth.authenticator) {
      throw new UnauthenticatedError('Credentials were sent, but this gateway cannot check them (AUTH_MODE=off without a key store): send none', { reason: 'UNCHECKABLE' });
    }
    return this.auth.authenticator.identify(credentials);
  }

  /** The caller of a graphql-ws connection from its connection_init payload; null when AUTH_MODE=off. */
  async callerFromParams(params: Readonly<Record<string, unknown>>, address?: string | null): Promise<{ ok: true; caller: Caller | null } | { ok: false; reason: string }> {
    try {
      return { ok: true, caller: await this.limited(credentialsFromParams(params), address) };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /**
   * The refusal of an operation the caller may not run (null when it may): GRAPHQL_VALIDATION_FAILED
   * (400) for a field outside the caller's contract, UNAUTHENTICATED (401) for an anonymous caller,
   * FORBIDDEN (403) naming the missing scope and the field otherwise.
   */
  refusal(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, caller: Caller | null): GraphQLError | null {
    const contract = this.contracts.refusal(document, operationName, caller);
    if (contract) return contract;
    const introspection = this.introspectionRefusal(document, operationName, caller);
    if (introspection) return introspection;
    if (!this.enforced || !caller) return null;
    if (!this.policy) return asGraphQLError(new ForbiddenError('The gateway has no authorization policy loaded yet'));
    const denials = this.policy.check(schema, document, operationName, caller);
    return denials.length ? asGraphQLError(denialError(denials, caller)) : null;
  }

  /**
   * FORBIDDEN (reason INTROSPECTION_DISABLED) for an operation selecting `__schema` or `__type`
   * (`__typename` is always fine) under INTROSPECTION=off, or under `admins` unless the caller has
   * the scope `admin` or `registry:admin` (with AUTH_MODE=off no caller has).
   */
  introspectionRefusal(document: DocumentNode, operationName: string | null | undefined, caller: Caller | null): GraphQLError | null {
    if (this.introspection === 'on' || !selectsIntrospection(document, operationName)) return null;
    if (this.introspection === 'admins' && caller && ADMIN_SCOPES.some((s) => caller.scopes.includes(s))) return null;
    const who = this.introspection === 'off' ? 'disabled on this gateway' : `reserved to callers with the scope ${ADMIN_SCOPES.join(' or ')}`;
    return asGraphQLError(
      new ForbiddenError(`Introspection (__schema, __type) is ${who}`, { reason: 'INTROSPECTION_DISABLED', introspection: this.introspection, requiredScopes: this.introspection === 'off' ? [] : ADMIN_SCOPES }),
    );
  }

  /** Refuses, before execution (and so before any subgraph fetch), operations the caller may not run. */
  plugin<C extends AuthContext>(): ApolloServerPlugin<C> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ schema, document, operationName, contextValue }) => {
          const refusal = this.refusal(schema, document, operationName, contextValue.caller);
          if (refusal) throw refusal;
        },
        // A caller on a contract introspects its contract's schema, not the whole one.
        responseForOperation: async ({ document, operationName, request, contextValue }) => {
          const result = await this.contracts.introspection(document, operationName, request.variables, contextValue.caller);
          return result ? { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: result } } : null;
        },
      }),
    };
  }
}

/** Scopes that may introspect under INTROSPECTION=admins. */
const ADMIN_SCOPES = ['admin', 'registry:admin'];

function denialError(denials: Denial[], caller: Caller): DomainError {
  const first = denials[0]!;
  const needed = describeRequirement(first.requirement);
  const details = {
    field: first.field,
    requiredScopes: first.requirement.kind === 'scopes' ? first.requirement.anyOf : [],
    missingScopes: missingScopes(caller, first.requirement),
    fields: denials.map((d) => d.field),
  };
  if (caller.kind === 'anonymous') {
    return new UnauthenticatedError(
      `${first.field} requires ${needed}; anonymous requests may not select it: send "Authorization: Bearer <token>" or "x-api-key: <key>"`,
      { ...details, reason: 'CREDENTIALS_REQUIRED' },
    );
  }
  return new ForbiddenError(`${first.field} requires the scope ${needed}, which client ${caller.clientId} does not have`, details);
}

/** Domain errors as refusals (with their HTTP status); anything else as it is. */
function asGraphQLError(err: unknown): GraphQLError {
  if (err instanceof DomainError) return refusalError(err);
  return err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { originalError: err as Error });
}
