import { createHash } from 'node:crypto';
import { Supergraph, buildSubgraph } from '@apollo/federation-internals';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import type { GraphQLSchema } from 'graphql';
import { SUPPORTED_SUPERGRAPH_FEATURES } from '../../contracts/supergraph.js';
import { stableJson } from '../../lib/stable-json.js';
import { omittedCoordinate } from './usage.js';

/** How a change affects clients, after usage is taken into account. */
export type Criticality = 'BREAKING' | 'DANGEROUS' | 'SAFE';

/** One client-facing change between two API schemas, before usage and approvals are applied. */
export interface SchemaChange {
  /** Stable id of the change (type, coordinate, details): what an approval names. */
  fingerprint: string;
  /** graphql-inspector's change type, e.g. FIELD_REMOVED. */
  type: string;
  /** Schema coordinate the change is at (`Type`, `Type.field`, `Type.field.argument`), when it has one. */
  coordinate: string | null;
  message: string;
  criticality: Criticality;
  /** Why graphql-inspector classified it so, when it says. */
  reason: string | null;
  /** The coordinates whose recorded usage decides whether the change reaches any client. */
  usageCoordinates: string[];
}

/** The client-facing schema of a composed supergraph (what the gateway serves). */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl, { supportedFeatures: new Set(SUPPORTED_SUPERGRAPH_FEATURES) }).apiSchema().toGraphQLJSSchema();
}

/** A subgraph's schema as graphql-js sees it, federation definitions included (for subgraph version diffs). */
export function subgraphSchemaOf(name: string, sdl: string): GraphQLSchema {
  return buildSubgraph(name, 'http://subgraph.invalid', sdl).schema.toGraphQLJSSchema();
}

export function fingerprintOf(change: Pick<Change, 'type' | 'path' | 'meta'>): string {
  return createHash('sha256')
    .update(`${change.type}|${change.path ?? ''}|${stableJson(change.meta)}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * Which recorded usages a change would break. Field and argument changes are precise; changes
 * whose reach a document cannot show (an input field set through a variable, an enum value a
 * field returns) fall back to any use of the type, which over-reports rather than misses.
 */
export function usageCoordinatesOf(change: Pick<Change, 'type' | 'path'> & { meta?: unknown }, after?: GraphQLSchema): string[] {
  const path = change.path;
  if (!path) return [];
  const parts = path.split('.');
  switch (change.type) {
    case 'FIELD_REMOVED':
    case 'FIELD_TYPE_CHANGED':
    case 'FIELD_ARGUMENT_REMOVED':
      return [path];
    case 'FIELD_ARGUMENT_TYPE_CHANGED': {
      // Those who pass it may now send a value of the wrong type; an argument made required also
      // breaks every operation that leaves it out.
      const meta = (change.meta ?? {}) as { oldArgumentType?: string; newArgumentType?: string };
      const nowRequired = !!meta.newArgumentType?.endsWith('!') && !meta.oldArgumentType?.endsWith('!') && !hasDefault(after, parts);
      return nowRequired ? [path, omittedCoordinate(path)] : [path];
    }
    case 'FIELD_ARGUMENT_DEFAULT_CHANGED':
      // Only operations that leave the argument out get the default.
      return [omittedCoordinate(path)];
    case 'FIELD_ARGUMENT_ADDED':
      // A new required argument breaks every use of the field.
      return [parts.slice(0, 2).join('.')];
    default:
      return [parts[0]!];
  }
}

/** Whether the argument at `Type.field.argument` has a default in `schema` (leaving it out then still works). */
function hasDefault(schema: GraphQLSchema | undefined, [type, field, argument]: string[]): boolean {
  const t = type ? schema?.getType(type) : undefined;
  if (!t || !('getFields' in t)) return false;
  const f = t.getFields()[field ?? ''];
  const arg = f && 'args' in f ? f.args.find((a) => a.name === argument) : undefined;
  return arg?.defaultValue !== undefined;
}

function criticalityOf(level: CriticalityLevel): Criticality {
  if (level === CriticalityLevel.Breaking) return 'BREAKING';
  if (level === CriticalityLevel.Dangerous) return 'DANGEROUS';
  return 'SAFE';
}

/** Every change from `before` to `after` (null: no schema yet, everything is new), classified by graphql-inspector. */
export async function schemaChanges(before: GraphQLSchema | null, after: GraphQLSchema): Promise<SchemaChange[]> {
  const changes = before ? await diff(before, after) : [];
  return changes.map((c) => ({
    fingerprint: fingerprintOf(c),
    type: String(c.type),
    coordinate: c.path ?? null,
    message: c.message,
    criticality: criticalityOf(c.criticality.level),
    reason: c.criticality.reason ?? null,
    usageCoordinates: usageCoordinatesOf(c, after),
  }));
}
