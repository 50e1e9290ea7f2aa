/**
 * Traces of the cloud as separate worker processes on RabbitMQ and MariaDB: every
 * worker exports OTLP/HTTP (configured by the standard OTEL_* variables only) to a
 * receiver this test runs, the network worker with OTEL_EXPORTER_OTLP_PROTOCOL=
 * http/protobuf (decoded by the receiver), the others with http/json; one boot is one
 * trace holding spans of all four services in the right parent tree: POST /servers →
 * cast run_instance → scheduler → cast to compute.<host> → call allocate_for_instance
 * (one CLIENT span) → network. A boot on a compute
 * whose spawns fail shows the reschedule and the ERROR as span events with error status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { startProcessCloud, waitSettled, type ProcessCloud, type ProcessCloudOptions } from '../support/process-cloud.js';
import { brokerUrl, databaseUrl } from '../support/services.js';

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

/**
 * A process cloud whose workers export their spans (configured by OTEL_* variables
 * only) to a receiver of the test's own; stopped after the describe block's tests.
 */
function tracedCloud(options: Pick<ProcessCloudOptions, 'computes' | 'settings'>): { cloud: () => ProcessCloud; receiver: () => OtlpReceiver } {
  let cloud: ProcessCloud | undefined;
  let receiver: OtlpReceiver | undefined;
  beforeAll(async () => {
    const otlp = await startOtlpReceiver();
    receiver = otlp;
    cloud = await startProcessCloud({
      ...options,
      transportUrl: await brokerUrl(),
      databaseServerUrl: await databaseUrl(),
      workerEnv: (name: string) => ({
        OTEL_TRACES_EXPORTER: 'otlp',
        // Both protocols in one trace: the network worker sends protobuf (the CLI's default).
        OTEL_EXPORTER_OTLP_PROTOCOL: name === 'network' ? 'http/protobuf' : 'http/json',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_TRACES_SAMPLER: 'always_on',
      }),
    });
  }, 180_000);
  afterAll(async () => {
    await cloud?.stop();
    await receiver?.close();
  }, 60_000);
  return { cloud: () => cloud!, receiver: () => receiver! };
}

