import { createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { configWith, databaseName } from '../lib/config.js';
import { progressBar } from '../lib/progress.js';
import { openSubgraphDatabase } from '../lib/subgraph.js';
import { exceptionsSubgraph } from '../subgraphs/exceptions/index.js';
import { ledgerStore, type LedgerRow } from '../subgraphs/exceptions/data/ledger.store.js';
import { DAY_MS, dayLabel } from '../subgraphs/exceptions/domain/ledger-rules.js';
import { ANOMALY_KINDS, type AnomalyFinding, type TrendFinding } from '../subgraphs/exceptions/domain/anomaly-rules.js';
import { AnomalyService } from '../subgraphs/exceptions/services/anomaly.service.js';
import { DEFAULT_PLAN, generateSku, planAnomalies, scoreFindings, seriesKey, type AnomalyPlan } from './anomaly-plan.js';
import { renderTable } from './run.js';
import { benchLogDir } from './system.js';

/**
 * npm run bench -- anomalies: a seeded 90-day ledger with known anomalies and look-alikes
 * (bench/anomaly-plan.ts) written through the ledger store into a database of its own, detection
 * run and timed through AnomalyService as the jobs process runs it, and precision and recall per
 * kind. Needs MariaDB only: no service, no Redis.
 */

const PREFIX = 'omnistock_bench_anomalies';
/** SKUs written while the next ones are generated. */
const WRITERS = 2;

export interface AnomalyBenchOptions {
  seed: number;
  skus: number;
  locations: number;
  days: number;
}

export async function benchAnomalies(o: AnomalyBenchOptions): Promise<void> {
  const plan = planAnomalies({ ...DEFAULT_PLAN, ...o });
  const cfg = configWith({ DB_PREFIX: PREFIX, LOG_LEVEL: 'warn', LOG_DIR: benchLogDir(PREFIX) });
  const database = databaseName(cfg, 'exceptions');
  process.stdout.write(
    `Anomalies: ${o.skus} SKUs at ${o.locations} locations over ${o.days} days to ${dayLabel(plan.options.lastDay)}, ${plan.options.channels} channels, seed ${o.seed}; ` +
      `${plan.options.perKind} anomalies injected per ledger kind (and ${plan.options.perKind / 4} more behind a dismissal), ${plan.options.perTrendKind} per trend kind; database ${database}\n`,
  );
  const conn = await createConnection({ uri: cfg.MYSQL_URL });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await conn.end();
  }
  const ds = await openSubgraphDatabase(cfg, exceptionsSubgraph);
  try {
    const service = new AnomalyService(ds, { windowDays: o.days });
    const rows = await writeLedger(ds, plan);
    await writeRest(ds, service, plan);

    const dismissed = await dismissEarlierFindings(service, plan);
    process.stdout.write(`Dismissed ${dismissed.marked} findings of a detection run on ${dayLabel(plan.dismissalDay)} (${dismissed.series} series planted for it)\n`);

    const bar = progressBar('Detecting   |{bar}| {value}/{total} SKUs');
    bar.start(o.skus, 0);
    const result = await service.detect(new Date((plan.options.lastDay + 1) * DAY_MS), { onProgress: (n) => bar.update(n) });
    bar.stop();
    report(plan, rows, result.findings, result.trends, result.stats);
  } finally {
    await ds.destroy();
  }
}

