import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hosts each subgraph's routing and subscription URLs may name. Subgraphs registered before
 * get the hosts of the URLs they have: an admin (or the seed) set those.
 */
export class SubgraphHosts1738000000000 implements MigrationInterface {
  name = 'SubgraphHosts1738000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_subgraph_hosts (
        subgraph VARCHAR(64) NOT NULL,
        host VARCHAR(260) NOT NULL,
        allowed_by VARCHAR(200) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (subgraph, host)
      ) ENGINE=InnoDB`);
    const rows: { name: string; routing_url: string | null; subscription_url: string | null }[] = await q.query('SELECT name, routing_url, subscription_url FROM registry_subgraphs');
    for (const row of rows) {
      for (const url of [row.routing_url, row.subscription_url]) {
        if (!url) continue;
        const host = URL.canParse(url) ? new URL(url).host.toLowerCase() : null;
        if (host) await q.query('INSERT IGNORE INTO registry_subgraph_hosts (subgraph, host, allowed_by, created_at) VALUES (?, ?, ?, NOW(3))', [row.name, host, 'migration']);
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE registry_subgraph_hosts');
  }
}
