import { DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES } from '@apollo/federation-internals';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Kind, parse, print, visit, type GraphQLSchema } from 'graphql';

/**
 * The security features the gateway enforces itself (gateway/auth; the registry checks supergraphs against the same list): composition links them into
 * the supergraph `for: SECURITY`, which @apollo/gateway refuses to serve since it does not enforce
 * them. Any other SECURITY feature (e.g. @policy) is still refused.
 */
export const ENFORCED_SECURITY_FEATURES: readonly string[] = [
  'https://specs.apollo.dev/authenticated/v0.1',
  'https://specs.apollo.dev/requiresScopes/v0.1',
];

/** The features a supergraph may link for us to serve it (for Supergraph.build in registry checks). */
export const SUPPORTED_SUPERGRAPH_FEATURES: ReadonlySet<string> = new Set([...DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES, ...ENFORCED_SECURITY_FEATURES]);

/** The supergraph with the `for: SECURITY` of the enforced features' @link removed; the directives themselves stay for the policy. */
export function servableSupergraph(sdl: string): string {
  if (!ENFORCED_SECURITY_FEATURES.some((url) => sdl.includes(url))) return sdl;
  let changed = false;
  const doc = visit(parse(sdl), {
    Directive(node) {
      if (node.name.value !== 'link') return undefined;
      const url = node.arguments?.find((a) => a.name.value === 'url')?.value;
      if (url?.kind !== Kind.STRING || !ENFORCED_SECURITY_FEATURES.includes(url.value)) return undefined;
      changed = true;
      return { ...node, arguments: node.arguments?.filter((a) => a.name.value !== 'for') };
    },
  });
  return changed ? print(doc) : sdl;
}

/** A supergraph hook whose every supergraph (the first and each update) goes through servableSupergraph. */
export function servableSupergraphHook(hook: SupergraphSdlHook): SupergraphSdlHook {
  return async (options) => {
    const result = await hook({ ...options, update: (sdl) => options.update(servableSupergraph(sdl)) });
    return { ...result, supergraphSdl: servableSupergraph(result.supergraphSdl) };
  };
}

/** The contracts' API schemas of the supergraph a gateway serves (the registry's, loaded with each version). */
export interface ContractSchemas {
  /** The API schema of contract `name` in the served supergraph; undefined when it holds no such contract. */
  schemaOf(name: string): GraphQLSchema | undefined;
}
