/**
 * The OpenTelemetry SDK of a novarpc process, configured by the standard `OTEL_*`
 * environment variables. Off (nothing loaded, no cost) when `OTEL_TRACES_EXPORTER` is
 * unset or `none`, or `OTEL_SDK_DISABLED=true`. Otherwise:
 *
 * - `OTEL_TRACES_EXPORTER`: `otlp` and/or `console` (comma-separated);
 * - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
 *   (default) or `http/json`; endpoint, headers and TLS from `OTEL_EXPORTER_OTLP_*`
 *   (read by the exporter);
 * - `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` over the worker's default
 *   service.name (`nova-api`, `nova-scheduler`, `nova-compute`, `nova-network`);
 * - `OTEL_TRACES_SAMPLER` (+ `_ARG`): always_on, always_off, traceidratio,
 *   parentbased_always_on (default), parentbased_always_off, parentbased_traceidratio;
 * - `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_MAX_QUEUE_SIZE`.
 *
 * W3C trace context and baggage propagators and the async-local-storage context
 * manager are registered globally, as the framework's spans expect.
 */
import { context, propagation, trace } from '@opentelemetry/api';

/** A running SDK. */
export interface TracingSdk {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const PROTOCOLS = ['http/protobuf', 'http/json'];

/** Starts the SDK when the environment asks for it; undefined when tracing is off. */
export async function startTracingSdk(env: Env, defaultServiceName: string): Promise<TracingSdk | undefined> {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (exporters.length === 0 || exporters.includes('none') || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const unknown = exporters.filter((name) => name !== 'otlp' && name !== 'console');
  if (unknown.length > 0) throw new Error(`OTEL_TRACES_EXPORTER: unsupported exporter ${unknown.join(', ')} (use otlp, console or none)`);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (exporters.includes('otlp') && !PROTOCOLS.includes(protocol)) {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "${protocol}" (use http/protobuf or http/json)`);
  }
  const [sdk, hooks, core, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const spanProcessors = [];
  for (const name of exporters) {
    const exporter = name === 'console' ? new sdk.ConsoleSpanExporter() : await otlpExporter(protocol);
    spanProcessors.push(new sdk.BatchSpanProcessor({ exporter, ...batchOptions(env) }));
  }
  const resource = resources
    .resourceFromAttributes({ 'service.name': defaultServiceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({ resource, sampler: sampler(sdk, env), spanProcessors });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

async function otlpExporter(protocol: string) {
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

function batchOptions(env: Env): { scheduledDelayMillis?: number; maxExportBatchSize?: number; maxQueueSize?: number } {
  const number = (name: string) => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
    return value;
  };
  return { scheduledDelayMillis: number('OTEL_BSP_SCHEDULE_DELAY'), maxExportBatchSize: number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'), maxQueueSize: number('OTEL_BSP_MAX_QUEUE_SIZE') };
}

function sampler(sdk: typeof import('@opentelemetry/sdk-trace'), env: Env) {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const ratio = () => {
    const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    const value = raw === undefined || raw === '' ? 1 : Number(raw);
    if (!(value >= 0 && value <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, got "${raw}"`);
    return value;
  };
  switch (name) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio()) });
    default:
      throw new Error(`OTEL_TRACES_SAMPLER: unsupported sampler "${name}"`);
  }
}
