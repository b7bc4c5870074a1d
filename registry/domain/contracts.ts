import { pruneSchema } from '@graphql-tools/utils';
import { applyTagFilterOnSubgraphs } from '@theguild/federation-composition';
import { buildSchema, parse, print, printSchema, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import type { CompositionProblem, SubgraphSource } from '../../contracts/composition.js';
import { apiSchemaOf } from './changes.js';
import { sdlHash } from './sdl-hash.js';

/**
 * Contracts: an API schema per audience, filtered from the supergraph by `@tag`. A contract
 * includes only what carries one of its include tags (when it has any; a type's tag covers its
 * fields) and never what carries one of its exclude tags; types no longer reachable are removed.
 * The filtering is The Guild's (`applyTagFilterOnSubgraphs`, as Hive does it): each excluded
 * element is made `@inaccessible` in the subgraphs, which are then composed like any supergraph, so
 * a contract that would leave a required argument or a referenced type out fails to compose.
 */

const tag = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'a @tag name: letters, digits, _ . - (at most 64)');

export const contractNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, _ and -, starting with a letter; at most 64');

export const contractInputSchema = z
  .object({
    name: contractNameSchema,
    includeTags: z.array(tag).max(50).default([]),
    excludeTags: z.array(tag).max(50).default([]),
    description: z.string().min(1).max(500).nullish(),
  })
  .refine((c) => c.includeTags.length + c.excludeTags.length > 0, { message: 'give at least one include or exclude tag', path: ['excludeTags'] })
  .refine((c) => !c.includeTags.some((t) => c.excludeTags.includes(t)), { message: 'a tag cannot be both included and excluded', path: ['includeTags'] });

export type ContractInput = z.input<typeof contractInputSchema>;

/** A contract's filter, as the composition thread receives it. */
export interface ContractFilter {
  name: string;
  includeTags: string[];
  excludeTags: string[];
}

/** A contract composed from a set of subgraphs: its API schema, or why it has none. */
export type ContractComposition =
  | { name: string; ok: true; apiSdl: string; hash: string }
  | { name: string; ok: false; errors: CompositionProblem[] };

/**
 * Composes a contract: the subgraphs filtered by its tags, composed by `compose`, and the API schema
 * of the result without the types nothing reaches any more.
 */
export function composeContract(
  sources: readonly SubgraphSource[],
  filter: ContractFilter,
  compose: (sources: SubgraphSource[]) => { ok: true; supergraphSdl: string } | { ok: false; errors: CompositionProblem[] },
): ContractComposition {
  let filtered: SubgraphSource[];
  try {
    filtered = applyTagFilterOnSubgraphs(
      sources.map((s) => ({ ...s, typeDefs: parse(s.sdl) })),
      { include: new Set(filter.includeTags), exclude: new Set(filter.excludeTags) },
    ).map(({ typeDefs, ...s }) => ({ ...s, sdl: print(typeDefs) }));
  } catch (err) {
    return { name: filter.name, ok: false, errors: [{ code: 'CONTRACT_FILTER_FAILED', message: (err as Error).message, subgraphs: [] }] };
  }
  const composed = compose(filtered);
  if (!composed.ok) return { name: filter.name, ok: false, errors: composed.errors };
  const apiSdl = printSchema(pruneSchema(apiSchemaOf(composed.supergraphSdl)));
  return { name: filter.name, ok: true, apiSdl, hash: sdlHash(apiSdl) };
}

/** A stored contract API schema as graphql-js validates against it. */
export function contractSchemaOf(apiSdl: string): GraphQLSchema {
  return buildSchema(apiSdl);
}
