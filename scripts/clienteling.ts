/**
 * npm run example:clienteling -- --store <code> [--channel <code>] [--url ws://localhost:4000/graphql] [--key <api key>]
 * A clienteling app's view: live stock changes at one store, with item names and a channel's
 * available-to-sell, through the gateway with the official graphql-ws client. Resumes from the
 * last sequence it printed when the connection drops.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { config } from '../lib/config.js';
import { demoKeysFile } from './demo/keys.js';

const program = new Command('clienteling')
  .requiredOption('--store <code>', 'store code, e.g. STR-LON-01')
  .option('--channel <code>', 'channel whose available-to-sell to show', 'POS-UK')
  .option('--url <url>', 'gateway graphql-ws URL', 'ws://localhost:4000/graphql')
  .option('--key <key>', "API key (default: the clienteling demo key npm start printed)")
  .parse();
const opts = program.opts<{ store: string; channel: string; url: string; key?: string }>();
// The demo's clienteling key, as npm start kept it for this installation's databases.
const key =
  opts.key ??
  (await readFile(demoKeysFile(config()), 'utf8').then(
    (text) => (JSON.parse(text) as Record<string, string>)['clienteling'],
    () => undefined,
  ));

export const STORE_STOCK = /* GraphQL */ `
  subscription StoreStock($filter: StockChangedFilter!, $since: String) {
    stockChanged(filter: $filter, since: $since) {
      sequence
      sku
      item { name }
      location { code name }
      change
      before { available }
      after { available }
      availableToSell
      stockStatus
      at
    }
  }
`;

const client = createClient({ url: opts.url, webSocketImpl: WebSocket, connectionParams: key ? { 'x-api-key': key } : { 'x-client-id': 'clienteling-example' }, retryAttempts: 0 });

async function query<T>(q: string, variables: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    let data: unknown;
    client.subscribe({ query: q, variables }, {
      next: (r) => (r.errors ? reject(new Error(r.errors.map((e) => e.message).join('; '))) : (data = r.data)),
      error: reject,
      complete: () => resolve(data as T),
    });
  });
}

const { locationByCode: store } = await query<{ locationByCode: { id: string; name: string } | null }>(
  `query($c: String!) { locationByCode(code: $c) { id name } }`, { c: opts.store });
if (!store) throw new Error(`No store ${opts.store}`);
const { channelByCode: channel } = await query<{ channelByCode: { id: string; name: string } | null }>(
  `query($c: String!) { channelByCode(code: $c) { id name } }`, { c: opts.channel });
if (!channel) throw new Error(`No channel ${opts.channel}`);
console.log(`Watching stock at ${store.name} (${opts.store}); available-to-sell on ${channel.name}. Ctrl-C to stop.`);

let since: string | null = null;
const subscribe = () =>
  client.subscribe(
    { query: STORE_STOCK, variables: { filter: { locationIds: [store.id], channelId: channel.id }, since } },
    {
      next: (r) => {
        if (r.errors) return console.error(r.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('\n'));
        const c = (r.data as any).stockChanged;
        since = c.sequence;
        const extra = (r.extensions ?? {}) as { conflated?: number };
        const conflated = extra.conflated ? ` (+${extra.conflated} conflated)` : '';
        console.log(
          `${c.at}  ${c.sku.padEnd(12)} ${c.item.name.padEnd(32)} ${c.change.padEnd(12)} available ${c.before.available} -> ${c.after.available}  ` +
            `${opts.channel} ATS ${c.availableToSell} ${c.stockStatus}${conflated}`,
        );
      },
      error: (err) => {
        console.error('connection lost; resuming in 1 s from', since, (err as Error)?.message ?? '');
        setTimeout(subscribe, 1000);
      },
      complete: () => process.exit(0),
    },
  );
subscribe();
process.on('SIGINT', () => {
  void Promise.resolve(client.dispose()).then(() => process.exit(0));
});
