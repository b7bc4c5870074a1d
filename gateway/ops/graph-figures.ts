import { z } from 'zod';

/**
 * The ops page's figures that live in the subgraphs, read through the gateway's own supergraph
 * (no other subgraph's tables): channels' marketplace sync state and inventory's reconciliation runs.
 */

/** Runs an operation through the gateway's request pipeline as the ops page's operator identity. */
export type OpsExecutor = (query: string, variables?: Record<string, unknown>) => Promise<{ data?: unknown; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }>;

/** The scopes the page's operator identity holds: exactly what these two queries select. */
export const OPS_OPERATOR_SCOPES = ['availability:read', 'channels:admin', 'inventory:read'];

const CHANNELS = `query OpsMarketplaceChannels($after: String) {
  channels(filter: { types: [MARKETPLACE] }, first: 100, after: $after) {
    edges { node { id code name marketplace status
      marketplaceSync { healthy problem { code message since } backlog lagP95Ms deadLetterCount throttleCount lastThrottledAt lastPushAt
        driftRuns(first: 1) { edges { node { id startedAt finishedAt checked drifted corrected error } } } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const RECONCILIATION = `query OpsReconciliationRuns {
  reconciliationRuns(first: 10) { edges { node { id source applied linesChecked driftCount createdAt } } }
}`;

const driftRun = z.object({
  id: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  checked: z.number(),
  drifted: z.number(),
  corrected: z.number(),
  error: z.string().nullable(),
});

const channelsPage = z.object({
  channels: z.object({
    edges: z.array(
      z.object({
        node: z.object({
          id: z.string(),
          code: z.string(),
          name: z.string(),
          marketplace: z.string().nullable(),
          status: z.string(),
          marketplaceSync: z
            .object({
              healthy: z.boolean(),
              problem: z.object({ code: z.string(), message: z.string(), since: z.string() }).nullable(),
              backlog: z.number(),
              lagP95Ms: z.number().nullable(),
              deadLetterCount: z.number(),
              throttleCount: z.number(),
              lastThrottledAt: z.string().nullable(),
              lastPushAt: z.string().nullable(),
              driftRuns: z.object({ edges: z.array(z.object({ node: driftRun })) }),
            })
            .nullable(),
        }),
      }),
    ),
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
  }),
});

const reconciliationPage = z.object({
  reconciliationRuns: z.object({
    edges: z.array(
      z.object({
        node: z.object({
          id: z.string(),
          source: z.string(),
          applied: z.boolean(),
          linesChecked: z.number(),
          driftCount: z.number(),
          createdAt: z.string(),
        }),
      }),
    ),
  }),
});

/** One connected marketplace channel's sync state. */
export interface ChannelFigures {
  id: string;
  code: string;
  name: string;
  marketplace: string | null;
  status: string;
  /** False while the connection's pushes wait (its secret missing or unreadable): `problem` says why. */
  healthy: boolean;
  problem: { code: string; message: string; since: string } | null;
  backlog: number;
  lagP95Ms: number | null;
  deadLetters: number;
  throttles: number;
  lastThrottledAt: string | null;
  lastPushAt: string | null;
  lastDriftRun: z.infer<typeof driftRun> | null;
}

export interface ReconciliationFigures {
  /** The newest runs, newest first. */
  runs: z.infer<typeof reconciliationPage>['reconciliationRuns']['edges'][number]['node'][];
}

/** Pages the supergraph answers are limited to; past this many marketplace channels the list is cut. */
const MAX_CHANNEL_PAGES = 10;

async function run<T>(execute: OpsExecutor, schema: z.ZodType<T>, query: string, variables?: Record<string, unknown>): Promise<T> {
  const result = await execute(query, variables);
  if (result.errors?.length) {
    const [first] = result.errors;
    const code = first!.extensions?.['code'];
    throw new Error(typeof code === 'string' ? `${code}: ${first!.message}` : first!.message);
  }
  return schema.parse(result.data);
}

/** Every marketplace channel with a connection, by code. */
export async function marketplaceChannels(execute: OpsExecutor): Promise<ChannelFigures[]> {
  const out: ChannelFigures[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_CHANNEL_PAGES; page++) {
    const data: z.infer<typeof channelsPage> = await run(execute, channelsPage, CHANNELS, { after });
    for (const { node } of data.channels.edges) {
      const sync = node.marketplaceSync;
      if (!sync) continue;
      out.push({
        id: node.id,
        code: node.code,
        name: node.name,
        marketplace: node.marketplace,
        status: node.status,
        healthy: sync.healthy,
        problem: sync.problem,
        backlog: sync.backlog,
        lagP95Ms: sync.lagP95Ms,
        deadLetters: sync.deadLetterCount,
        throttles: sync.throttleCount,
        lastThrottledAt: sync.lastThrottledAt,
        lastPushAt: sync.lastPushAt,
        lastDriftRun: sync.driftRuns.edges[0]?.node ?? null,
      });
    }
    if (!data.channels.pageInfo.hasNextPage) break;
    after = data.channels.pageInfo.endCursor;
  }
  return out;
}

/** Inventory's newest reconciliation runs. */
export async function reconciliationRuns(execute: OpsExecutor): Promise<ReconciliationFigures> {
  const data = await run(execute, reconciliationPage, RECONCILIATION);
  return { runs: data.reconciliationRuns.edges.map((e) => e.node) };
}
