import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, print, type DocumentNode, type GraphQLSchema } from 'graphql';
import { AuthPolicy, describeRequirement, selectsIntrospection } from './authorization.js';
import { authMode, type Config } from './config.js';
import { DomainError, ForbiddenError, refusalError } from './errors.js';
import { serviceAuth, type ServiceClaims, type ServiceIssuer, type ServiceTokenVerifier } from './service-token.js';

/** Issuers a subgraph answers introspection (`__schema`, `__type`, `_service`) for. */
const INTROSPECTORS: ReadonlySet<ServiceIssuer> = new Set(['gateway', 'registry']);

/**
 * A subgraph's door: every request must carry a service token for this subgraph (SERVICE_AUTH),
 * refused with 401 before anything executes; then, with AUTH_MODE=enforce, the operation is checked
 * against the subgraph's own @authenticated/@requiresScopes with the token's scopes (the gateway
 * checked them first: this is defence in depth), and introspection is answered to the gateway and
 * the registry only.
 */
export class ServiceGuard {
  constructor(
    /** Null under SERVICE_AUTH=off: requests are not checked, and name their client with x-client-id. */
    private readonly verifier: ServiceTokenVerifier | null,
    /** Null under AUTH_MODE=off: scopes are not checked again. */
    private readonly policy: AuthPolicy | null,
  ) {}

  static forSubgraph(cfg: Config, name: string, typeDefs: DocumentNode): ServiceGuard {
    const verifier = serviceAuth(cfg)?.verifier(name) ?? null;
    return new ServiceGuard(verifier, verifier && authMode(cfg) === 'enforce' ? AuthPolicy.fromSdl(print(typeDefs)) : null);
  }

  get enforced(): boolean {
    return this.verifier !== null;
  }

  /**
   * The caller a token stands for; null under SERVICE_AUTH=off.
   * @throws GraphQLError UNAUTHENTICATED (HTTP 401) for a missing, expired, foreign or forged token
   */
  async caller(token: unknown): Promise<ServiceClaims | null> {
    if (!this.verifier) return null;
    try {
      return await this.verifier.verify(typeof token === 'string' ? token : undefined);
    } catch (err) {
      throw err instanceof DomainError ? refusalError(err) : err;
    }
  }

  /** The refusal of an operation the token does not allow (FORBIDDEN), or null. */
  refusal(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, caller: ServiceClaims | null): GraphQLError | null {
    if (!caller) return null;
    if (!INTROSPECTORS.has(caller.issuer) && selectsIntrospection(document, operationName, true)) {
      return refusalError(new ForbiddenError(`This subgraph answers introspection (__schema, __type, _service) to the gateway and the registry only, not to ${caller.issuer}`, { reason: 'INTROSPECTION_DISABLED' }));
    }
    if (!this.policy) return null;
    const denials = this.policy.check(schema, document, operationName, { kind: caller.anonymous ? 'anonymous' : 'service', scopes: caller.scopes });
    if (!denials.length) return null;
    const first = denials[0]!;
    const who = caller.clientId ? `client ${caller.clientId}` : caller.anonymous ? 'an anonymous caller' : `the ${caller.issuer} service`;
    return refusalError(
      new ForbiddenError(`${first.field} requires ${describeRequirement(first.requirement)}, which the service token of ${who} (signed by ${caller.issuer}) does not carry`, {
        field: first.field,
        fields: denials.map((d) => d.field),
      }),
    );
  }

  /** Checks each operation once resolved, before it executes. */
  plugin<C extends { caller: ServiceClaims | null }>(): ApolloServerPlugin<C> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ schema, document, operationName, contextValue }) => {
          const refusal = this.refusal(schema, document, operationName, contextValue.caller);
          if (refusal) throw refusal;
        },
      }),
    };
  }
}
