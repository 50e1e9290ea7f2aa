/**
 * OpenTelemetry spans for the bus, after the messaging and RPC semantic conventions:
 * a PRODUCER span per cast, fanout or notification publish (ended by the broker's
 * confirm), a CONSUMER span per message processed, and for a call one CLIENT span from
 * the request to its reply, which carries the messaging attributes of the send, gets a
 * `published` event at the broker's confirm, and is linked to the CONSUMER span that
 * produced the reply (its context rides in the reply's headers). The CLIENT span's
 * context is the request's, so the server's CONSUMER span is its child: a call costs two
 * spans, not three. Trace context crosses the bus as W3C
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

/** Name of the event a call's CLIENT span gets when the broker confirmed its request. */
export const PUBLISHED_EVENT = 'published';

/** Most destinations whose attribute sets are kept (targets are few; reply queues are not kept). */
const MAX_CACHED_DESTINATIONS = 512;

/**
 * The spans of one transport. Hot-path costs are kept low: the attribute sets of a
 * destination are built once and reused, a call is one span (not a CLIENT and a
 * PRODUCER), and nothing is formatted when no span records or carries a context.
 */
export class RpcTracing {
  private readonly tracer: Tracer;
  /** Attribute sets by operation, exchange and routing key (no key string built per message). */
  private readonly attributeSets = { send: new Map<string, Map<string, Attributes>>(), process: new Map<string, Map<string, Attributes>>() };
  private cachedSets = 0;
  private readonly temporaryAttributes: Record<'send' | 'process', Attributes>;

  /** `provider`: a TracerProvider of the user's; default the global one of `@opentelemetry/api`. */
  constructor(
    provider: TracerProvider | undefined,
    private readonly system: string,
  ) {
    this.tracer = (provider ?? trace.getTracerProvider()).getTracer(TRACER_NAME, TRACER_VERSION);
    const temporary = (operation: string): Attributes =>
      Object.freeze({ 'messaging.system': system, 'messaging.operation.type': operation, 'messaging.destination.temporary': true, 'messaging.destination.anonymous': true });
    this.temporaryAttributes = { send: temporary('send'), process: temporary('process') };
  }

  /** A PRODUCER span for a cast, fanout or notification publish, child of `parent` (default: the active span). */
  startSend(destination: Destination, request?: RequestAttributes, parent?: Span): Span {
    const active = contextApi.active();
    return this.start(SpanKind.PRODUCER, 'send', destination, request, parent === undefined ? active : trace.setSpan(active, parent));
  }

  /**
   * The one span of a call: CLIENT (RPC conventions) with the messaging attributes of its
   * send, from the request to the reply. Its context is what the request carries, so the
   * server's CONSUMER span is its child; the broker's confirm is an event on it
   * ({@link confirmed}), not a span of its own.
   */
  startCall(destination: Destination, request: RequestAttributes): Span {
    const span = this.tracer.startSpan(request.method, { kind: SpanKind.CLIENT }, contextApi.active());
    if (span.isRecording()) {
      span.setAttributes(this.destinationAttributes('send', destination));
      setRequestAttributes(span, request);
    }
    return span;
  }

  /** Marks a call's span: the broker confirmed its request (no-op once the span ended). */
  confirmed(callSpan: Span): void {
    if (callSpan.isRecording()) callSpan.addEvent(PUBLISHED_EVENT);
  }

  /** A CONSUMER span for a message being processed, child of the context in its headers. */
  startProcess(destination: Destination, headers: Readonly<Record<string, unknown>> | undefined, request?: RequestAttributes): Span {
    const active = contextApi.active();
    const parent = headers === undefined ? active : propagation.extract(active, headers, headerGetter);
    return this.start(SpanKind.CONSUMER, 'process', destination, request, parent);
  }

  /** The W3C trace context of `span` as message headers; undefined when there is none. */
  headersOf(span: Span): MessageHeaders | undefined {
    if (!trace.isSpanContextValid(span.spanContext())) return undefined;
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(contextApi.active(), span), headers, headerSetter);
    for (const _key in headers) return headers;
    return undefined;
  }

  /** Links a call's span to the span that sent the reply (from the reply's headers). */
  linkReply(callSpan: Span, headers: Readonly<Record<string, unknown>> | undefined): void {
    if (headers === undefined || !callSpan.isRecording()) return;
    const replySpan = trace.getSpanContext(propagation.extract(contextApi.active(), headers, headerGetter));
    if (replySpan !== undefined && trace.isSpanContextValid(replySpan)) callSpan.addLink({ context: replySpan, attributes: RECEIVE_LINK });
  }

  /**
   * Runs `work` with `span` as the active span (so nested calls become its children).
   * A span that neither records nor carries a context (no SDK, no incoming trace) has
   * nothing to pass on: `work` runs as it is, without a context switch.
   */
  withSpan<T>(span: Span, work: () => T): T {
    if (!span.isRecording() && !trace.isSpanContextValid(span.spanContext())) return work();
    return contextApi.with(trace.setSpan(contextApi.active(), span), work);
  }

  private start(kind: SpanKind, operation: 'send' | 'process', destination: Destination, request: RequestAttributes | undefined, parent: Context): Span {
    const name = destination.temporary ? operation : `${operation} ${destinationName(destination)}`;
    const span = this.tracer.startSpan(name, { kind }, parent);
    if (span.isRecording()) {
      span.setAttributes(this.destinationAttributes(operation, destination));
      if (request !== undefined) setRequestAttributes(span, request);
    }
    return span;
  }

  /** The attributes of `operation` on `destination`, built once per destination. */
  private destinationAttributes(operation: 'send' | 'process', destination: Destination): Attributes {
    if (destination.temporary) return this.temporaryAttributes[operation];
    let byRoutingKey = this.attributeSets[operation].get(destination.exchange);
    let attributes = byRoutingKey?.get(destination.routingKey);
    if (attributes === undefined) {
      attributes = Object.freeze({
        'messaging.system': this.system,
        'messaging.operation.type': operation,
        'messaging.destination.name': destinationName(destination),
        'messaging.rabbitmq.destination.routing_key': destination.routingKey,
      });
      if (this.cachedSets < MAX_CACHED_DESTINATIONS) {
        if (byRoutingKey === undefined) this.attributeSets[operation].set(destination.exchange, (byRoutingKey = new Map()));
        byRoutingKey.set(destination.routingKey, attributes);
        this.cachedSets += 1;
      }
    }
    return attributes;
  }
}

const RECEIVE_LINK: Attributes = Object.freeze({ 'messaging.operation.type': 'receive' });

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

/** Sets the request's attributes one by one (no intermediate object per message). */
function setRequestAttributes(span: Span, request: RequestAttributes): void {
  span.setAttribute('rpc.method', request.method);
  span.setAttribute('rpc.system.name', 'oslo_messaging');
  if (request.msgId !== undefined) span.setAttribute('messaging.message.conversation_id', request.msgId);
  if (request.requestId !== undefined) span.setAttribute('openstack.request_id', request.requestId);
}
