import { In, type EntityManager } from 'typeorm';
import { insertIdOf } from '../../lib/db.js';
import { RegistrySubgraphEntity, SchemaVersionEntity, SupergraphMemberEntity, SupergraphVersionEntity } from './schema.entity.js';

export interface CurrentSchema {
  subgraph: RegistrySubgraphEntity;
  schema: SchemaVersionEntity;
}

/**
 * SQL of subgraphs, their schema versions and the supergraph versions. Subgraph rows and supergraph
 * versions are of one environment; schema versions are shared. Every method runs on the manager it is given.
 */
export const schemaStore = {
  subgraphs(tx: EntityManager, environment: string): Promise<RegistrySubgraphEntity[]> {
    return tx.find(RegistrySubgraphEntity, { where: { environment }, order: { name: 'ASC' } });
  },

  subgraph(tx: EntityManager, environment: string, name: string): Promise<RegistrySubgraphEntity | null> {
    return tx.findOneBy(RegistrySubgraphEntity, { environment, name });
  },

  /** The team that owns a subgraph, from its row in any environment (null: unknown everywhere). */
  async ownerOf(tx: EntityManager, name: string): Promise<string | null> {
    const [row] = await tx.find(RegistrySubgraphEntity, { select: { team: true }, where: { name }, order: { createdAt: 'ASC' }, take: 1 });
    return row?.team ?? null;
  },

  async insertSubgraph(tx: EntityManager, row: RegistrySubgraphEntity): Promise<void> {
    await tx.insert(RegistrySubgraphEntity, row);
  },

  async updateSubgraph(
    tx: EntityManager,
    environment: string,
    name: string,
    values: Pick<RegistrySubgraphEntity, 'routingUrl' | 'subscriptionUrl' | 'currentSchemaId' | 'updatedAt'>,
  ): Promise<void> {
    await tx.update(RegistrySubgraphEntity, { environment, name }, values);
  },

  /** Every subgraph of the environment with its current schema version (subgraphs never published are left out). */
  async currentSchemas(tx: EntityManager, environment: string): Promise<CurrentSchema[]> {
    const subgraphs = (await this.subgraphs(tx, environment)).filter((s) => s.currentSchemaId !== null);
    if (!subgraphs.length) return [];
    const schemas = await tx.find(SchemaVersionEntity, { where: { id: In(subgraphs.map((s) => s.currentSchemaId!)) } });
    const byId = new Map(schemas.map((s) => [s.id, s]));
    return subgraphs.map((subgraph) => ({ subgraph, schema: byId.get(subgraph.currentSchemaId!)! }));
  },

  schemaVersion(tx: EntityManager, subgraph: string, version: number): Promise<SchemaVersionEntity | null> {
    return tx.findOneBy(SchemaVersionEntity, { subgraph, version });
  },

  schemaVersionsById(tx: EntityManager, ids: readonly number[]): Promise<SchemaVersionEntity[]> {
    return ids.length ? tx.find(SchemaVersionEntity, { where: { id: In([...ids]) } }) : Promise.resolve([]);
  },

  /** Newest first. */
  schemaVersions(tx: EntityManager, subgraph: string, limit: number): Promise<SchemaVersionEntity[]> {
    return tx.find(SchemaVersionEntity, { where: { subgraph }, order: { version: 'DESC' }, take: limit });
  },

  async nextVersionNumber(tx: EntityManager, subgraph: string): Promise<number> {
    const [row] = (await tx.query('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM schema_versions WHERE subgraph = ?', [subgraph])) as { next: number | string }[];
    return Number(row!.next);
  },

  async insertSchemaVersion(tx: EntityManager, row: Omit<SchemaVersionEntity, 'id'>): Promise<number> {
    const result = await tx.insert(SchemaVersionEntity, row);
    return Number(result.identifiers[0]!.id);
  },

  /** The id of the environment's newest supergraph version, or 0: the gateway's cheap poll. */
  async latestSupergraphId(tx: EntityManager, environment: string): Promise<number> {
    const [row] = (await tx.query('SELECT COALESCE(MAX(id), 0) AS id FROM supergraph_versions WHERE environment = ?', [environment])) as { id: number | string }[];
    return Number(row!.id);
  },

  async latestSupergraph(tx: EntityManager, environment: string): Promise<SupergraphVersionEntity | null> {
    const [row] = await tx.find(SupergraphVersionEntity, { where: { environment }, order: { id: 'DESC' }, take: 1 });
    return row ?? null;
  },

  /** A supergraph version of the environment (null when it is another environment's). */
  supergraph(tx: EntityManager, environment: string, id: number): Promise<SupergraphVersionEntity | null> {
    return tx.findOneBy(SupergraphVersionEntity, { environment, id });
  },

  /** Newest first, without their SDL. */
  supergraphs(tx: EntityManager, environment: string, limit: number): Promise<SupergraphVersionEntity[]> {
    return tx.find(SupergraphVersionEntity, {
      select: { id: true, environment: true, hash: true, compositionVersion: true, createdBy: true, reason: true, createdAt: true },
      where: { environment },
      order: { id: 'DESC' },
      take: limit,
    });
  },

  async insertSupergraph(tx: EntityManager, row: Omit<SupergraphVersionEntity, 'id'>): Promise<number> {
    const result = await tx.query(
      'INSERT INTO supergraph_versions (environment, sdl, hash, composition_version, created_by, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [row.environment, row.sdl, row.hash, row.compositionVersion, row.createdBy, row.reason, row.createdAt],
    );
    return Number(insertIdOf(result));
  },

  async insertMembers(tx: EntityManager, rows: SupergraphMemberEntity[]): Promise<void> {
    if (rows.length) await tx.insert(SupergraphMemberEntity, rows);
  },

  members(tx: EntityManager, supergraphVersions: readonly number[]): Promise<SupergraphMemberEntity[]> {
    if (!supergraphVersions.length) return Promise.resolve([]);
    return tx.find(SupergraphMemberEntity, { where: { supergraphVersion: In([...supergraphVersions]) }, order: { subgraph: 'ASC' } });
  },

  /** The supergraph versions each schema version first appeared in. */
  async firstSupergraphOf(tx: EntityManager, schemaIds: readonly number[]): Promise<Map<number, number>> {
    if (!schemaIds.length) return new Map();
    const rows = (await tx.query(
      `SELECT schema_id, MIN(supergraph_version) AS v FROM supergraph_members WHERE schema_id IN (${schemaIds.map(() => '?').join(',')}) GROUP BY schema_id`,
      [...schemaIds],
    )) as { schema_id: number | string; v: number | string }[];
    return new Map(rows.map((r) => [Number(r.schema_id), Number(r.v)]));
  },
};
