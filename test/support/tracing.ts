/**
 * Tracing for tests: an SDK TracerProvider exporting to memory, with the global
 * context manager and W3C propagator registered once (as the CLI's SDK setup does).
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

let registered = false;

/** Registers the async-local-storage context manager and the W3C propagator (once per process). */
export function registerTraceContext(): void {
  if (registered) return;
  registered = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** A provider whose spans land in `exporter` as they end. */
export function memoryTracing(): { provider: TracerProvider; exporter: InMemorySpanExporter; spans(): ReadableSpan[] } {
  registerTraceContext();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { provider, exporter, spans: () => exporter.getFinishedSpans() };
}

/** The parent span id of a finished span ('' for a root). */
export function parentOf(span: ReadableSpan): string {
  return span.parentSpanContext?.spanId ?? '';
}
