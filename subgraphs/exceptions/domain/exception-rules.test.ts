import { describe, expect, it } from 'vitest';
import { groupKeyOf, maxSeverity, operationOf, severitiesFrom, severityOf, transition, type Signal } from './exception-rules.js';

const base: Signal = {
  kind: 'DEAD_LETTER',
  state: 'RAISED',
  subject: 'ch-1:SKU-1',
  cause: 'EBAY_25002',
  explanation: '',
  sku: 'SKU-1',
  locationId: null,
  channelId: 'ch-1',
  units: 1,
  value: null,
  measure: null,
  evidence: [],
  action: null,
  at: '2026-12-06T00:00:00.000Z',
};

describe('groupKeyOf', () => {
  it('groups one kind of failure by channel and cause, whatever the SKU', () => {
    expect(groupKeyOf({ ...base, subject: 'ch-1:SKU-2', sku: 'SKU-2' })).toBe(groupKeyOf(base));
    expect(groupKeyOf({ ...base, cause: 'HTTP_500' })).not.toBe(groupKeyOf(base));
    expect(groupKeyOf({ ...base, channelId: 'ch-2' })).not.toBe(groupKeyOf(base));
  });

  it('groups a reconciliation run as one problem, a listing to map and an anomaly series each as their own', () => {
    const run = (subject: string, runId: string): Signal => ({ ...base, kind: 'RECONCILIATION_DRIFT', subject, cause: 'erp:sap', action: { kind: 'APPLY_RECONCILIATION', runId } });
    expect(groupKeyOf(run('r1:A:L1', 'r1'))).toBe(groupKeyOf(run('r1:B:L2', 'r1')));
    expect(groupKeyOf(run('r1:A:L1', 'r1'))).not.toBe(groupKeyOf(run('r2:A:L1', 'r2')));
    const listing = (subject: string): Signal => ({ ...base, kind: 'UNMAPPED_LISTING', subject, cause: 'UNMAPPED_SKU' });
    expect(groupKeyOf(listing('ch-1:MK-1'))).not.toBe(groupKeyOf(listing('ch-1:MK-2')));
    const anomaly = (sku: string, locationId: string): Signal => ({ ...base, kind: 'SHRINKAGE', sku, locationId, subject: `${sku}:${locationId}`, cause: 'SHRINKAGE' });
    expect(groupKeyOf(anomaly('A', 'L1'))).not.toBe(groupKeyOf(anomaly('A', 'L2')));
  });
});

describe('severity', () => {
  it('rises with what is at risk', () => {
    expect(severityOf('DEAD_LETTER', { openSubjects: 1, units: 1, value: null, measure: null })).toBe('MEDIUM');
    expect(severityOf('DEAD_LETTER', { openSubjects: 10, units: 1, value: null, measure: null })).toBe('HIGH');
    expect(severityOf('DEAD_LETTER', { openSubjects: 4000, units: 1, value: null, measure: null })).toBe('CRITICAL');
    expect(severityOf('OVERSOLD', { openSubjects: 1, units: 2, value: null, measure: null })).toBe('HIGH');
    expect(severityOf('OVERSOLD', { openSubjects: 1, units: 2, value: 5000, measure: null })).toBe('CRITICAL');
    expect(severityOf('SYNC_LAG', { openSubjects: 1, units: null, value: null, measure: 900 })).toBe('CRITICAL');
  });

  it('never falls while open, and filters from a minimum', () => {
    expect(maxSeverity('HIGH', 'MEDIUM')).toBe('HIGH');
    expect(maxSeverity('LOW', 'CRITICAL')).toBe('CRITICAL');
    expect(severitiesFrom('HIGH')).toEqual(['HIGH', 'CRITICAL']);
  });
});

describe('transition', () => {
  it('acknowledges once, resolves from open or acknowledged, and moves nothing resolved', () => {
    expect(transition('OPEN', 'ACKNOWLEDGE')).toEqual({ to: 'ACKNOWLEDGED', changed: true });
    expect(transition('ACKNOWLEDGED', 'ACKNOWLEDGE')).toEqual({ to: 'ACKNOWLEDGED', changed: false });
    expect(transition('ACKNOWLEDGED', 'RESOLVE')).toEqual({ to: 'RESOLVED', changed: true });
    expect(transition('RESOLVED', 'ACKNOWLEDGE')).toHaveProperty('refused');
    expect(transition('RESOLVED', 'RESOLVE')).toHaveProperty('refused');
  });
});

describe('operationOf', () => {
  it('names each owner\'s mutation with the variables it needs, and what the person must add', () => {
    expect(operationOf({ kind: 'MAP_LISTING', channelId: 'c', marketplaceSku: 'MK-1' }, 'x')).toMatchObject({ variables: { channelId: 'c', marketplaceSku: 'MK-1' }, missing: ['sku'] });
    // Running a cancellation twice cancels once: the key is the exception's.
    const cancel = operationOf({ kind: 'CANCEL_ORDER', orderId: 'o' }, 'x1');
    expect(cancel.variables).toEqual({ orderId: 'o', idempotencyKey: 'exception:x1:cancel' });
    expect(operationOf({ kind: 'SET_BUFFER', channelId: 'c', units: 4 }, 'x').operation).toContain('setChannelBuffer');
  });
});