/** The plan's ledger, a SKU at a time: only days with a movement have a row, as the feed writes them. */
async function writeLedger(ds: DataSource, plan: AnomalyPlan): Promise<number> {
  const bar = progressBar('Writing     |{bar}| {value}/{total} SKUs | {rows} rows');
  bar.start(plan.options.skus, 0, { rows: 0 });
  let rows = 0;
  let next = 0;
  const started = performance.now();
  const writer = async () => {
    for (let sku = next++; sku < plan.options.skus; sku = next++) {
      const w = generateSku(plan, sku);
      const out: LedgerRow[] = [];
      for (const l of w.locations) {
        for (let i = 0; i < w.days; i++) {
          if (!(l.movements[i]! || l.sold[i]! || l.shrink[i]! || l.received[i]! || l.corrections[i]!)) continue;
          out.push({
            sku: w.sku,
            locationId: l.locationId,
            day: w.firstDay + i,
            sold: l.sold[i]!,
            shrink: l.shrink[i]!,
            corrections: l.corrections[i]!,
            correctionUnits: l.correctionUnits[i]!,
            received: l.received[i]!,
            movements: l.movements[i]!,
            onHandEnd: l.onHandEnd[i]!,
          });
        }
      }
      await ledgerStore.bulkInsert(ds.manager, out);
      rows += out.length;
      bar.increment(1, { rows });
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  bar.stop();
  process.stdout.write(`Wrote ${rows.toLocaleString('en-GB')} ledger rows in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return rows;
}

/** The channels' sync figures and the announced promotions (through the service, as a person announces one). */
async function writeRest(ds: DataSource, service: AnomalyService, plan: AnomalyPlan): Promise<void> {
  await ledgerStore.bulkProblemDays(
    ds.manager,
    plan.channels.flatMap((c) => [c.lag, c.drift].flatMap((s) => s.days.map((d) => ({ kind: s.kind, channelId: c.channelId, day: d.day, value: d.value })))),
  );
  for (const p of plan.promotions) {
    await service.announcePromotion({ sku: p.sku, locationId: p.locationId, from: new Date(p.fromDay * DAY_MS), to: new Date(p.toDay * DAY_MS), note: 'bench promotion' }, 'bench');
  }
}

/**
 * The look-alikes of feedback: detection as it ran three weeks before, on the SKUs planted with a
 * spike or loss then; each of their findings is marked not an anomaly, as a person would.
 */
async function dismissEarlierFindings(service: AnomalyService, plan: AnomalyPlan): Promise<{ marked: number; series: number }> {
  const L = plan.options.locations;
  const planted = new Map<string, string>();
  for (const [series, s] of plan.scenarios) {
    if (s.type === 'DISMISSED') planted.set(seriesKey(plan.skuIds[Math.floor(series / L)]!, plan.locationIds[series % L]!), s.kind);
  }
  const skus = [...new Set([...planted.keys()].map((k) => k.split('|')[0]!))];
  const past = await service.detect(new Date((plan.dismissalDay + 1) * DAY_MS), { skus });
  let marked = 0;
  for (const f of past.findings) {
    if (planted.get(seriesKey(f.sku, f.locationId)) !== f.kind) continue;
    await service.markNotAnomaly({ kind: f.kind, sku: f.sku, locationId: f.locationId, channelId: null, score: f.score, day: new Date(f.day * DAY_MS), by: 'bench', note: 'known: not an anomaly' });
    marked++;
  }
  return { marked, series: planted.size };
}

function report(plan: AnomalyPlan, rows: number, findings: AnomalyFinding[], trends: TrendFinding[], stats: { series: number; ms: number }): void {
  const { scores, falseFindings } = scoreFindings(plan, findings, trends);
  const body = scores.map((s) => [
    s.kind,
    String(s.injected),
    String(s.found),
    String(s.truePositives),
    `${s.falsePositives}${s.lookAlikesFired ? ` (${s.lookAlikesFired} look-alikes)` : ''}`,
    String(s.injected - s.truePositives),
    s.precision.toFixed(3),
    s.recall.toFixed(3),
    s.precision >= 0.9 && s.recall >= 0.9 ? 'yes' : 'NO',
  ]);
  const lookAlikes = new Map<string, number>();
  for (const label of plan.lookAlikes.values()) lookAlikes.set(label, (lookAlikes.get(label) ?? 0) + 1);
  process.stdout.write(
    `\nPrecision and recall per kind: a finding is right when its series (SKU at a location) or channel had that kind injected.\n` +
      `${renderTable(['kind', 'injected', 'found', 'right', 'wrong', 'missed', 'precision', 'recall', '≥ 0.9'], body)}\n` +
      `Look-alikes that must stay quiet: ${[...lookAlikes].map(([label, n]) => `${n} ${label}`).join(', ')}; ` +
      `and ${plan.weeklyCounts.size} locations counting weekly, ${plan.highShrink.size} losing eight times the usual, a full count at one, ${plan.fading.size} SKUs fading everywhere.\n`,
  );
  for (const f of falseFindings.slice(0, 5)) process.stdout.write(`  wrong ${f.kind} ${f.key}${f.lookAlike ? ` (${f.lookAlike})` : ''}: ${f.explanation}\n`);
  process.stdout.write('\nOne finding of each kind, as detection explains it:\n');
  for (const kind of ANOMALY_KINDS) {
    const f = findings.find((x) => x.kind === kind) ?? trends.find((x) => x.kind === kind);
    if (f) process.stdout.write(`  ${kind} ${'sku' in f ? `${f.sku} at ${f.locationId}` : f.channelId}: ${f.explanation}\n`);
  }
  const secs = stats.ms / 1000;
  process.stdout.write(
    `\nDetection: ${secs.toFixed(1)} s for ${stats.series.toLocaleString('en-GB')} series (${rows.toLocaleString('en-GB')} ledger rows read from MariaDB) and ${plan.channels.length * 2} channel series; ` +
      `${findings.length + trends.length} findings. Aim: precision and recall ≥ 0.9 per kind, detection under a minute: ` +
      `${scores.every((s) => s.precision >= 0.9 && s.recall >= 0.9) && secs < 60 ? 'met' : 'NOT met'}.\n`,
  );
}
