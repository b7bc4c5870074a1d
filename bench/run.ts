import autocannon from 'autocannon';
import { quantile } from 'simple-statistics';

export interface LoadResult {
  name: string;
  requestsPerSec: number;
  p50: number;
  p99: number;
  /** Transport errors, timeouts, and 2xx answers carrying GraphQL errors (an answer is only fast if it is right). */
  errors: number;
  non2xx: number;
}

export interface Load {
  name: string;
  url: string;
  /** The request body; with `bodies`, the first one. */
  body: string;
  /** A body per request (its number from 0), for a load whose requests differ. */
  bodies?: (n: number) => string;
  headers?: Record<string, string>;
}

/** Drives one fixed-connection load with autocannon; a short warm-up precedes the measured run. */
export async function drive(
  load: Load,
  opts: { connections: number; seconds: number; warmupSeconds: number; /** Called as the measured run starts, after the warm-up. */ measuring?: () => void },
): Promise<LoadResult & { /** Requests answered in the measured run. */ requests: number }> {
  let n = 0;
  let answeredWithErrors = 0;
  const bodies = load.bodies;
  const base = {
    url: load.url,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', ...load.headers },
    body: load.body,
    connections: opts.connections,
    requests: [
      {
        ...(bodies ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies(n++) }) } : {}),
        onResponse: (status: number, body: string) => {
          if (status < 300 && body.includes('"errors":[')) answeredWithErrors++;
        },
      },
    ],
  };
  if (opts.warmupSeconds > 0) await autocannon({ ...base, duration: opts.warmupSeconds });
  answeredWithErrors = 0;
  opts.measuring?.();
  const r = await autocannon({ ...base, duration: opts.seconds });
  return {
    name: load.name,
    requestsPerSec: r.requests.average,
    requests: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + answeredWithErrors,
    non2xx: r.non2xx,
  };
}

/** The p-th percentile (0..100); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  return values.length ? quantile([...values], p / 100) : Number.NaN;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One row from several rounds of one target: medians of throughput and latency, summed errors. */
export function mergeRuns(runs: LoadResult[]): LoadResult {
  return {
    name: runs[0]!.name,
    requestsPerSec: median(runs.map((r) => r.requestsPerSec)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  };
}

/** A text table: the first column left-aligned, the others right-aligned, a rule under the head. */
export function renderTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function table(rows: LoadResult[]): string {
  const head = ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'];
  return renderTable(head, rows.map((r) => [r.name, r.requestsPerSec.toFixed(0), r.p50.toFixed(1), r.p99.toFixed(1), String(r.errors), String(r.non2xx)]));
}

export interface ClassifiedRun {
  /** Answers per class, e.g. `{ Reservation: 120, InsufficientStock: 3 }`; unclassified answers count as errors. */
  counts: Record<string, number>;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
  seconds: number;
}

/**
 * Drives a mutation whose body changes per request (a fresh idempotency key each time) for a
 * duration or a number of requests, and counts the answers by class.
 */
export async function driveClassified(opts: {
  url: string;
  connections: number;
  seconds?: number;
  amount?: number;
  headers?: Record<string, string>;
  body: (n: number) => string;
  classify: (status: number, body: string) => string | null;
}): Promise<ClassifiedRun> {
  const counts: Record<string, number> = {};
  let errors = 0;
  let n = 0;
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds ?? 10 }),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        setupRequest: (req) => ({ ...req, body: opts.body(n++) }),
        onResponse: (status, body) => {
          const kind = opts.classify(status, body);
          if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
          else errors++;
        },
      },
    ],
  });
  return {
    counts,
    errors: errors + result.errors + result.timeouts,
    non2xx: result.non2xx,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds: (result.duration ?? opts.seconds ?? 1) || 1,
  };
}

/** The `__typename` or status a GraphQL answer names first, among the given ones. */
export function firstOf(kinds: readonly string[]): (status: number, body: string) => string | null {
  return (status, body) => (status === 200 ? (kinds.find((k) => body.includes(`"${k}"`)) ?? null) : null);
}
