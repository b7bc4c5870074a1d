import { Kind, parse, type DocumentNode } from 'graphql';
import { SubgraphUnavailableError } from '../lib/errors.js';

/** A subgraph fetch that got no usable answer: no connection, a reset, a timeout, a 5xx, a refusal of the gateway itself (401/403), or no GraphQL. */
export class SubgraphTransportError extends Error {
  /** The HTTP status the fetch got, when it got one. */
  readonly status?: number;

  constructor(
    readonly serviceName: string,
    readonly reason: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(`${serviceName}: ${reason}`, options);
    this.name = 'SubgraphTransportError';
    this.status = options?.status;
  }
}

/** Response keys of the operation's root fields: where a failed root fetch's data would have gone. */
function rootResponseKeys(document: DocumentNode): string[] {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return [];
  return operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.alias?.value ?? s.name.value] : []));
}

/**
 * What a failed fetch answers instead of throwing: SUBGRAPH_UNAVAILABLE errors with paths, so the
 * gateway serves everything the other subgraphs supplied. An entity fetch gets one error per
 * representation (`_entities.i`, which the gateway maps to where each entity sits in the response);
 * a root fetch one per root field it was to supply.
 */
export function unavailableResponse(
  request: { query?: string; variables?: Record<string, unknown> },
  document: DocumentNode | undefined,
  failure: SubgraphTransportError,
): { errors: { message: string; path?: (string | number)[]; extensions: Record<string, unknown> }[] } {
  const error = new SubgraphUnavailableError(failure.serviceName, failure.reason);
  const extensions = { ...error.details, code: error.code };
  const representations = request.variables?.representations;
  let paths: (string | number)[][];
  if (Array.isArray(representations)) {
    paths = representations.map((_, i) => ['_entities', i]);
  } else {
    let doc = document;
    try {
      doc ??= request.query ? parse(request.query) : undefined;
    } catch {
      doc = undefined;
    }
    paths = doc ? rootResponseKeys(doc).map((key) => [key]) : [];
  }
  if (!paths.length) return { errors: [{ message: error.message, extensions }] };
  return { errors: paths.map((path) => ({ message: error.message, path, extensions })) };
}
