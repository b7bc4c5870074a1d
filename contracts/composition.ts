import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse, Source, type GraphQLError } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const supergraphConfigSchema = z.object({
  federation_version: z.union([z.string(), z.number()]).optional(),
  subgraphs: z.record(
    z.string().regex(/^[a-z][a-z0-9_-]*$/),
    z.object({
      routing_url: z.url(),
      schema: z.object({ file: z.string().min(1) }),
      /** Omnistock extension (Rover ignores unknown keys): where the subgraph serves graphql-ws. */
      subscription_url: z.url().optional(),
    }),
  ),
});

export interface SubgraphSource {
  name: string;
  url: string;
  sdl: string;
  /** Where it serves graphql-ws, when it has subscriptions. */
  subscriptionUrl?: string;
}

export interface CompositionProblem {
  code: string;
  message: string;
  subgraphs: string[];
}

export type CompositionResult =
  | { ok: true; supergraphSdl: string }
  | { ok: false; errors: CompositionProblem[] };

/** Reads a Rover-format supergraph config and the SDL files it names (paths relative to the config). */
export async function readSupergraphConfig(path: string): Promise<SubgraphSource[]> {
  const raw: unknown = parseYaml(await readFile(path, 'utf8'));
  const parsed = supergraphConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const base = dirname(resolve(path));
  return Promise.all(
    Object.entries(parsed.data.subgraphs).map(async ([name, sg]) => ({
      name,
      url: sg.routing_url,
      ...(sg.subscription_url ? { subscriptionUrl: sg.subscription_url } : {}),
      sdl: await readFile(resolve(base, sg.schema.file), 'utf8'),
    })),
  );
}

function subgraphsOf(error: GraphQLError): string[] {
  const names = new Set<string>();
  for (const node of error.nodes ?? []) {
    const name = node.loc?.source.name;
    if (name) names.add(name);
  }
  return [...names].sort();
}

/** Composes subgraph SDLs into a supergraph; errors carry their code and the subgraphs involved. */
export function compose(subgraphs: SubgraphSource[]): CompositionResult {
  const result = composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(new Source(s.sdl, s.name)) })),
  );
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((e) => ({
        code: String(e.extensions?.code ?? 'COMPOSITION_ERROR'),
        message: e.message,
        subgraphs: subgraphsOf(e),
      })),
    };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl };
}

export function formatCompositionErrors(errors: CompositionProblem[]): string {
  return errors
    .map((e) => `${e.code}${e.subgraphs.length ? ` [${e.subgraphs.join(', ')}]` : ''}: ${e.message}`)
    .join('\n');
}
