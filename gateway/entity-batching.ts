import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';

/** An entity fetch sent with each distinct representation once, and how to give its answer the original shape. */
export interface DedupedFetch {
  request: GatewayGraphQLRequest;
  /** The answer to `request` as the answer to the original fetch: one `_entities` entry (and its errors) per original representation. */
  expand(response: GatewayGraphQLResponse): GatewayGraphQLResponse;
}

/**
 * @apollo/gateway sends an `_entities` fetch one representation per place in the response: 20 SKUs
 * available at the same 28 locations ask the locations subgraph for 560 locations, 28 of them
 * distinct. This sends each distinct representation once (the same key and required fields make the
 * same entity) and copies the answers back to every place. Null when the fetch has nothing repeated.
 */
export function dedupeRepresentations(request: GatewayGraphQLRequest): DedupedFetch | null {
  const representations = request.variables?.['representations'];
  if (!Array.isArray(representations) || representations.length < 2) return null;
  const unique: unknown[] = [];
  const uniqueIndex = new Map<string, number>();
  /** For each original representation, its index among the unique ones. */
  const positions = new Array<number>(representations.length);
  for (let i = 0; i < representations.length; i++) {
    const key = JSON.stringify(representations[i]);
    let at = uniqueIndex.get(key);
    if (at === undefined) {
      at = unique.length;
      uniqueIndex.set(key, at);
      unique.push(representations[i]);
    }
    positions[i] = at;
  }
  if (unique.length === representations.length) return null;
  return {
    request: { ...request, variables: { ...request.variables, representations: unique } },
    expand(response) {
      const entities = (response.data as { _entities?: unknown } | null | undefined)?._entities;
      // Answers of another shape are left for the gateway to report as they are.
      if (!Array.isArray(entities) || entities.length !== unique.length) return response;
      const originals: number[][] = unique.map(() => []);
      positions.forEach((at, i) => originals[at]!.push(i));
      // Every place gets its own object: the gateway rewrites and merges each entity in place.
      const placed = positions.map((at, i) => (originals[at]![0] === i ? entities[at] : structuredClone(entities[at])));
      return {
        ...response,
        data: { ...response.data, _entities: placed },
        errors: response.errors?.flatMap((error) => {
          const [head, at, ...rest] = error.path ?? [];
          if (head !== '_entities' || typeof at !== 'number' || !originals[at]) return [error];
          return originals[at]!.map((i) => ({ ...error, path: ['_entities', i, ...rest] }));
        }),
      };
    },
  };
}
