/**
 * HTTP server telemetry for the api's fastify app: `http_server_request_duration_seconds`
 * with OpenTelemetry's attribute names as labels (`http_request_method`, the templated
 * `http_route`, `http_response_status_code`), and a SERVER span per request (parent:
 * the caller's `traceparent`), active while the route handler runs.
 */
import { context as contextApi, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudMetrics } from './cloud-metrics.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
const STARTED = Symbol('novarpc.http.started');

type TimedRequest = FastifyRequest & { [STARTED]?: number };

/** The method as a bounded label: unknown methods are `_OTHER` (OpenTelemetry's rule). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** The route template a request matched (`/v2.1/servers/:server_id`), or '' when none did. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? '';
}

/** Records every request's duration on the app. Call before the app is ready. */
export function meterHttp(app: FastifyInstance, metrics: CloudMetrics): void {
  app.addHook('onRequest', async (request) => {
    (request as TimedRequest)[STARTED] = performance.now();
  });
  app.addHook('onResponse', async (request, reply) => {
    const started = (request as TimedRequest)[STARTED];
    if (started === undefined) return;
    const labels = [methodLabel(request.method), routeOf(request), String(reply.statusCode)];
    metrics.httpDuration.child(labels).observe((performance.now() - started) / 1000);
  });
}

const SPAN = Symbol('novarpc.http.span');
type TracedRequest = FastifyRequest & { [SPAN]?: Span };

/** A SERVER span per request, named `{method} {route}`; the handler runs in its context. */
export function traceHttp(app: FastifyInstance): void {
  const tracer = trace.getTracer('novarpc.http');
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(contextApi.active(), request.headers);
    const route = routeOf(request);
    const method = methodLabel(request.method);
    const span = tracer.startSpan(route ? `${method} ${route}` : method, { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      span.setAttributes({ 'http.request.method': method, 'url.path': request.url.split('?')[0]!, 'openstack.request_id': String(request.id) });
      if (route) span.setAttribute('http.route', route);
    }
    (request as TracedRequest)[SPAN] = span;
    contextApi.with(trace.setSpan(parent, span), done);
  });
  // After the body is read: the handler (and the RPCs it sends) run in the span's context.
  app.addHook('preHandler', (request, _reply, done) => {
    const span = (request as TracedRequest)[SPAN];
    if (span === undefined) return done();
    contextApi.with(trace.setSpan(contextApi.active(), span), done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = (request as TracedRequest)[SPAN];
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
