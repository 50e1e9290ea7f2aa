/**
 * Framework metrics on the memory transport: oslo.metrics' names, labels and buckets,
 * counts equal to the calls made, bounded labels, and nothing when metrics are off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import {
  buildEndpoint,
  defineContract,
  getTransport,
  MemoryBus,
  NoSuchMethod,
  Notifier,
  NotificationListener,
  RequestContext,
  RpcClient,
  RpcServer,
  z,
  type Transport,
} from '../../src/rpc/index.js';
import { RPC_PROCESSING_BUCKETS } from '../../src/rpc/telemetry/metrics.js';
import { parseExposition, samples, total } from '../support/prom-text.js';

class QuotaExceeded extends Error {}

describe('RPC metrics (oslo.metrics names)', () => {
  const transports: Transport[] = [];
  const servers: RpcServer[] = [];
  const context = new RequestContext({ userId: 'u', projectId: 'p', requestId: 'req-12345678' });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  async function cloud(registry: Registry) {
    const bus = new MemoryBus();
    const open = (processName: string) => {
      const transport = getTransport('memory://', { bus, metrics: registry, processName, options: { control_exchange: 'nova' } });
      transports.push(transport);
      return transport;
    };
    const server = new RpcServer(
      open('nova-network'),
      { topic: 'network', server: 'net1' },
      [
        {
          name: 'NetworkManager',
          target: { version: '1.1' },
          methods: {
            allocate: (_ctx, args) => ({ address: `10.0.0.${String(args.n)}` }),
            slow: async () => new Promise((resolve) => setTimeout(() => resolve('done'), 30)),
            refuse: () => {
              throw new QuotaExceeded('no more addresses');
            },
            note: () => undefined,
          },
        },
      ],
      { drainTimeout: 1 },
    );
    await server.start();
    servers.push(server);
    return { client: new RpcClient(open('nova-compute'), { topic: 'network', version: '1.1' }), server };
  }

  it('counts calls, casts and failures on both sides with oslo labels', async () => {
    const registry = new Registry();
    const { client } = await cloud(registry);
    for (let n = 0; n < 5; n++) await client.call(context, 'allocate', { n });
    await client.call(context, 'slow');
    await expect(client.call(context, 'refuse')).rejects.toThrow(/no more addresses/);
    await expect(client.call(context, 'no_such')).rejects.toBeInstanceOf(NoSuchMethod);
    for (let i = 0; i < 3; i++) await client.prepare({ server: 'net1' }).cast(context, 'note');
    await waitFor(async () => total(parseExposition(await registry.metrics()), 'oslo_messaging_rpc_server_invocation_end_total', { method: 'note' }) === 3);

    const families = parseExposition(await registry.metrics());
    const clientCall = { call_type: 'call', exchange: 'nova', topic: 'network', namespace: 'None', version: '1.1', server: 'None', fanout: 'None', process: 'nova-compute', timeout: 'None' };
    expect(samples(families, 'oslo_messaging_rpc_client_invocation_start_total', { ...clientCall, method: 'allocate' })).toEqual([
      { name: 'oslo_messaging_rpc_client_invocation_start_total', labels: { ...clientCall, method: 'allocate' }, value: 5 },
    ]);
    expect(total(families, 'oslo_messaging_rpc_client_invocation_end_total', { method: 'allocate' })).toBe(5);
    expect(total(families, 'oslo_messaging_rpc_client_processing_seconds_count', { method: 'allocate' })).toBe(5);
    // A failure counts start and the exception, not end (as oslo's measure_metrics).
    expect(total(families, 'oslo_messaging_rpc_client_invocation_start_total', { method: 'refuse' })).toBe(1);
    expect(total(families, 'oslo_messaging_rpc_client_invocation_end_total', { method: 'refuse' })).toBe(0);
    expect(samples(families, 'oslo_messaging_rpc_client_exception_total', { method: 'refuse' })).toHaveLength(1);
    expect(total(families, 'oslo_messaging_rpc_client_exception_total', { method: 'no_such', exception: 'NoSuchMethod' })).toBe(1);
    expect(total(families, 'oslo_messaging_rpc_client_invocation_end_total', { call_type: 'cast', method: 'note', server: 'net1' })).toBe(3);

    const serverLabels = { exchange: 'nova', topic: 'network', server: 'net1', endpoint: 'NetworkManager', namespace: 'None', version: '1.1', process: 'nova-network' };
    expect(total(families, 'oslo_messaging_rpc_server_invocation_start_total', { ...serverLabels, method: 'allocate' })).toBe(5);
    expect(total(families, 'oslo_messaging_rpc_server_invocation_end_total', { ...serverLabels, method: 'allocate' })).toBe(5);
    expect(total(families, 'oslo_messaging_rpc_server_exception_total', { method: 'refuse', exception: 'QuotaExceeded' })).toBe(1);
    // A method no endpoint has is not a server series (oslo: "doesn't count if the server failed to find the method").
    expect(samples(families, 'oslo_messaging_rpc_server_invocation_start_total', { method: 'no_such' })).toEqual([]);

    // The slow call lands above 0.025 s in the histogram; buckets are oslo's.
    const buckets = samples(families, 'oslo_messaging_rpc_server_processing_seconds_bucket', { method: 'slow' });
    expect(buckets.map((bucket) => bucket.labels.le)).toEqual([...RPC_PROCESSING_BUCKETS.map(pythonFloat), '+Inf']);
    expect(buckets.find((bucket) => bucket.labels.le === '0.025')!.value).toBe(0);
    expect(buckets.find((bucket) => bucket.labels.le === '+Inf')!.value).toBe(1);
    expect(families.get('oslo_messaging_rpc_server_processing_seconds')!.type).toBe('histogram');
  });

  it('keeps ids out of labels and reports waiters and in-flight handlers as gauges', async () => {
    const registry = new Registry();
    const { client } = await cloud(registry);
    const slow = client.call(context, 'slow');
    await waitFor(async () => total(parseExposition(await registry.metrics()), 'novarpc_rpc_server_in_flight') === 1);
    const during = parseExposition(await registry.metrics());
    expect(total(during, 'novarpc_reply_waiters')).toBe(1);
    expect(samples(during, 'novarpc_rpc_server_in_flight')[0]!.labels).toEqual({ topic: 'network' });
    await slow;
    const text = await registry.metrics();
    expect(text).not.toMatch(/req-12345678|reply_[0-9a-f]{32}/);
    expect(total(parseExposition(text), 'novarpc_reply_waiters')).toBe(0);
  });

  it('counts notifications by event type, sent and received', async () => {
    const registry = new Registry();
    const bus = new MemoryBus();
    const transport = getTransport('memory://', { bus, metrics: registry });
    transports.push(transport);
    const received: string[] = [];
    const listener = new NotificationListener(transport, [{ topic: 'notifications' }], [{ info: (_c, _p, eventType) => void received.push(eventType) }]);
    await listener.start();
    const notifier = new Notifier(transport, { publisherId: 'compute.host1' });
    await notifier.info(context, 'compute.instance.create.end', {});
    await notifier.info(context, 'compute.instance.create.end', {});
    await waitFor(async () => received.length === 2);
    await listener.stop();
    const families = parseExposition(await registry.metrics());
    const labels = { event_type: 'compute.instance.create.end', priority: 'info' };
    expect(total(families, 'novarpc_notifications_sent_total', labels)).toBe(2);
    expect(total(families, 'novarpc_notifications_received_total', labels)).toBe(2);
  });

  it("labels server series with the endpoint's name as oslo does (never the topic): given, contract, class, or position", async () => {
    const registry = new Registry();
    const bus = new MemoryBus();
    const transport = getTransport('memory://', { bus, metrics: registry, options: { control_exchange: 'nova' } });
    transports.push(transport);
    const contract = defineContract({ topic: 'conductor', name: 'ConductorManager', version: '1.0', methods: { ping: { kind: 'call', since: '1.0', args: z.object({}) } } });
    const unnamed = defineContract({ topic: 'conductor', namespace: 'unnamed', version: '1.0', methods: { hello: { kind: 'call', since: '1.0', args: z.object({}) } } });
    class BaseRpcEndpoint {
      readonly target = { namespace: 'baseapi', version: '1.1' };
      readonly methods = { base_ping: () => 'pong' };
    }
    const server = new RpcServer(transport, { topic: 'conductor', server: 'c1' }, [
      buildEndpoint(contract, { ping: () => 'pong' }),
      { name: 'GivenName', target: { namespace: 'given' }, methods: { given: () => 1 } },
      new BaseRpcEndpoint(),
      { target: { namespace: 'plain' }, methods: { plain: () => 2 } },
      buildEndpoint(unnamed, { hello: () => 'hi' }),
    ]);
    await server.start();
    servers.push(server);
    const client = new RpcClient(transport, { topic: 'conductor' });
    await client.call(context, 'ping');
    await client.prepare({ namespace: 'given' }).call(context, 'given');
    await client.prepare({ namespace: 'baseapi', version: '1.1' }).call(context, 'base_ping');
    await client.prepare({ namespace: 'plain' }).call(context, 'plain');
    await client.prepare({ namespace: 'unnamed' }).call(context, 'hello');
    const families = parseExposition(await registry.metrics());
    const endpointOf = (method: string) => samples(families, 'oslo_messaging_rpc_server_invocation_end_total', { method }).map((sample) => sample.labels.endpoint);
    expect(endpointOf('ping')).toEqual(['ConductorManager']);
    expect(endpointOf('given')).toEqual(['GivenName']);
    expect(endpointOf('base_ping')).toEqual(['BaseRpcEndpoint']);
    expect(endpointOf('plain')).toEqual(['endpoint_3']);
    expect(endpointOf('hello')).toEqual(['endpoint_4']);
  });

  it('records nothing and costs nothing when off', async () => {
    const transport = getTransport('memory://');
    transports.push(transport);
    expect(transport.metrics).toBeUndefined();
    const own = getTransport('memory://', { metrics: true });
    transports.push(own);
    expect(own.metrics?.registry).toBeInstanceOf(Registry);
    expect(parseExposition(await own.metrics!.registry.metrics()).has('oslo_messaging_rpc_client_invocation_start_total')).toBe(true);
  });
});

function pythonFloat(bound: number): string {
  return Number.isInteger(bound) ? `${bound}.0` : String(bound);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
