import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, LabelBudget, MAX_LABELLED_PAIRS, operationLabel, outcomeOf } from './metrics.js';

describe('LabelBudget', () => {
  it('keeps the first pairs by name and counts later ones as other, while pairs already seen keep their names', () => {
    const budget = new LabelBudget(2);
    expect(budget.admit('A', 'c1')).toEqual(['A', 'c1']);
    expect(budget.admit('B', 'c1')).toEqual(['B', 'c1']);
    expect(budget.admit('C', 'c1')).toEqual(['other', 'other']);
    expect(budget.admit('A', 'c1')).toEqual(['A', 'c1']);
  });
});

describe('operation and outcome labels', () => {
  it('names operations by their GraphQL name only', () => {
    expect(operationLabel('StockByStore')).toBe('StockByStore');
    expect(operationLabel(null)).toBe('anonymous');
    expect(operationLabel('')).toBe('anonymous');
    expect(operationLabel('x" } evil{')).toBe('invalid');
    expect(operationLabel('a'.repeat(101))).toBe('invalid');
  });

  it('takes the first error code, INTERNAL_SERVER_ERROR without one, OTHER for a code that is no code', () => {
    expect(outcomeOf(undefined)).toBe('ok');
    expect(outcomeOf([])).toBe('ok');
    expect(outcomeOf([{ extensions: { code: 'RATE_LIMITED' } }, { extensions: { code: 'FORBIDDEN' } }])).toBe('RATE_LIMITED');
    expect(outcomeOf([{}])).toBe('INTERNAL_SERVER_ERROR');
    expect(outcomeOf([{ extensions: { code: 'not a code!' } }])).toBe('OTHER');
  });
});

describe('GatewayMetrics', () => {
  it('bounds the operation × client series however many names callers make up', async () => {
    const metrics = new GatewayMetrics();
    const registry = new Registry();
    metrics.register(registry);
    for (let i = 0; i < MAX_LABELLED_PAIRS + 100; i++) {
      metrics.record({ operation: `Op${i}`, client: `client-${i}`, outcome: 'RATE_LIMITED', beforeExecution: true, seconds: 0.01 });
    }
    const requests = (await registry.getSingleMetric('omnistock_gateway_requests_total')!.get()).values;
    expect(requests).toHaveLength(MAX_LABELLED_PAIRS + 1);
    expect(requests.find((v) => v.labels.operation === 'other')).toMatchObject({ labels: { client: 'other', outcome: 'RATE_LIMITED' }, value: 100 });
    const refusals = (await registry.getSingleMetric('omnistock_gateway_refusals_total')!.get()).values;
    expect(refusals).toHaveLength(MAX_LABELLED_PAIRS + 1);
    expect(refusals.reduce((n, v) => n + v.value, 0)).toBe(MAX_LABELLED_PAIRS + 100);
  });

  it('counts a refusal code as a refusal only before execution', async () => {
    const metrics = new GatewayMetrics();
    const registry = new Registry();
    metrics.register(registry);
    metrics.record({ operation: 'Op', client: 'c', outcome: 'FORBIDDEN', beforeExecution: false });
    metrics.record({ operation: 'Op', client: 'c', outcome: 'BAD_USER_INPUT', beforeExecution: true });
    expect((await registry.getSingleMetric('omnistock_gateway_refusals_total')!.get()).values).toEqual([]);
    metrics.record({ operation: 'Op', client: 'c', outcome: 'FORBIDDEN', beforeExecution: true });
    expect((await registry.getSingleMetric('omnistock_gateway_refusals_total')!.get()).values).toMatchObject([{ labels: { reason: 'FORBIDDEN', client: 'c' }, value: 1 }]);
  });
});
