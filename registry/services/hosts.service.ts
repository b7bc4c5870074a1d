import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { parseInput } from '../../lib/errors.js';
import { hostStore } from '../data/host.store.js';
import { authorizeRead, requireAdmin, type Principal } from '../domain/principal.js';
import { nameSchema } from '../domain/inputs.js';

const hostSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/, 'must be a host name or address, with an optional :port')
  .max(260);
const hostsSchema = z.array(hostSchema).min(1).max(50);

/**
 * The hosts a subgraph's routing and subscription URLs may name (domain/endpoint-rules.ts): admins
 * allow them (before the subgraph's first publish, for a partner's new subgraph), whoever may read
 * the subgraph sees them.
 */
export class HostsService {
  constructor(private readonly ds: DataSource) {}

  list(principal: Principal, subgraph: string): Promise<string[]> {
    const name = parseInput(nameSchema, subgraph, 'subgraph');
    authorizeRead(principal, name);
    return hostStore.hosts(this.ds.manager, name);
  }

  /** @returns the subgraph's allowed hosts after the change */
  async allow(principal: Principal, subgraph: string, hosts: readonly string[]): Promise<string[]> {
    requireAdmin(principal, "allow a subgraph's hosts");
    const name = parseInput(nameSchema, subgraph, 'subgraph');
    await hostStore.allow(this.ds.manager, name, parseInput(hostsSchema, hosts, 'hosts'), principal.name, new Date());
    return hostStore.hosts(this.ds.manager, name);
  }

  /** @returns the subgraph's allowed hosts after the change (URLs it uses now stay; its next publish must name allowed ones) */
  async disallow(principal: Principal, subgraph: string, hosts: readonly string[]): Promise<string[]> {
    requireAdmin(principal, "disallow a subgraph's hosts");
    const name = parseInput(nameSchema, subgraph, 'subgraph');
    await hostStore.disallow(this.ds.manager, name, parseInput(hostsSchema, hosts, 'hosts'));
    return hostStore.hosts(this.ds.manager, name);
  }
}
