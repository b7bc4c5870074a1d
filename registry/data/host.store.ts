import type { EntityManager } from 'typeorm';
import { SubgraphHostEntity } from './host.entity.js';

/** SQL of the hosts subgraphs may be routed to. Every method runs on the manager it is given. */
export const hostStore = {
  async hosts(tx: EntityManager, subgraph: string): Promise<string[]> {
    return (await tx.find(SubgraphHostEntity, { where: { subgraph }, order: { host: 'ASC' } })).map((h) => h.host);
  },

  /** Adds hosts (those already allowed stay as they were). */
  async allow(tx: EntityManager, subgraph: string, hosts: readonly string[], by: string, at: Date): Promise<void> {
    for (const host of hosts) await tx.query('INSERT IGNORE INTO registry_subgraph_hosts (subgraph, host, allowed_by, created_at) VALUES (?, ?, ?, ?)', [subgraph, host, by, at]);
  },

  async disallow(tx: EntityManager, subgraph: string, hosts: readonly string[]): Promise<void> {
    for (const host of hosts) await tx.delete(SubgraphHostEntity, { subgraph, host });
  },
};
