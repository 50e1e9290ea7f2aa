/**
 * HTTP server telemetry for the api's fastify app: `http_server_request_duration_seconds`
 * with OpenTelemetry's attribute names as labels (`http_request_method`, the templated
 * `http_route`, `http_response_status_code`).
 */
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
