import { execute, getOperationAST, GraphQLError, Kind, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Caller } from '../../contracts/identity.js';
import type { ContractSchemas } from '../../contracts/supergraph.js';
import { ForbiddenError, refusalError } from '../../lib/errors.js';
import { selectsIntrospection } from '../../lib/authorization.js';

/** Root fields an introspection-only operation may select. */
const INTROSPECTION_ROOT = new Set(['__schema', '__type', '__typename']);

/**
 * Contracts at the gateway: a caller whose API key or JWT names a contract sees that contract's API
 * schema. Its operations are validated against it (a field outside it does not exist for the
 * caller: GRAPHQL_VALIDATION_FAILED, as for a field no schema has), and its introspection is
 * answered from it. A caller naming a contract the served supergraph does not hold is refused
 * (FORBIDDEN, reason CONTRACT_UNKNOWN): it never falls back to the whole schema.
 */
export class ContractGate {
  /** Validation errors per contract schema and parsed document (Apollo Server keeps one DocumentNode per query text). */
  private readonly validated = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();

  constructor(private readonly contracts: ContractSchemas | undefined) {}

  /** The contract schema the caller sees; null for one on the whole API schema; a refusal for an unknown contract. */
  schemaFor(caller: Caller | null): GraphQLSchema | GraphQLError | null {
    const name = caller?.kind === 'anonymous' ? null : caller?.contract;
    if (!name) return null;
    const schema = this.contracts?.schemaOf(name);
    if (schema) return schema;
    return refusalError(
      new ForbiddenError(`Client ${caller!.clientId} is on contract "${name}", which this gateway's supergraph does not hold: ask the registry's admin`, { reason: 'CONTRACT_UNKNOWN', contract: name }),
    );
  }

  /** Why the caller may not run the operation under its contract; null when it may (or has none). */
  refusal(document: DocumentNode, operationName: string | null | undefined, caller: Caller | null): GraphQLError | null {
    const schema = this.schemaFor(caller);
    if (!schema || schema instanceof GraphQLError) return schema;
    const errors = this.validate(schema, document);
    const contract = (caller as { contract: string }).contract;
    if (errors.length) {
      return new GraphQLError(errors.map((e) => e.message).join(' '), {
        nodes: errors.flatMap((e) => e.nodes ?? []),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', contract, http: { status: 400 } },
      });
    }
    // Introspection is answered from the contract's schema, so it cannot share an operation with data.
    if (selectsIntrospection(document, operationName) && !this.introspectionOnly(document, operationName)) {
      return new GraphQLError('Introspection (__schema, __type) must be asked in an operation of its own by a client on a contract', {
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', contract, http: { status: 400 } },
      });
    }
    return null;
  }

  /** The answer to an introspection-only operation of a caller on a contract, from its schema; null otherwise (the gateway executes it). */
  async introspection(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | undefined, caller: Caller | null): Promise<ExecutionResult | null> {
    const schema = this.schemaFor(caller);
    if (!schema || schema instanceof GraphQLError || !selectsIntrospection(document, operationName)) return null;
    return execute({ schema, document, operationName, variableValues: variables });
  }

  private validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
    let bySchema = this.validated.get(schema);
    if (!bySchema) this.validated.set(schema, (bySchema = new WeakMap()));
    let errors = bySchema.get(document);
    if (!errors) bySchema.set(document, (errors = validate(schema, document)));
    return errors;
  }

  private introspectionOnly(document: DocumentNode, operationName: string | null | undefined): boolean {
    const operation = getOperationAST(document, operationName);
    return !!operation && operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && INTROSPECTION_ROOT.has(s.name.value));
  }
}
