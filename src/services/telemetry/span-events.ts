/**
 * What happened to a request, on the active span: a reschedule or a failure becomes a
 * span event, and the span gets error status, so a trace shows why a boot went wrong.
 */
import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/** Records `name` with `attributes` on the active span and marks it failed with `reason`. */
export function markActiveSpanFailed(name: string, reason: string, attributes: Attributes = {}): void {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return;
  span.addEvent(name, { ...attributes, 'error.message': reason });
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
}
