/**
 * The demo's journey view, drawn from OpenTelemetry spans: for one boot, the trace whose
 * HTTP span carries the boot's request_id, as an indented tree with start offsets,
 * durations, the RPC method, errors and span events (reschedules, failures). Spans are
 * the one source of truth for "what happened to this request".
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { PUBLISHED_EVENT } from '../rpc/telemetry/tracing.js';


/** Renders the journey of the boot with `requestId`; database statements are left out. */
export function journeyFromSpans(name: string, requestId: string, spans: readonly ReadableSpan[]): string {
  const root = spans.find((span) => span.kind === SpanKind.SERVER && span.attributes['openstack.request_id'] === requestId);
  if (root === undefined) return `\n${name}: no trace for ${requestId}\n`;
  return journeyOfTrace(`${name} (${requestId}, trace ${root.spanContext().traceId})`, root, spans);
}

/**
 * The root of a server's evacuation: the SERVER span of a `POST …/servers/{id}/action`
 * whose trace casts `evacuate_instance` (lock and unlock use the same path).
 */
export function evacuationRoot(serverId: string, spans: readonly ReadableSpan[]): ReadableSpan | undefined {
  const evacuating = new Set(spans.filter((span) => span.attributes['rpc.method'] === 'evacuate_instance').map((span) => span.spanContext().traceId));
  return spans.find((span) => span.kind === SpanKind.SERVER && span.attributes['url.path'] === `/v2.1/servers/${serverId}/action` && evacuating.has(span.spanContext().traceId));
}

/** Renders the trace below `root` as an indented tree under `heading`; database statements are left out. */
export function journeyOfTrace(heading: string, root: ReadableSpan, spans: readonly ReadableSpan[]): string {
  const traceId = root.spanContext().traceId;
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId && span.attributes['db.system.name'] === undefined);
  const children = new Map<string, ReadableSpan[]>();
  for (const span of inTrace) {
    const parent = span.parentSpanContext?.spanId ?? '';
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const start = millis(root.startTime);
  const lines: string[] = [];
  const visit = (span: ReadableSpan, depth: number) => {
    lines.push(row(span, depth, start));
    // Exceptions show as the span's ERROR; a call's broker confirm is routine.
    for (const event of span.events.filter((candidate) => candidate.name !== 'exception' && candidate.name !== PUBLISHED_EVENT)) {
      const reason = event.attributes?.['error.message'];
      lines.push(`${' '.repeat(18 + depth * 2)}! ${event.name}${reason ? `: ${String(reason)}` : ''}`);
    }
    const kids = (children.get(span.spanContext().spanId) ?? []).sort((a, b) => millis(a.startTime) - millis(b.startTime));
    for (const child of kids) visit(child, depth + 1);
  };
  visit(root, 0);
  return `\n${heading}:\n${lines.join('\n')}\n`;
}

function row(span: ReadableSpan, depth: number, start: number): string {
  const offset = `+${String(Math.round(millis(span.startTime) - start)).padStart(5)}ms`;
  const duration = `${Math.round(millis(span.duration))}ms`.padStart(7);
  const method = span.attributes['rpc.method'];
  // Messaging span names start with send/process; a call's CLIENT span is named after its method.
  const label = `${span.kind === SpanKind.CLIENT && method ? 'call ' : ''}${span.name}${method && method !== span.name ? ` (${String(method)})` : ''}`;
  const failed = span.status.code === SpanStatusCode.ERROR ? `  ERROR ${span.status.message ?? ''}`.trimEnd() : '';
  return `  ${offset} ${duration}  ${'  '.repeat(depth)}${label}${failed}`;
}

function millis([seconds, nanos]: readonly [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}
