import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from './config.js';
import { logger } from './logger.js';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. When on, the process has
 * one tracer provider exporting spans over OTLP/HTTP (JSON) in batches, W3C trace context
 * propagation, the undici instrumentation (Node's fetch: the gateway's subgraph fetches, orders'
 * calls to inventory) which injects `traceparent`, and a server span per request in every service
 * (serverSpans below, a Fastify hook: it works under ESM/tsx, where instrumentation-http's
 * patching of `node:http` is not reliable). @apollo/gateway's own spans (gateway.request, plan,
 * fetch) join the server span through @opentelemetry/api. When off nothing is created or hooked.
 */
export interface TracingSettings {
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`. Unset: tracing is off. */
  endpoint?: string;
  serviceName: string;
}

interface ActiveTracing {
  provider: NodeTracerProvider;
  disableInstrumentations: () => void;
}

let active: ActiveTracing | null = null;

/** The tracing settings in the configuration; `service` names the process when OTEL_SERVICE_NAME is unset. */
export function tracingSettings(cfg: Config, service: string): TracingSettings {
  return { endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: cfg.OTEL_SERVICE_NAME ?? service };
}

/** Whether this process exports traces (startTracing ran with an endpoint). */
export function tracingEnabled(): boolean {
  return active !== null;
}

/**
 * Starts tracing for this process when `settings.endpoint` is set; call once, before the process
 * serves (a later call while on is ignored). Returns whether tracing is on.
 */
export function startTracing(settings: TracingSettings): boolean {
  if (active) return true;
  if (!settings.endpoint) return false;
  const exporter = new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Global tracer provider, W3C traceparent/baggage propagator and the AsyncLocalStorage context manager.
  provider.register();
  const disableInstrumentations = registerInstrumentations({ tracerProvider: provider, instrumentations: [new UndiciInstrumentation()] });
  active = { provider, disableInstrumentations };
  logger().info({ endpoint: settings.endpoint, serviceName: settings.serviceName }, 'OpenTelemetry tracing on');
  return true;
}

/** Sends the spans still buffered (tests, shutdown). */
export async function flushTracing(): Promise<void> {
  await active?.provider.forceFlush();
}

/** Flushes and stops tracing (process shutdown). */
export async function stopTracing(): Promise<void> {
  if (!active) return;
  const { provider, disableInstrumentations } = active;
  active = null;
  disableInstrumentations();
  await provider.shutdown().catch((err: unknown) => logger().warn({ err }, 'flushing the last spans failed'));
  trace.disable();
  propagation.disable();
  context.disable();
}

/** Probes and scrapes are not traced: they would drown the requests. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A server span per request, child of the caller's `traceparent` when it sent one; everything the
 * request does runs in its context (so the gateway's subgraph fetches carry it on). Only when
 * tracing is on; must be the first onRequest hook so later hooks run inside the span's context.
 */
export function serverSpans(app: FastifyInstance, service: string): void {
  if (!active) return;
  const tracer = trace.getTracer('omnistock');
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', (req, _reply, done) => {
    const path = req.url.split('?', 1)[0]!;
    if (UNTRACED.has(path)) return done();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const route = req.routeOptions.url;
    const span = tracer.startSpan(
      `${req.method} ${route ?? path}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: path,
          ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
          'omnistock.service': service,
          'omnistock.request_id': req.id,
        },
      },
      parent,
    );
    spans.set(req, span);
    context.with(trace.setSpan(parent, span), done);
  });
  const end = (req: FastifyRequest, status: number | null) => {
    const span = spans.get(req);
    if (!span) return;
    spans.delete(req);
    if (status !== null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status === null || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  app.addHook('onResponse', (req, reply, done) => {
    end(req, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    end(req, null);
    done();
  });
}
