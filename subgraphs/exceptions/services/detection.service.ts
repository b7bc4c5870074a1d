import type { DataSource } from 'typeorm';
import { exceptionStore } from '../data/exception.store.js';
import type { Signal } from '../domain/exception-rules.js';
import type { AnomalyService } from './anomaly.service.js';
import type { ExceptionService } from './exception.service.js';

/** The source anomaly findings are signalled under; a run's start time is their sequence. */
export const ANOMALY_SOURCE = 'anomalies';

/**
 * Runs anomaly detection and turns its findings into exceptions: each finding is a subject raised
 * (the same SKU-location and kind again updates it), and a subject an earlier run raised that this
 * run no longer finds is cleared, so its exception resolves itself.
 */
export class DetectionService {
  constructor(
    private readonly ds: DataSource,
    private readonly anomalies: AnomalyService,
    private readonly exceptions: ExceptionService,
  ) {}

  async run(now = new Date()): Promise<{ findings: number; series: number; ms: number }> {
    const { findings, trends, stats } = await this.anomalies.detect(now);
    const at = now.toISOString();
    const raised: Signal[] = [
      ...findings.map(
        (f): Signal => ({
          kind: f.kind,
          state: 'RAISED',
          subject: `${f.sku}:${f.locationId}`,
          cause: f.kind,
          explanation: f.explanation,
          sku: f.sku,
          locationId: f.locationId,
          channelId: null,
          units: f.units ?? null,
          value: null,
          measure: f.score,
          evidence: [],
          action: null,
          at,
        }),
      ),
      ...trends.map(
        (t): Signal => ({
          kind: t.kind,
          state: 'RAISED',
          subject: t.channelId,
          cause: t.kind,
          explanation: t.explanation,
          sku: null,
          locationId: null,
          channelId: t.channelId,
          units: null,
          value: null,
          measure: t.score,
          evidence: [],
          action: null,
          at,
        }),
      ),
    ];
    const found = new Set(raised.map((s) => `${s.kind}|${s.subject}`));
    const standing = await exceptionStore.openSubjectsBySource(this.ds.manager, ANOMALY_SOURCE);
    const cleared = standing
      .filter((s) => !found.has(`${s.kind}|${s.subject}`))
      .map(
        (s): Signal => ({
          kind: s.kind as Signal['kind'],
          state: 'CLEARED',
          subject: s.subject,
          cause: '',
          explanation: 'no longer found by anomaly detection',
          sku: null,
          locationId: null,
          channelId: null,
          units: null,
          value: null,
          measure: null,
          evidence: [],
          action: null,
          at,
        }),
      );
    await this.exceptions.apply([...raised, ...cleared].map((signal) => ({ source: ANOMALY_SOURCE, seq: now.getTime(), signal })));
    return { findings: raised.length, series: stats.series, ms: Math.round(stats.ms) };
  }
}
