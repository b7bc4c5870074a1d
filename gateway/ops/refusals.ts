import type { Registry } from 'prom-client';

/** The gateway's counter of refused requests, labelled by `reason` and `client`. */
export const REFUSALS_METRIC = 'omnistock_gateway_refusals_total';

export interface RefusalFigures {
  /** Whether the gateway has the counter yet (it is treated as zero until then). */
  counted: boolean;
  /** Refusals per reason since the gateway started, and in the last minute. */
  reasons: { reason: string; total: number; lastMinute: number }[];
  total: number;
  lastMinute: number;
  /** Seconds the last-minute figures cover: less than 60 while the page has watched for less. */
  windowSeconds: number;
}

interface Sample {
  at: number;
  byReason: Map<string, number>;
}

const MINUTE_MS = 60_000;

/**
 * Per-minute refusal rates from successive reads of the counter (a Prometheus counter only knows
 * its totals): the last minute is the difference between the newest sample and the oldest one at
 * most a minute old. The counter is read by name, so this works whoever registers it, and as zero
 * while nobody does.
 */
export class RefusalRates {
  private samples: Sample[] = [];

  constructor(private readonly registry: () => Registry | undefined) {}

  async sample(now = Date.now()): Promise<RefusalFigures> {
    const metric = this.registry()?.getSingleMetric(REFUSALS_METRIC);
    const byReason = new Map<string, number>();
    if (metric) {
      for (const v of (await metric.get()).values) {
        const reason = String(v.labels['reason'] ?? 'UNKNOWN');
        byReason.set(reason, (byReason.get(reason) ?? 0) + v.value);
      }
    }
    return this.add({ at: now, byReason }, !!metric);
  }

  /** Adds a sample and computes the figures (pure, for unit tests). */
  add(sample: Sample, counted: boolean): RefusalFigures {
    this.samples.push(sample);
    // The baseline is the oldest sample of the last minute: after a pause in sampling (nobody
    // watched) the window restarts rather than spanning the pause.
    while (this.samples[0]!.at < sample.at - MINUTE_MS) this.samples.shift();
    const base = this.samples[0]!;
    const reasons = [...new Set([...sample.byReason.keys(), ...base.byReason.keys()])].sort().map((reason) => {
      const total = sample.byReason.get(reason) ?? 0;
      // A counter that went down was reset (a new registry): what it counts since is the minute's.
      const before = base.byReason.get(reason) ?? 0;
      return { reason, total, lastMinute: total >= before ? total - before : total };
    });
    return {
      counted,
      reasons,
      total: reasons.reduce((s, r) => s + r.total, 0),
      lastMinute: reasons.reduce((s, r) => s + r.lastMinute, 0),
      windowSeconds: Math.min(60, Math.round((sample.at - base.at) / 1000)),
    };
  }
}
