/**
 * `omnistock import sales <file.csv>`: records a POS export's sales through the gateway's GraphQL API
 * (GATEWAY_URL, GATEWAY_TOKEN), with a progress bar, then reports what was recorded, what an earlier
 * import had recorded already, and each rejected row by line (contracts/sales-import.ts).
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { config, gatewayUrl } from '../../lib/config.js';
import { progressBar } from '../../lib/progress.js';
import { importSales, parseSalesCsv, SalesFileError, SalesImportError } from '../../contracts/sales-import.js';
import { graphqlCall } from './common.js';

export function importCommand(): Command {
  const command = new Command('import').description('Record sales exported by stores and partners');
  command
    .command('sales')
    .description('Record a sales CSV (columns store, sku, quantity, time, transaction_id): idempotent per (store, transaction, SKU); bad rows are reported by line and not written')
    .argument('<file>', 'the CSV file')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const cfg = config();
      let parsed;
      try {
        parsed = parseSalesCsv(await readFile(file, 'utf8'));
      } catch (err) {
        if (!(err instanceof SalesFileError)) throw err;
        console.error(`${file}: ${err.message}`);
        process.exitCode = 2;
        return;
      }
      const bar = progressBar('sales {bar} {percentage}% | {value}/{total} rows | {duration}s', process.stderr);
      bar.start(parsed.rows.length + parsed.bad.length, 0);
      let report;
      try {
        report = await importSales(parsed, graphqlCall(gatewayUrl(cfg), cfg.GATEWAY_TOKEN, 'omnistock-import'), (done) => bar.update(done));
      } catch (err) {
        bar.stop();
        if (!(err instanceof SalesImportError)) throw err;
        console.error(`${err.code}: ${err.message}${err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN' ? ' (set GATEWAY_TOKEN to an API key with inventory:write and availability:read)' : ''}`);
        process.exitCode = 1;
        return;
      }
      bar.stop();
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(`${report.rows} rows: ${report.recorded} sales recorded, ${report.replayed} recorded before, ${report.rejected.length} rows rejected`);
        for (const r of report.rejected) console.log(`  line ${r.line}: ${r.message}`);
      }
      if (report.rejected.length) process.exitCode = 1;
    });
  return command;
}
