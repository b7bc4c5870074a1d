import type { GraphQLSchema } from 'graphql';
import type { DataSource, EntityManager } from 'typeorm';
import { NotFoundError } from '../../lib/errors.js';
import { apiSchemaOf, schemaChanges, subgraphSchemaOf, type SchemaChange } from '../domain/changes.js';
import type { RegistrySubgraphEntity, SchemaVersionEntity, SupergraphMemberEntity, SupergraphVersionEntity } from '../data/schema.entity.js';
import { schemaStore } from '../data/schema.store.js';
import { PRODUCTION } from '../domain/environments.js';

export interface SubgraphView extends RegistrySubgraphEntity {
  currentVersion: number | null;
}

export interface SupergraphView extends SupergraphVersionEntity {
  members: (SupergraphMemberEntity & { schemaVersion: number })[];
}

export interface DiffResult {
  subgraph: string | null;
  from: number;
  to: number;
  changes: SchemaChange[];
}

/**
 * The registry's reads: the subgraphs in an environment's supergraph, schema versions (shared by
 * every environment), an environment's supergraph versions, and diffs between them. `environment`
 * defaults to production.
 */
export class RegistryHistory {
  /** API schemas of recent supergraph versions: every check diffs against the latest. */
  private readonly apiSchemas = new Map<number, GraphQLSchema>();
  private readonly m: EntityManager;

  constructor(ds: DataSource) {
    this.m = ds.manager;
  }

  /** The subgraphs in the supergraph (a removed one is left out until it is published again). */
  async subgraphs(environment = PRODUCTION): Promise<SubgraphView[]> {
    const rows = (await schemaStore.subgraphs(this.m, environment)).filter((r) => r.currentSchemaId !== null);
    const schemas = await schemaStore.schemaVersionsById(this.m, rows.flatMap((r) => (r.currentSchemaId ? [r.currentSchemaId] : [])));
    const versionOf = new Map(schemas.map((s) => [s.id, s.version]));
    return rows.map((r) => ({ ...r, currentVersion: r.currentSchemaId ? (versionOf.get(r.currentSchemaId) ?? null) : null }));
  }

  async subgraph(name: string, environment = PRODUCTION): Promise<SubgraphView | null> {
    return (await this.subgraphs(environment)).find((s) => s.name === name) ?? null;
  }

  /** A subgraph's schema versions, newest first. */
  schemaHistory(subgraph: string, limit = 20): Promise<SchemaVersionEntity[]> {
    return schemaStore.schemaVersions(this.m, subgraph, Math.min(Math.max(limit, 1), 500));
  }

  schemaVersion(subgraph: string, version: number): Promise<SchemaVersionEntity | null> {
    return schemaStore.schemaVersion(this.m, subgraph, version);
  }

  /** Supergraph versions, newest first, with their members (and without their SDL). */
  async supergraphHistory(limit = 20, environment = PRODUCTION): Promise<SupergraphView[]> {
    const rows = await schemaStore.supergraphs(this.m, environment, Math.min(Math.max(limit, 1), 500));
    return this.withMembers(rows);
  }

  /** One supergraph version of the environment with its SDL (the latest when no version is given; null for another environment's). */
  async supergraph(version?: number | null, environment = PRODUCTION): Promise<SupergraphView | null> {
    const row = version == null ? await schemaStore.latestSupergraph(this.m, environment) : await schemaStore.supergraph(this.m, environment, version);
    return row ? (await this.withMembers([row]))[0]! : null;
  }

  private async withMembers(rows: SupergraphVersionEntity[]): Promise<SupergraphView[]> {
    const members = await schemaStore.members(this.m, rows.map((r) => r.id));
    const schemas = await schemaStore.schemaVersionsById(this.m, [...new Set(members.map((m) => m.schemaId))]);
    const versionOf = new Map(schemas.map((s) => [s.id, s.version]));
    return rows.map((r) => ({
      ...r,
      members: members.filter((m) => m.supergraphVersion === r.id).map((m) => ({ ...m, schemaVersion: versionOf.get(m.schemaId) ?? 0 })),
    }));
  }

  /** The newest supergraph version's number (0: none yet); the gateway polls it. */
  latestSupergraphVersion(environment = PRODUCTION): Promise<number> {
    return schemaStore.latestSupergraphId(this.m, environment);
  }

  /**
   * Client-facing changes between two versions: of a subgraph's schema when `subgraph` is given,
   * else of the supergraph's API schema.
   * @throws NotFoundError for an unknown version
   */
  async diff(input: { subgraph?: string | null; from: number; to: number; environment?: string }): Promise<DiffResult> {
    let before: GraphQLSchema;
    let after: GraphQLSchema;
    if (input.subgraph) {
      const [a, b] = await Promise.all([schemaStore.schemaVersion(this.m, input.subgraph, input.from), schemaStore.schemaVersion(this.m, input.subgraph, input.to)]);
      if (!a) throw new NotFoundError('Schema version', `${input.subgraph}@${input.from}`);
      if (!b) throw new NotFoundError('Schema version', `${input.subgraph}@${input.to}`);
      before = subgraphSchemaOf(input.subgraph, a.sdl);
      after = subgraphSchemaOf(input.subgraph, b.sdl);
    } else {
      const environment = input.environment ?? PRODUCTION;
      const [a, b] = await Promise.all([schemaStore.supergraph(this.m, environment, input.from), schemaStore.supergraph(this.m, environment, input.to)]);
      if (!a) throw new NotFoundError(`Supergraph version of ${environment}`, input.from);
      if (!b) throw new NotFoundError(`Supergraph version of ${environment}`, input.to);
      before = this.apiSchemaOfVersion(a);
      after = this.apiSchemaOfVersion(b);
    }
    return { subgraph: input.subgraph ?? null, from: input.from, to: input.to, changes: await schemaChanges(before, after) };
  }

  /** The client-facing schema of the environment's newest supergraph (null before the first). */
  async currentApiSchema(environment = PRODUCTION): Promise<GraphQLSchema | null> {
    const latest = await schemaStore.latestSupergraph(this.m, environment);
    return latest ? this.apiSchemaOfVersion(latest) : null;
  }

  /** A supergraph version's client-facing schema, built once for the last few versions. */
  apiSchemaOfVersion(version: SupergraphVersionEntity): GraphQLSchema {
    let schema = this.apiSchemas.get(version.id);
    if (!schema) {
      schema = apiSchemaOf(version.sdl);
      this.apiSchemas.set(version.id, schema);
      while (this.apiSchemas.size > 4) this.apiSchemas.delete(this.apiSchemas.keys().next().value!);
    }
    return schema;
  }
}
