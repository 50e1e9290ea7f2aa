/**
 * Framework spans on the memory transport, exported to memory: PRODUCER/CONSUMER/CLIENT
 * spans with the messaging attributes, context carried in message headers (never the
 * body), nested calls as children, a call as one CLIENT span (its publish an event),
 * the reply linked, failures as error status.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getTransport, MemoryBus, Notifier, NotificationListener, RequestContext, RpcClient, RpcServer, type Transport } from '../../src/rpc/index.js';
import { memoryTracing, parentOf } from '../support/tracing.js';

describe('RPC spans (memory transport)', () => {
  const transports: Transport[] = [];
  const servers: RpcServer[] = [];
  const context = new RequestContext({ userId: 'u', projectId: 'p', requestId: 'req-0c0ffee0-0000-4000-8000-000000000001' });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  function open(bus: MemoryBus, provider: ReturnType<typeof memoryTracing>['provider'] | false | undefined) {
    const transport = getTransport('memory://', { bus, tracerProvider: provider, options: { control_exchange: 'nova' } });
    transports.push(transport);
    return transport;
  }

  it('a cast to a server that calls another: one trace, producer → consumer → call (client) → consumer', async () => {
    const tracing = memoryTracing();
    const bus = new MemoryBus();
    const published = tapBus(bus);
    const network = new RpcServer(open(bus, tracing.provider), { topic: 'network', server: 'net1' }, [
      { methods: { allocate: () => ({ address: '10.0.0.2' }) } },
    ]);
    const computeTransport = open(bus, tracing.provider);
    const networkClient = new RpcClient(computeTransport, { topic: 'network' });
    let done!: () => void;
    const built = new Promise<void>((resolve) => (done = resolve));
    const compute = new RpcServer(computeTransport, { topic: 'compute', server: 'cmp1' }, [
      {
        methods: {
          build: async (ctx) => {
            await networkClient.call(ctx, 'allocate', {});
            done();
          },
        },
      },
    ]);
    for (const server of [network, compute]) {
      await server.start();
      servers.push(server);
    }
    const api = new RpcClient(open(bus, tracing.provider), { topic: 'compute', server: 'cmp1' });
    await api.cast(context, 'build', { id: 1 });
    await built;
    await waitFor(() => tracing.spans().length >= 4);

    const spans = tracing.spans();
    const byName = (name: string, kind: SpanKind) => spans.find((span) => span.name === name && span.kind === kind)!;
    const castSend = byName('send nova:compute.cmp1', SpanKind.PRODUCER);
    const buildProcess = byName('process nova:compute.cmp1', SpanKind.CONSUMER);
    const allocateCall = byName('allocate', SpanKind.CLIENT);
    const allocateProcess = byName('process nova:network', SpanKind.CONSUMER);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(parentOf(castSend)).toBe('');
    expect(parentOf(buildProcess)).toBe(castSend.spanContext().spanId);
    expect(parentOf(allocateCall)).toBe(buildProcess.spanContext().spanId);
    // A call is one CLIENT span: the request carries its context, its publish is an event.
    expect(parentOf(allocateProcess)).toBe(allocateCall.spanContext().spanId);
    expect(spans).toHaveLength(4);
    expect(allocateCall.events.map((event) => event.name)).toEqual(['published']);
    expect(allocateCall.attributes).toMatchObject({
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'nova:network',
      'messaging.rabbitmq.destination.routing_key': 'network',
      'rpc.method': 'allocate',
    });
    // The call's span is linked to the span that sent its reply; reply queues stay out of names and attributes.
    expect(allocateCall.links.map((link) => link.context.spanId)).toEqual([allocateProcess.spanContext().spanId]);
    expect(JSON.stringify(spans.map((span) => [span.name, span.attributes]))).not.toMatch(/reply_[0-9a-f]{32}/);

    expect(castSend.attributes).toMatchObject({
      'messaging.system': 'novarpc_memory',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'nova:compute.cmp1',
      'messaging.rabbitmq.destination.routing_key': 'compute.cmp1',
      'rpc.method': 'build',
      'openstack.request_id': context.requestId,
    });
    expect(buildProcess.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'rpc.method': 'build', 'openstack.request_id': context.requestId });
    const msgId = allocateProcess.attributes['messaging.message.conversation_id'];
    expect(msgId).toMatch(/^[0-9a-f]{32}$/);
    expect(allocateCall.attributes['messaging.message.conversation_id']).toBe(msgId);
    // Trace context travels in headers only: the oslo bodies carry no trace of it.
    const bodies = published.map((message) => message.body);
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const body of bodies) expect(body).not.toMatch(/traceparent|tracestate|[0-9a-f]{32}-[0-9a-f]{16}/);
  });

  it('a handler failure is an error on the consumer span and the call span', async () => {
    const tracing = memoryTracing();
    const bus = new MemoryBus();
    const server = new RpcServer(open(bus, tracing.provider), { topic: 'network', server: 'net1' }, [
      { methods: { refuse: () => { throw new RangeError('no addresses left'); } } },
    ]);
    await server.start();
    servers.push(server);
    const client = new RpcClient(open(bus, tracing.provider), { topic: 'network' });
    await expect(client.call(context, 'refuse')).rejects.toThrow(/no addresses left/);
    await waitFor(() => tracing.spans().some((span) => span.kind === SpanKind.CLIENT));
    const consumer = tracing.spans().find((span) => span.kind === SpanKind.CONSUMER)!;
    const call = tracing.spans().find((span) => span.kind === SpanKind.CLIENT)!;
    expect(consumer.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'no addresses left' });
    expect(consumer.events.map((event) => event.name)).toContain('exception');
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('notifications carry the context from notifier to listener', async () => {
    const tracing = memoryTracing();
    const bus = new MemoryBus();
    const transport = open(bus, tracing.provider);
    const seen: string[] = [];
    const listener = new NotificationListener(transport, [{ topic: 'notifications' }], [
      { info: () => void seen.push(trace.getActiveSpan()?.spanContext().traceId ?? 'none') },
    ]);
    await listener.start();
    await new Notifier(transport, { publisherId: 'compute.cmp1' }).info(context, 'compute.instance.create.end', {});
    await waitFor(() => seen.length === 1);
    await listener.stop();
    const send = tracing.spans().find((span) => span.kind === SpanKind.PRODUCER)!;
    expect(send.attributes['openstack.event_type']).toBe('compute.instance.create.end');
    expect(seen).toEqual([send.spanContext().traceId]);
  });

  it('with no SDK registered (the default) casts and calls carry no headers and work as before', async () => {
    memoryTracing(); // context manager and propagator registered, but no global TracerProvider
    const bus = new MemoryBus();
    const published = tapBus(bus);
    const server = new RpcServer(open(bus, undefined), { topic: 'network', server: 'net1' }, [{ methods: { ping: () => 'pong', note: () => undefined } }]);
    await server.start();
    servers.push(server);
    const client = new RpcClient(open(bus, undefined), { topic: 'network' });
    expect(await client.call(context, 'ping')).toBe('pong');
    await client.cast(context, 'note');
    expect(published.map((message) => message.headers)).toEqual([undefined, undefined, undefined]);
  });

  it('with tracerProvider: false there are no spans and no headers', async () => {
    const tracing = memoryTracing();
    const bus = new MemoryBus();
    const published = tapBus(bus);
    const server = new RpcServer(open(bus, false), { topic: 'network', server: 'net1' }, [{ methods: { ping: () => 'pong' } }]);
    await server.start();
    servers.push(server);
    const client = new RpcClient(open(bus, false), { topic: 'network' });
    await tracing.provider.getTracer('test').startActiveSpan('outer', async (outer) => {
      expect(await client.call(context, 'ping')).toBe('pong');
      outer.end();
    });
    expect(published.map((message) => message.headers)).toEqual([undefined, undefined]);
    expect(tracing.spans().map((span) => span.name)).toEqual(['outer']);
  });
});

/** Every message published on `bus` from now on (live array): body text and headers. */
function tapBus(bus: MemoryBus): Array<{ body: string; headers: unknown }> {
  const published: Array<{ body: string; headers: unknown }> = [];
  const publish = bus.publish.bind(bus);
  bus.publish = (exchange, routingKey, body, expirationMs, headers) => {
    published.push({ body: body.toString('utf8'), headers });
    return publish(exchange, routingKey, body, expirationMs, headers);
  };
  return published;
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
