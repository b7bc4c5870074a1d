import { getNamedType, isObjectType, Kind, print, type GraphQLObjectType, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { SerializedData, type ExecuteOperation, type PreparedAnswer, type PreparedAnswers } from '../../../lib/jit-executor.js';
import type { AvailabilityFigure } from '../domain/availability-rules.js';
import type { AvailabilityEntry, ChannelAvailability, ReadConsistency } from '../services/availability.service.js';
import type { InventoryContext } from './context.js';

/**
 * Per type, the fields whose values an availability entry's figure (and its locations' names)
 * decide: an answer kept by figure holds only these (and `__typename`). Not `asOf` or `sequence`
 * (each answer's own), nor `item` (the item's, which no figure follows).
 */
const FROM_FIGURE: Record<string, ReadonlySet<string>> = {
  ChannelAvailability: new Set(['sku', 'channelId', 'availableToSell', 'status', 'locations']),
  LocationAvailability: new Set(['location', 'available', 'pickup']),
  Location: new Set(['id', 'name']),
};

/** Distinct selections remembered at most; past it they start over (kept answers of the forgotten ones age out of the cache). */
const MAX_SELECTIONS = 10_000;

/** One entry's answer as UTF-8 JSON, valid while the entry's figure is `figure` and the kept location names stand at `namesEpoch` (ReplicaService.namesStanding). */
interface Kept {
  figure: AvailabilityFigure;
  namesEpoch: number;
  json: Buffer;
}

/** An entry the read model answered: it has a figure to keep its JSON by. */
type Figured = ChannelAvailability & { figure: AvailabilityFigure };

interface AvailabilityArgs {
  channelId: string;
  skus: string[];
  consistency?: ReadConsistency | null;
}

/**
 * The storefront's availability query answered from kept JSON. A storefront asks the same selection
 * of the same SKUs over and over, and nearly all of the inventory subgraph's work per request was
 * the same each time: walking 20 entries by 28 locations through the executor, naming each location,
 * and writing the whole as JSON. The read model hands out one figure object per (channel, SKU) for as
 * long as its numbers are unchanged (AvailabilityReadModel.figureOf), so an entry's JSON, written
 * once by the executor, stays valid while its figure is the same object and its locations' names are
 * the same: an answer is then the entries' JSON joined.
 *
 * Taken only by an operation whose one root field is `availability`, selecting nothing but fields in
 * FROM_FIGURE, with no fragment, argument or directive below it. The figures are read as the resolver
 * reads them (ctx.availability.forChannel: validation, consistency, the read model or MySQL); entries
 * with nothing kept are run through the compiled query given them as its root value (the resolver
 * answers them as they are), and kept when they have a figure. Anything that goes wrong, a refused
 * read or an error in an entry, is answered by the compiled query over the same read, so errors,
 * their paths and codes are the executor's. At most `maxBytes` of JSON is kept, least recently used
 * first out.
 */
export class AvailabilityAnswers implements PreparedAnswers<InventoryContext> {
  private readonly kept: LRUCache<string, Kept>;
  private readonly selections = new Map<string, number>();
  private readonly entries: Counter<'from'>;

  constructor(maxBytes: number, metrics: Registry) {
    this.kept = new LRUCache<string, Kept>({ maxSize: maxBytes, sizeCalculation: (k) => k.json.length + 100 });
    this.entries = new Counter({
      name: 'omnistock_availability_answer_entries_total',
      help: 'Entries of availability queries answered from their kept JSON (kept) or run through the executor (executed)',
      labelNames: ['from'] as const,
      registers: [metrics],
    });
  }

  prepare(schema: GraphQLSchema, operation: OperationDefinitionNode, execute: ExecuteOperation<InventoryContext>): PreparedAnswer<InventoryContext> | null {
    if (operation.operation !== 'query' || operation.directives?.length) return null;
    const [root, ...others] = operation.selectionSet.selections;
    if (others.length || root?.kind !== Kind.FIELD || root.name.value !== 'availability' || root.directives?.length || !root.selectionSet) return null;
    const field = schema.getQueryType()?.getFields()['availability'];
    const entryType = field && getNamedType(field.type);
    if (!field || !isObjectType(entryType) || !fromFigureOnly(entryType, root.selectionSet)) return null;
    const selection = this.selectionId(print(root.selectionSet));
    const responseName = root.alias?.value ?? root.name.value;
    // The data's JSON around its entries: {"<response name>":[ ... ]}
    const open = Buffer.from(`{${JSON.stringify(responseName)}:[`);

    return async (values, inputs, ctx) => {
      const args = getArgumentValues(field, root, values) as unknown as AvailabilityArgs;
      const read = ctx.availability.forChannel(args.channelId, args.skus, { consistency: args.consistency, reads: ctx.reads });
      const entries = await read.catch(() => null);
      // Refused or failed: the resolver reports it, from the same read.
      if (!entries) return execute({ availability: read }, inputs, ctx);
      if (!entries.some(figured)) return execute({ availability: entries }, inputs, ctx);
      // Names past RULE_CACHE_MS are read again first (one query a second at most): unchanged, what was kept stands.
      if (ctx.replicas.namesStanding() === null) await ctx.replicas.refreshLocationNames().catch(() => undefined);
      const standing = ctx.replicas.namesStanding();
      const parts: Buffer[] = new Array(entries.length);
      const missing: number[] = [];
      let nulls = 0;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        const json = entry === null ? NULL : this.keptJson(selection, entry, standing);
        if (entry === null) nulls++;
        if (json === undefined) missing.push(i);
        else parts[i] = json;
      }
      this.entries.inc({ from: 'kept' }, entries.length - nulls - missing.length);
      if (missing.length) {
        this.entries.inc({ from: 'executed' }, missing.length);
        const before = missing.map((i) => this.namesOf(entries[i]!, ctx));
        const result = await execute({ availability: missing.map((i) => entries[i]) }, inputs, ctx);
        const list = (result.data as Record<string, unknown[]> | null | undefined)?.[responseName];
        // Errors are reported at their own entries' paths: the whole read run through the executor.
        if (result.errors?.length || !Array.isArray(list)) return execute({ availability: entries }, inputs, ctx);
        missing.forEach((i, j) => {
          const json = Buffer.from(JSON.stringify(list[j]));
          parts[i] = json;
          this.keep(selection, entries[i]!, before[j], ctx.replicas.namesStanding(), json);
        });
      }
      const chunks: Buffer[] = [open];
      parts.forEach((part, i) => {
        if (i) chunks.push(COMMA);
        chunks.push(part);
      });
      chunks.push(CLOSE);
      return new SerializedData(chunks);
    };
  }

  /** The entry's kept JSON for this selection, when its figure is still the one it was written from and the names still stand as then (`standing`). */
  private keptJson(selection: number, entry: AvailabilityEntry, standing: number | null): Buffer | undefined {
    if (!figured(entry) || standing === null) return undefined;
    const kept = this.kept.get(keyOf(selection, entry.channelId, entry.sku));
    return kept && kept.figure === entry.figure && kept.namesEpoch === standing ? kept.json : undefined;
  }

  /** The epoch the entry's locations' names stand at, when they are at hand (kept, no I/O); null otherwise. */
  private namesOf(entry: AvailabilityEntry, ctx: InventoryContext): number | null {
    return figured(entry) ? ctx.replicas.namesEpochOf(entry.figure.locations.map((l) => l.locationId)) : null;
  }

  /**
   * Keeps an entry's JSON when the names it was written with are known: those at hand before it ran
   * (`before`), and no name changed since (`standing`, now, is the same epoch: one changed meanwhile
   * may or may not be in it).
   */
  private keep(selection: number, entry: AvailabilityEntry, before: number | null, standing: number | null, json: Buffer): void {
    if (before === null || standing !== before || !figured(entry)) return;
    this.kept.set(keyOf(selection, entry.channelId, entry.sku), { figure: entry.figure, namesEpoch: before, json });
  }

  private selectionId(text: string): number {
    let id = this.selections.get(text);
    if (id === undefined) {
      if (this.selections.size >= MAX_SELECTIONS) this.selections.clear();
      id = nextSelection++;
      this.selections.set(text, id);
    }
    return id;
  }
}

/** Ids are never reused, so a key of a forgotten selection never names another's answer. */
let nextSelection = 0;

const NULL = Buffer.from('null');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

const keyOf = (selection: number, channelId: string, sku: string) => `${selection}\u0000${channelId}\u0000${sku}`;

const figured = (entry: AvailabilityEntry): entry is Figured => !!entry && !(entry instanceof Error) && entry.figure !== null;

/** Whether the selection asks only fields FROM_FIGURE names, with no argument, directive or fragment. */
function fromFigureOnly(type: GraphQLObjectType, set: SelectionSetNode): boolean {
  const allowed = FROM_FIGURE[type.name];
  for (const s of set.selections) {
    if (s.kind !== Kind.FIELD || s.directives?.length || s.arguments?.length) return false;
    if (s.name.value === '__typename') continue;
    const field = allowed?.has(s.name.value) ? type.getFields()[s.name.value] : undefined;
    if (!field) return false;
    const named = getNamedType(field.type);
    if (s.selectionSet && !(isObjectType(named) && fromFigureOnly(named, s.selectionSet))) return false;
  }
  return true;
}
