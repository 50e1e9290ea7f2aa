/**
 * OpenTelemetry spans for the bus, after the messaging and RPC semantic conventions:
 * a PRODUCER span per publish (ended by the broker's confirm), a CONSUMER span per
 * message processed, and for a call a CLIENT span from the request to its reply,
 * linked to the CONSUMER span that produced the reply (its context rides in the reply's
 * headers). Trace context crosses the bus as W3C
 * `traceparent`/`tracestate` in the message HEADERS, never in the oslo body, so Python
 * peers see the bodies they always saw. Only `@opentelemetry/api` is used: with no SDK
 * registered every span is a non-recording no-op and no header is written.
 */
import {
  context as contextApi,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { MessageHeaders } from '../drivers/driver.js';

/** Instrumentation scope name and version. */
export const TRACER_NAME = 'novarpc';
export const TRACER_VERSION = '0.1.0';

/** Where a message goes, for span names and attributes. */
export interface Destination {
  exchange: string;
  routingKey: string;
  /** A reply queue (or another anonymous one): kept out of span names. */
  temporary?: boolean;
}

/** What a span of an RPC request says about it. */
export interface RequestAttributes {
  method: string;
  msgId?: string;
  requestId?: string;
}

const headerSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const headerGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

/** The spans of one transport. */
export class RpcTracing {
  private readonly tracer: Tracer;

  /** `provider`: a TracerProvider of the user's; default the global one of `@opentelemetry/api`. */
  constructor(
    provider: TracerProvider | undefined,
    private readonly system: string,
  ) {
    this.tracer = (provider ?? trace.getTracerProvider()).getTracer(TRACER_NAME, TRACER_VERSION);
  }

  /** A PRODUCER span for a publish, child of `parent` (default: the active span). */
  startSend(destination: Destination, request?: RequestAttributes, parent?: Span): Span {
    const active = contextApi.active();
    return this.start(SpanKind.PRODUCER, 'send', destination, request, parent === undefined ? active : trace.setSpan(active, parent));
  }

  /** A CLIENT span for a whole call (request to reply), child of the active context. */
  startCall(destination: Destination, request: RequestAttributes): Span {
    const span = this.tracer.startSpan(request.method, { kind: SpanKind.CLIENT }, contextApi.active());
    if (span.isRecording()) span.setAttributes({ ...this.destinationAttributes('send', destination), ...requestAttributes(request) });
    return span;
  }

  /** A CONSUMER span for a message being processed, child of the context in its headers. */
  startProcess(destination: Destination, headers: Readonly<Record<string, unknown>> | undefined, request?: RequestAttributes): Span {
    const parent = headers === undefined ? contextApi.active() : propagation.extract(contextApi.active(), headers, headerGetter);
    return this.start(SpanKind.CONSUMER, 'process', destination, request, parent);
  }

  /** The W3C trace context of `span` as message headers; undefined when there is none. */
  headersOf(span: Span): MessageHeaders | undefined {
    if (!trace.isSpanContextValid(span.spanContext())) return undefined;
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(contextApi.active(), span), headers, headerSetter);
    return Object.keys(headers).length === 0 ? undefined : headers;
  }

  /** Links a call's span to the span that sent the reply (from the reply's headers). */
  linkReply(callSpan: Span, headers: Readonly<Record<string, unknown>> | undefined): void {
    if (headers === undefined || !callSpan.isRecording()) return;
    const replySpan = trace.getSpanContext(propagation.extract(contextApi.active(), headers, headerGetter));
    if (replySpan !== undefined && trace.isSpanContextValid(replySpan)) callSpan.addLink({ context: replySpan, attributes: { 'messaging.operation.type': 'receive' } });
  }

  /** Runs `work` with `span` as the active span (so nested calls become its children). */
  withSpan<T>(span: Span, work: () => T): T {
    return contextApi.with(trace.setSpan(contextApi.active(), span), work);
  }

  private start(kind: SpanKind, operation: 'send' | 'process', destination: Destination, request: RequestAttributes | undefined, parent: Context): Span {
    const name = destination.temporary ? operation : `${operation} ${destinationName(destination)}`;
    const span = this.tracer.startSpan(name, { kind }, parent);
    if (span.isRecording()) {
      span.setAttributes(this.destinationAttributes(operation, destination));
      if (request !== undefined) span.setAttributes(requestAttributes(request));
    }
    return span;
  }

  private destinationAttributes(operation: string, destination: Destination): Attributes {
    if (destination.temporary) {
      return { 'messaging.system': this.system, 'messaging.operation.type': operation, 'messaging.destination.temporary': true, 'messaging.destination.anonymous': true };
    }
    return {
      'messaging.system': this.system,
      'messaging.operation.type': operation,
      'messaging.destination.name': destinationName(destination),
      'messaging.rabbitmq.destination.routing_key': destination.routingKey,
    };
  }
}

/** Ends a span with the outcome of `work`: error status and the exception when it fails. */
export async function endWith<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    const result = await work;
    span.end();
    return result;
  } catch (error) {
    failSpan(span, error);
    span.end();
    throw error;
  }
}

/** Marks a span failed with `error`. */
export function failSpan(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.setAttribute('error.type', error instanceof Error ? error.constructor.name : typeof error);
}

function destinationName(destination: Destination): string {
  return `${destination.exchange}:${destination.routingKey}`;
}

function requestAttributes(request: RequestAttributes): Attributes {
  const attributes: Attributes = { 'rpc.method': request.method, 'rpc.system.name': 'oslo_messaging' };
  if (request.msgId !== undefined) attributes['messaging.message.conversation_id'] = request.msgId;
  if (request.requestId !== undefined) attributes['openstack.request_id'] = request.requestId;
  return attributes;
}
