import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { ForbiddenError, NotFoundError, parseInput } from '../../lib/errors.js';
import type { ClientUsage } from '../domain/check-result.js';
import { explorerTypes, type ExplorerType } from '../domain/explorer.js';
import { day, DAY_MS } from '../domain/inputs.js';
import { mayRead, type Principal } from '../domain/principal.js';
import { usageStore } from '../data/usage.store.js';
import type { RegistryHistory } from './history.service.js';

/** A field's usage in the usage window, per client and operation. */
export interface FieldUsageView {
  coordinate: string;
  /** REGISTRY_USAGE_WINDOW_DAYS. */
  windowDays: number;
  /** The first day (YYYY-MM-DD, UTC) counted. */
  since: string;
  /** Executions of operations that used it in the window. */
  total: number;
  /** The clients that used it, most executions first; each operation most executions first. */
  clients: ClientUsage[];
  /** The subgraphs that resolve it today. */
  subgraphs: string[];
}

const coordinateSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'a field coordinate like InventoryItem.sku');

/**
 * The schema explorer: the current supergraph's client-facing types and fields with their owning
 * subgraphs, descriptions and deprecations, and each field's usage. A caller with
 * `registry:read:*` (or admin) sees everything; one that may read some subgraphs sees the fields
 * those subgraphs resolve (and the types that hold them).
 */
export class ExplorerService {
  /** The explorer of the supergraph version last asked for: built once per version. */
  private cached: { version: number; types: ExplorerType[] } | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly deps: { history: RegistryHistory; usageWindowDays: number },
  ) {}

  private async all(): Promise<ExplorerType[]> {
    const latest = await this.deps.history.supergraph();
    if (!latest?.sdl) return [];
    if (this.cached?.version !== latest.id) {
      this.cached = { version: latest.id, types: explorerTypes(latest.sdl, this.deps.history.apiSchemaOfVersion(latest)) };
    }
    return this.cached.types;
  }

  /** The types and fields the principal may read, by type name. */
  async types(principal: Principal): Promise<ExplorerType[]> {
    const types = await this.all();
    if (mayRead(principal, '*')) return types;
    const readable = (subgraphs: string[]) => subgraphs.some((s) => mayRead(principal, s));
    return types.flatMap((t) => {
      const fields = t.fields.filter((f) => readable(f.subgraphs));
      return fields.length || (readable(t.subgraphs) && !t.fields.length) ? [{ ...t, fields }] : [];
    });
  }

  /**
   * A field's (or enum value's) usage in the usage window, by client and operation.
   * @throws BadUserInputError for a malformed coordinate
   * @throws NotFoundError when the current supergraph has no such field
   * @throws ForbiddenError when the principal may read none of the subgraphs that resolve it
   */
  async fieldUsage(principal: Principal, coordinate: string, now = new Date()): Promise<FieldUsageView> {
    const parsed = parseInput(coordinateSchema, coordinate, 'coordinate');
    const [typeName] = parsed.split('.');
    const field = (await this.all()).find((t) => t.name === typeName)?.fields.find((f) => f.coordinate === parsed);
    if (!field) throw new NotFoundError('Field', parsed, { hint: 'The current supergraph has no such field' });
    if (!mayRead(principal, '*') && !field.subgraphs.some((s) => mayRead(principal, s))) {
      const scopes = field.subgraphs.map((s) => `registry:read:${s}`).join(' or ');
      throw new ForbiddenError(`${principal.name} may not read the usage of ${parsed}: that needs ${scopes || 'registry:read:*'}`, {
        action: 'READ',
        coordinate: parsed,
        requiredScope: field.subgraphs.length ? `registry:read:${field.subgraphs[0]}` : 'registry:read:*',
      });
    }
    const since = day(new Date(now.getTime() - this.deps.usageWindowDays * DAY_MS));
    const rows = await usageStore.usageOf(this.ds.manager, [parsed], since);
    const byClient = new Map<string, ClientUsage>();
    for (const row of rows) {
      const client = byClient.get(row.clientId) ?? { clientId: row.clientId, operations: [] };
      client.operations.push({ name: row.operationName || null, hash: row.operationHash, count: row.count, lastSeen: row.lastSeen.toISOString(), registered: false });
      byClient.set(row.clientId, client);
    }
    const countOf = (c: ClientUsage) => c.operations.reduce((n, o) => n + o.count, 0);
    const clients = [...byClient.values()]
      .map((c) => ({ ...c, operations: c.operations.sort((a, b) => b.count - a.count) }))
      .sort((a, b) => countOf(b) - countOf(a) || a.clientId.localeCompare(b.clientId));
    return { coordinate: parsed, windowDays: this.deps.usageWindowDays, since, total: clients.reduce((n, c) => n + countOf(c), 0), clients, subgraphs: field.subgraphs };
  }
}
