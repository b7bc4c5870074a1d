/**
 * `omnistock marketplace …`: operators' view of marketplace sync, run against the marketplaces database
 * of this installation's configuration (the same operations as the GraphQL admin mutations).
 */
import { Command } from 'commander';
import type { DataSource } from 'typeorm';
import { config } from '../../lib/config.js';
import { openSubgraphDatabase } from '../../lib/subgraph.js';
import { marketplaceQueues } from '../../subgraphs/marketplaces/services/queues.js';
import { MarketplaceService } from '../../subgraphs/marketplaces/services/marketplace.service.js';
import { marketplacesSubgraph } from '../../subgraphs/marketplaces/index.js';
import { print } from './common.js';

interface Session {
  marketplace: MarketplaceService;
  /** The channel's id from its code. @throws when there is none */
  channelId(code: string): Promise<string>;
}

async function withSession<T>(work: (s: Session) => Promise<T>): Promise<T> {
  const cfg = config();
  const ds: DataSource = await openSubgraphDatabase(cfg, marketplacesSubgraph);
  const queues = marketplaceQueues(cfg);
  const marketplace = new MarketplaceService(ds, queues, { allowedHosts: cfg.MARKETPLACE_ALLOWED_HOSTS });
  try {
    return await work({
      marketplace,
      async channelId(code) {
        const channel = await marketplace.channelByCode(code);
        if (!channel) throw new Error(`no channel has the code ${code}`);
        return channel.id;
      },
    });
  } finally {
    await queues.close();
    await ds.destroy();
  }
}

export function marketplaceCommand(): Command {
  const command = new Command('marketplace').description('Marketplace sync: status, dead letters, replay, drift repair');

  command
    .command('status')
    .description('Health, backlog, lag, dead letters and throttling of every marketplace channel')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withSession(async (s) => {
        const connections = await s.marketplace.resolvedConnections();
        const ids = connections.map((c) => c.channelId);
        const summaries = await s.marketplace.summaries(ids);
        const rows = connections.map((c, i) => ({ channel: c.channelCode, kind: c.kind, accountId: c.accountId, healthy: !summaries[i]?.problem, ...summaries[i] }));
        const health = (r: (typeof rows)[number]) =>
          r.problem ? `UNHEALTHY ${r.problem.code} since ${r.problem.since.toISOString()} (${r.problem.message}), its pushes wait` : 'healthy';
        print(!!opts.json, rows, () =>
          rows.length
            ? rows
                .map((r) => `${r.channel} (${r.kind} ${r.accountId}): ${health(r)}; backlog ${r.backlog}, lag p95 ${r.lagP95Ms ?? '-'} ms, dead letters ${r.deadLetters}, throttled ${r.throttleCount}x, last push ${r.lastPushAt?.toISOString() ?? 'never'}`)
                .join('\n')
            : 'No marketplace connections.',
        );
      }),
    );

  command
    .command('dead-letters')
    .description('Open dead letters of a channel, newest first')
    .requiredOption('-c, --channel <code>', 'channel code, e.g. AMAZON-UK')
    .option('-n, --limit <n>', 'at most this many (1-100)', (v) => Number(v), 50)
    .option('--all', 'include replayed ones')
    .option('--json', 'print JSON')
    .action((opts: { channel: string; limit: number; all?: boolean; json?: boolean }) =>
      withSession(async (s) => {
        const page = await s.marketplace.deadLetters(await s.channelId(opts.channel), !!opts.all, opts.limit, null);
        const rows = page.edges.map((e) => e.node);
        print(!!opts.json, rows, () =>
          rows.length
            ? rows.map((d) => `${d.id}  ${d.sku}  qty ${d.quantity}  ${d.code ?? ''}  ${d.message}${d.replayedAt ? `  (replayed ${d.replayedAt.toISOString()})` : ''}`).join('\n')
            : 'No dead letters.',
        );
      }),
    );

  command
    .command('replay')
    .description("Queue the SKUs of a channel's open dead letters again (all, or those named), with the current available-to-sell")
    .requiredOption('-c, --channel <code>', 'channel code')
    .option('--id <ids...>', 'only these dead letters')
    .option('--json', 'print JSON')
    .action((opts: { channel: string; id?: string[]; json?: boolean }) =>
      withSession(async (s) => {
        const replayed = await s.marketplace.replayDeadLetters({ channelId: await s.channelId(opts.channel), ids: opts.id ?? null });
        print(!!opts.json, { replayed: replayed.map((d) => d.id) }, () => `Replayed ${replayed.length} dead letter(s).`);
      }),
    );

  command
    .command('drift')
    .description("Read the marketplace's quantities back now and correct drift (the jobs process runs it)")
    .requiredOption('-c, --channel <code>', 'channel code')
    .action((opts: { channel: string }) =>
      withSession(async (s) => {
        await s.marketplace.requestDriftRepair(await s.channelId(opts.channel));
        process.stdout.write('Drift repair queued; see `omnistock marketplace status` or Channel.marketplaceSync.driftRuns.\n');
      }),
    );

  return command;
}
