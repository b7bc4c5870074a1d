import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, LabelBudget, MAX_LABELLED_PAIRS, MeasuredDataSource, operationLabel, outcomeOf } from './metrics.js';

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

describe('MeasuredDataSource', () => {
  /** A data source whose fetches answer what `respond` makes (no network). */
  const source = (metrics: GatewayMetrics, respond: () => Promise<Response>) =>
    new MeasuredDataSource<Record<string, unknown>>({ url: 'http://inventory.invalid/graphql', fetcher: respond as unknown as Fetcher }).measure('inventory', metrics);
  const fetchOnce = (ds: MeasuredDataSource<Record<string, unknown>>) =>
    // A health-check fetch (the enum is not exported at run time): needs no incoming request.
    ds.process({ kind: 'health check', request: { query: '{ __typename }' }, context: {} } as unknown as GraphQLDataSourceProcessOptions<Record<string, unknown>>).then(
      () => 'answered',
      () => 'threw',
    );
  const json = (status: number, body: unknown) => async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('times every fetch and counts failures by kind: network, http_<status>, graphql', async () => {
    const metrics = new GatewayMetrics();
    const registry = new Registry();
    metrics.register(registry);
    expect(await fetchOnce(source(metrics, json(200, { data: { __typename: 'Query' } })))).toBe('answered');
    expect(await fetchOnce(source(metrics, json(200, { errors: [{ message: 'no', extensions: { code: 'BAD_USER_INPUT' } }] })))).toBe('answered');
    expect(await fetchOnce(source(metrics, json(500, { errors: [{ message: 'boom' }] })))).toBe('threw');
    expect(await fetchOnce(source(metrics, async () => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }))))).toBe('threw');
    const errors = (await registry.getSingleMetric('omnistock_gateway_subgraph_fetch_errors_total')!.get()).values;
    expect(Object.fromEntries(errors.map((v) => [v.labels.kind, v.value]))).toEqual({ graphql: 1, http_500: 1, network: 1 });
    const durations = (await registry.getSingleMetric('omnistock_gateway_subgraph_fetch_duration_seconds')!.get()).values;
    expect(durations.find((v) => (v as { metricName?: string }).metricName === 'omnistock_gateway_subgraph_fetch_duration_seconds_count')).toMatchObject({ labels: { subgraph: 'inventory' }, value: 4 });
  });
});
