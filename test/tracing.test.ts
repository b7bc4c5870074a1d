import { trace } from '@opentelemetry/api';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../lib/config.js';
import { flushTracing, startTracing, stopTracing, tracingEnabled, tracingSettings } from '../lib/tracing.js';
import { gql } from './client.js';
import { waitFor } from './events.js';
import { startStack, type Stack } from './stack.js';

// Counts the exporters made, to show that tracing off creates none.
const exporters = vi.hoisted(() => ({ created: 0 }));
vi.mock('@opentelemetry/exporter-trace-otlp-http', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@opentelemetry/exporter-trace-otlp-http')>();
  class CountedExporter extends actual.OTLPTraceExporter {
    constructor(...args: ConstructorParameters<typeof actual.OTLPTraceExporter>) {
      super(...args);
      exporters.created++;
    }
  }
  return { ...actual, OTLPTraceExporter: CountedExporter };
});

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  serviceName: unknown;
}

type OtlpAttributes = { key: string; value: Record<string, unknown> }[] | undefined;
const attributesOf = (list: OtlpAttributes) => Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value)[0]]));

/** A minimal OTLP/HTTP receiver (JSON protocol): every span it is sent. */
async function startReceiver(): Promise<{ app: FastifyInstance; url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const app = Fastify({ bodyLimit: 50 * 1024 * 1024 });
  app.post('/v1/traces', async (req) => {
    const body = req.body as { resourceSpans: { resource?: { attributes?: OtlpAttributes }; scopeSpans: { spans: (Omit<ReceivedSpan, 'attributes' | 'serviceName'> & { attributes?: OtlpAttributes })[] }[] }[] };
    for (const rs of body.resourceSpans) {
      const serviceName = attributesOf(rs.resource?.attributes)['service.name'];
      for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, attributes: attributesOf(s.attributes), serviceName });
    }
    return {};
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, spans };
}

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('creates no exporter and leaves the no-op tracer in place', () => {
    const settings = tracingSettings(parseConfig({}), 'gateway');
    expect(settings).toEqual({ endpoint: undefined, serviceName: 'gateway' });
    expect(startTracing(settings)).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(exporters.created).toBe(0);
    // A span from the API is the non-recording no-op: nothing records or exports it.
    const span = trace.getTracer('test').startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    span.end();
  });

  it('reads the endpoint and the service name from the configuration', () => {
    expect(tracingSettings(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'omnistock-eu' }), 'inventory')).toEqual({
      endpoint: 'http://collector:4318',
      serviceName: 'omnistock-eu',
    });
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('tracing on', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: Stack;

  beforeAll(async () => {
    receiver = await startReceiver();
    // Before the services start: their server-span hooks are installed only when tracing is on.
    expect(startTracing({ endpoint: receiver.url, serviceName: 'omnistock-test' })).toBe(true);
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
    await stopTracing();
    await receiver?.app.close();
  });

  it('exports spans of the gateway and of the subgraphs it called, in one trace', async () => {
    expect(exporters.created).toBe(1);
    const res = await gql(stack.gatewayUrl, `query TraceProbe { inventoryItem(sku: "TRACE-NONE") { sku } }`, {}, { 'x-request-id': 'trace-probe-1' });
    expect(res.errors).toBeUndefined();
    await flushTracing();
    const gatewaySpan = await waitFor('the gateway server span', async () =>
      receiver.spans.find((s) => s.attributes['omnistock.service'] === 'gateway' && s.attributes['omnistock.request_id'] === 'trace-probe-1'),
    );
    expect(gatewaySpan).toMatchObject({ name: 'POST /graphql', kind: 2, serviceName: 'omnistock-test' });
    const inTrace = receiver.spans.filter((s) => s.traceId === gatewaySpan.traceId);
    // The subgraph's server span continues the gateway's trace (W3C traceparent injected into the gateway's fetch).
    const inventorySpan = inTrace.find((s) => s.attributes['omnistock.service'] === 'inventory');
    expect(inventorySpan).toMatchObject({ name: 'POST /graphql', kind: 2, attributes: { 'omnistock.request_id': 'trace-probe-1' } });
    // Between them: @apollo/gateway's own spans and the fetch's client span.
    const names = new Set(inTrace.map((s) => s.name));
    expect(names).toContain('gateway.request');
    expect(names).toContain('gateway.fetch');
    const client = inTrace.find((s) => s.spanId === inventorySpan!.parentSpanId);
    expect(client).toMatchObject({ kind: 3 });
  });

  it('does not trace probes and scrapes', async () => {
    const before = receiver.spans.length;
    await fetch(stack.gatewayUrl.replace(/\/graphql$/, '/metrics'));
    await fetch(stack.gatewayUrl.replace(/\/graphql$/, '/healthz'));
    await flushTracing();
    const server = receiver.spans.slice(before).filter((s) => s.kind === 2);
    expect(server).toEqual([]);
  });
});
