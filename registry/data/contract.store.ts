import { In, type EntityManager } from 'typeorm';
import { ContractEntity, ContractVersionEntity } from './contract.entity.js';

/** SQL of contracts and their versions. Every method runs on the manager it is given. */
export const contractStore = {
  contracts(tx: EntityManager): Promise<ContractEntity[]> {
    return tx.find(ContractEntity, { order: { name: 'ASC' } });
  },

  contract(tx: EntityManager, name: string): Promise<ContractEntity | null> {
    return tx.findOneBy(ContractEntity, { name });
  },

  /** Creates or replaces a contract's definition (its creation stays as it was). */
  async upsert(tx: EntityManager, row: ContractEntity): Promise<void> {
    await tx.query(
      `INSERT INTO registry_contracts (name, include_tags, exclude_tags, description, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE include_tags = VALUES(include_tags), exclude_tags = VALUES(exclude_tags), description = VALUES(description), updated_at = VALUES(updated_at)`,
      [row.name, JSON.stringify(row.includeTags), JSON.stringify(row.excludeTags), row.description, row.createdBy, row.createdAt, row.updatedAt],
    );
  },

  async remove(tx: EntityManager, name: string): Promise<void> {
    await tx.delete(ContractEntity, { name });
  },

  async insertVersions(tx: EntityManager, rows: ContractVersionEntity[]): Promise<void> {
    if (rows.length) await tx.insert(ContractVersionEntity, rows);
  },

  /** The contract schemas of these supergraph versions. */
  versionsOf(tx: EntityManager, supergraphVersions: readonly number[]): Promise<ContractVersionEntity[]> {
    if (!supergraphVersions.length) return Promise.resolve([]);
    return tx.find(ContractVersionEntity, { where: { supergraphVersion: In([...supergraphVersions]) }, order: { contract: 'ASC' } });
  },

  /** A contract's schemas, newest supergraph version first. */
  history(tx: EntityManager, contract: string, limit: number): Promise<ContractVersionEntity[]> {
    return tx.find(ContractVersionEntity, { where: { contract }, order: { supergraphVersion: 'DESC' }, take: limit });
  },
};