describe('one boot is one trace across four worker processes', () => {
  const traced = tracedCloud({ computes: ['cmp-a'] });

  it('POST /servers → scheduler → compute → network, parented across processes', async () => {
    const cloud = traced.cloud();
    const receiver = traced.receiver();
    const id = await cloud.boot('traced-0');
    const settled = await waitSettled(cloud, [id], 60_000);
    expect(settled.get(id)?.status).toBe('ACTIVE');
    const { topics } = cloud;
    const find = (spans: ReceivedSpan[], service: string, kind: number, name: string) => spans.find((span) => span.service === service && span.kind === kind && span.name === name);
    let trace: ReceivedSpan[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const post = receiver.spans.find((span) => span.kind === SERVER && span.name === 'POST /v2.1/servers');
      trace = post ? receiver.spans.filter((span) => span.traceId === post.traceId) : [];
      // The compute's CONSUMER span ends last (when the build is done).
      if (find(trace, 'nova-compute', CONSUMER, `process ${exchangeOf(trace)}:${topics.compute}.cmp-a`) && find(trace, 'nova-network', CONSUMER, `process ${exchangeOf(trace)}:${topics.network}`)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(receiver.rejected).toEqual([]);
    expect(new Set(trace.map((span) => span.service))).toEqual(new Set(['nova-api', 'nova-scheduler', 'nova-compute', 'nova-network']));

    const exchange = exchangeOf(trace);
    const post = find(trace, 'nova-api', SERVER, 'POST /v2.1/servers')!;
    const castToScheduler = find(trace, 'nova-api', PRODUCER, `send ${exchange}:${topics.scheduler}`)!;
    const scheduled = find(trace, 'nova-scheduler', CONSUMER, `process ${exchange}:${topics.scheduler}`)!;
    const castToCompute = find(trace, 'nova-scheduler', PRODUCER, `send ${exchange}:${topics.compute}.cmp-a`)!;
    const built = find(trace, 'nova-compute', CONSUMER, `process ${exchange}:${topics.compute}.cmp-a`)!;
    const allocate = find(trace, 'nova-compute', CLIENT, 'allocate_for_instance')!;
    const allocated = find(trace, 'nova-network', CONSUMER, `process ${exchange}:${topics.network}`)!;
    for (const span of [post, castToScheduler, scheduled, castToCompute, built, allocate, allocated]) expect(span).toBeDefined();

    expect(post.parentSpanId).toBe('');
    expect(isAncestor(trace, post, castToScheduler)).toBe(true);
    expect(scheduled.parentSpanId).toBe(castToScheduler.spanId);
    expect(isAncestor(trace, scheduled, castToCompute)).toBe(true);
    expect(built.parentSpanId).toBe(castToCompute.spanId);
    expect(isAncestor(trace, built, allocate)).toBe(true);
    // A call is one CLIENT span (its publish an event on it); the request carries its context.
    expect(allocated.parentSpanId).toBe(allocate.spanId);
    expect(allocate.events.map((event) => event.name)).toContain('published');
    expect(allocate.attributes).toMatchObject({ 'messaging.operation.type': 'send', 'messaging.destination.name': `${exchange}:${topics.network}` });
    // Every span's parent is in the trace: no broken links between processes.
    const ids = new Set(trace.map((span) => span.spanId));
    expect(trace.filter((span) => span.parentSpanId !== '' && !ids.has(span.parentSpanId)).map((span) => `${span.service} ${span.name}`)).toEqual([]);

    expect(scheduled.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'rpc.method': 'run_instance', 'openstack.request_id': post.attributes['openstack.request_id'] });
    expect(allocated.attributes['messaging.message.conversation_id']).toBe(allocate.attributes['messaging.message.conversation_id']);
    expect(allocated.attributes['messaging.message.conversation_id']).toMatch(/^[0-9a-f]{32}$/);
    // The network worker's spans came as http/protobuf and were decoded; the others' as http/json.
    const protocols = new Map<string, Set<string>>();
    for (const span of trace) protocols.set(span.service, (protocols.get(span.service) ?? new Set()).add(span.protocol));
    expect(Object.fromEntries([...protocols].map(([service, seen]) => [service, [...seen]]))).toEqual({
      'nova-api': ['http/json'],
      'nova-scheduler': ['http/json'],
      'nova-compute': ['http/json'],
      'nova-network': ['http/protobuf'],
    });
    expect(allocate.links.map((link) => link.spanId)).toEqual([allocated.spanId]);
    expect(trace.some((span) => span.service === 'nova-compute' && span.attributes['db.operation.name'] === 'UPDATE')).toBe(true);
    expect(JSON.stringify(trace.map((span) => span.name))).not.toMatch(/reply_/);
  });
});

describe('a failed boot is visible in its trace', () => {
  const traced = tracedCloud({ computes: ['cmp-bad'], settings: { fake_driver: { fail_spawn: true } } });

  it('the compute reschedules (span event, error status) and the scheduler sets ERROR, in one trace', async () => {
    const cloud = traced.cloud();
    const receiver = traced.receiver();
    const id = await cloud.boot('doomed-0');
    expect((await waitSettled(cloud, [id], 60_000)).get(id)?.status).toBe('ERROR');
    let trace: ReceivedSpan[] = [];
    const deadline = Date.now() + 30_000;
    const eventNamed = (name: string) => trace.find((span) => span.events.some((event) => event.name === name));
    while (Date.now() < deadline) {
      const post = receiver.spans.find((span) => span.kind === SERVER && span.name === 'POST /v2.1/servers');
      trace = post ? receiver.spans.filter((span) => span.traceId === post.traceId) : [];
      if (eventNamed('reschedule') && eventNamed('instance set to ERROR')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const rescheduled = eventNamed('reschedule');
    const failed = eventNamed('instance set to ERROR');
    expect(rescheduled).toMatchObject({ service: 'nova-compute', kind: CONSUMER, status: { code: 2 } });
    expect(failed).toMatchObject({ service: 'nova-scheduler', kind: CONSUMER, status: { code: 2 } });
    // The second scheduling attempt descends from the compute's failed build.
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    let ancestor = byId.get(failed!.parentSpanId);
    while (ancestor && ancestor.spanId !== rescheduled!.spanId) ancestor = byId.get(ancestor.parentSpanId);
    expect(ancestor?.spanId).toBe(rescheduled!.spanId);
  });
});

function exchangeOf(trace: ReceivedSpan[]): string {
  const send = trace.find((span) => span.kind === PRODUCER && span.service === 'nova-api');
  return String(send?.attributes['messaging.destination.name'] ?? '').split(':')[0]!;
}

function isAncestor(trace: ReceivedSpan[], ancestor: ReceivedSpan, span: ReceivedSpan): boolean {
  const byId = new Map(trace.map((candidate) => [candidate.spanId, candidate]));
  for (let current = byId.get(span.parentSpanId); current; current = byId.get(current.parentSpanId)) {
    if (current.spanId === ancestor.spanId) return true;
  }
  return false;
}
