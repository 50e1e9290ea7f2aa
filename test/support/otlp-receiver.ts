/**
 * A minimal OTLP/HTTP trace receiver for tests: accepts `POST /v1/traces`
 * (ExportTraceServiceRequest as JSON, `http/json`, or as protobuf, `http/protobuf`) and
 * keeps every span with its service.name and the protocol it came in.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraceExport } from './otlp-protobuf.js';

/** One received span, flattened. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string }>;
  links: Array<{ traceId: string; spanId: string }>;
  status: { code?: number; message?: string };
  /** How the span was exported: `http/json` or `http/protobuf`. */
  protocol: 'http/json' | 'http/protobuf';
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  /** Requests that were not valid OTLP (JSON or protobuf). */
  rejected: string[];
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

/** Starts the receiver on a free port of 127.0.0.1. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = String(request.headers['content-type']);
      const protocol = contentType.startsWith('application/json') ? 'http/json' : contentType.startsWith('application/x-protobuf') ? 'http/protobuf' : undefined;
      if (request.method !== 'POST' || request.url !== '/v1/traces' || protocol === undefined) {
        rejected.push(`${request.method} ${request.url} ${request.headers['content-type']}`);
        response.writeHead(415).end();
        return;
      }
      try {
        if (protocol === 'http/json') {
          spans.push(...flatten(JSON.parse(body.toString('utf8')), protocol));
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          spans.push(...flatten(decodeTraceExport(body) as Parameters<typeof flatten>[0], protocol));
          // An empty ExportTraceServiceResponse: everything accepted.
          response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        }
      } catch (error) {
        rejected.push(String(error));
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function flatten(body: { resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: any[] }> }> }, protocol: ReceivedSpan['protocol']): ReceivedSpan[] {
  const result: ReceivedSpan[] = [];
  for (const resourceSpans of body.resourceSpans ?? []) {
    const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        result.push({
          service,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: span.kind,
          attributes: attributesOf(span.attributes),
          events: span.events ?? [],
          links: span.links ?? [],
          status: span.status ?? {},
          protocol,
        });
      }
    }
  }
  return result;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  // int64 is a string in OTLP JSON (some exporters send a number): a number here either way.
  for (const { key, value } of list ?? []) attributes[key] = value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue)) ?? value.boolValue ?? value.doubleValue;
  return attributes;
}
