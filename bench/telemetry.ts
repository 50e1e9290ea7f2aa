/**
 * Telemetry settings of a benchmark side: `off` (no metrics, no spans), `metrics`
 * (oslo metrics on a registry, no spans) or `tracing` (an SDK TracerProvider, always-on
 * sampler, batch span processor with the SDK's default settings exporting OTLP/HTTP
 * JSON to a local sink), and the sink. The spans ended and exported in this process are
 * counted, so the report can say whether the batch processor dropped any (a dropped
 * span is a span whose export cost was not measured).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { TransportConfig } from '../src/rpc/index.js';

export type TelemetryMode = 'off' | 'metrics' | 'tracing';

/** What a transport of this side is opened with; `otlpUrl` is the sink for `tracing`. */
export function telemetryConfig(mode: TelemetryMode, otlpUrl?: string): Pick<TransportConfig, 'metrics' | 'tracerProvider'> {
  if (mode === 'off') return { tracerProvider: false };
  if (mode === 'metrics') return { metrics: true, tracerProvider: false };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = countingExporter(new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` }));
  const countEnded: SpanProcessor = {
    onStart: () => {},
    onEnd: () => void (spanCounts.ended += 1),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  return { tracerProvider: new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [countEnded, new BatchSpanProcessor({ exporter })] }) };
}

/** Spans ended and handed to the exporter in this process (tracing sides only). */
export const spanCounts = { ended: 0, exported: 0 };

function countingExporter(exporter: SpanExporter): SpanExporter {
  return {
    export(spans: ReadableSpan[], done) {
      spanCounts.exported += spans.length;
      exporter.export(spans, done);
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * A local OTLP/HTTP endpoint in a process of its own (as a collector would be) that
 * accepts and discards spans, reporting how many bytes it got.
 */
export async function startOtlpSink(): Promise<{ url: string; bytes(): Promise<number>; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', SINK_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(((await lines.next()).value as string | undefined) ?? '{}') as { port?: number; bytes?: number };
  const { port } = await next();
  if (!port) throw new Error('the OTLP sink did not start');
  return {
    url: `http://127.0.0.1:${port}`,
    async bytes() {
      child.stdin!.write('bytes\n');
      return (await next()).bytes ?? 0;
    },
    async close() {
      child.stdin!.end();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

const SINK_SOURCE = `
const http = require('node:http');
const readline = require('node:readline');
let bytes = 0;
const server = http.createServer((request, response) => {
  request.on('data', (chunk) => (bytes += chunk.length));
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
readline.createInterface({ input: process.stdin }).on('line', () => console.log(JSON.stringify({ bytes }))).on('close', () => process.exit(0));
`;
