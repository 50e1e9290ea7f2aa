/**
 * The test OTLP receiver decodes `http/protobuf` exports to what `http/json` gives: the
 * same spans exported by the SDK's two OTLP exporters arrive identical (ids, parents,
 * kinds, attributes of every type, events, links, status), each marked with its protocol.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

describe('OTLP test receiver', () => {
  const receivers: OtlpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  async function exportWith(protocol: 'json' | 'protobuf'): Promise<ReceivedSpan[]> {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const url = `${receiver.url}/v1/traces`;
    const exporter = protocol === 'json' ? new JsonExporter({ url }) : new ProtobufExporter({ url });
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': `svc-${protocol}` }),
      idGenerator: fixedIds(),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('novarpc-test');
    const parent = tracer.startSpan('allocate', { kind: SpanKind.CLIENT });
    parent.setAttributes({ 'rpc.method': 'allocate', 'messaging.batch.message_count': 3, 'messaging.destination.temporary': true, ratio: 0.25 });
    parent.addEvent('published');
    const child = tracer.startSpan('process nova:network', { kind: SpanKind.CONSUMER }, trace.setSpan(context.active(), parent));
    child.addLink({ context: parent.spanContext(), attributes: { 'messaging.operation.type': 'receive' } });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'no addresses left' });
    child.end();
    parent.end();
    await provider.shutdown();
    expect(receiver.rejected).toEqual([]);
    return receiver.spans;
  }

  it('decodes http/protobuf exports to the same spans as http/json', async () => {
    const json = await exportWith('json');
    const protobuf = await exportWith('protobuf');
    expect(json).toHaveLength(2);
    expect(new Set(json.map((span) => span.protocol))).toEqual(new Set(['http/json']));
    expect(new Set(protobuf.map((span) => span.protocol))).toEqual(new Set(['http/protobuf']));
    const comparable = (spans: ReceivedSpan[]) =>
      spans.map(({ protocol: _protocol, service, events, links, ...span }) => ({
        ...span,
        service: service.replace(/^svc-.*/, 'svc'),
        events: events.map((event) => event.name),
        links: links.map((link) => `${link.traceId}/${link.spanId}`),
      }));
    expect(comparable(protobuf)).toEqual(comparable(json));
    const [child, parent] = protobuf;
    expect(parent).toMatchObject({ service: 'svc-protobuf', kind: 3, name: 'allocate', parentSpanId: '', attributes: { 'rpc.method': 'allocate', 'messaging.batch.message_count': 3, 'messaging.destination.temporary': true, ratio: 0.25 } });
    expect(child).toMatchObject({ kind: 5, parentSpanId: parent!.spanId, traceId: parent!.traceId, status: { code: 2, message: 'no addresses left' } });
    expect(child!.links).toMatchObject([{ traceId: parent!.traceId, spanId: parent!.spanId }]);
  });
});

/** Ids from a counter, so both exports carry the same ones. */
function fixedIds() {
  let next = 1;
  return {
    generateTraceId: () => (next++).toString(16).padStart(32, '0'),
    generateSpanId: () => (next++).toString(16).padStart(16, '0'),
  };
}
