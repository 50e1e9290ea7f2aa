/**
 * RpcServer and the message-handling base on the memory transport: construction
 * checks, concurrency and prefetch from the transport's oslo options, the ack policy,
 * the duplicate window, the redelivery limit and malformed messages.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  getTransport,
  InvalidEndpoint,
  InvalidTarget,
  MalformedMessage,
  MemoryBus,
  RequestContext,
  RpcClient,
  RpcServer,
  type Endpoint,
  type Transport,
} from '../../src/rpc/index.js';
import { encodeRequest } from '../../src/rpc/wire/envelope.js';
import { deferred, waitFor } from '../support/harness.js';

const MAX = 1 << 20;
const context = new RequestContext({ userId: 'u' });
const transports: Transport[] = [];
const servers: RpcServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

function open(bus: MemoryBus, options: Record<string, unknown> = {}): Transport {
  const transport = getTransport('memory://', { bus, options: { control_exchange: 'unit', ...options } });
  transports.push(transport);
  return transport;
}

async function serve(transport: Transport, endpoints: Endpoint[], options = {}): Promise<RpcServer> {
  const server = new RpcServer(transport, { topic: 't', server: 's1' }, endpoints, { drainTimeout: 5, ...options });
  servers.push(server);
  await server.start();
  return server;
}

describe('RpcServer construction', () => {
  const transport = getTransport('memory://');

  it('refuses a plain object of functions, showing the expected { target, methods } shape', () => {
    const plain = [{ add: () => 1 }] as unknown as Endpoint[];
    expect(() => new RpcServer(transport, { topic: 't', server: 's' }, plain)).toThrow(InvalidEndpoint);
    expect(() => new RpcServer(transport, { topic: 't', server: 's' }, plain)).toThrow(/\{ methods: \{ add \} \}/);
  });

  it('needs a topic, a server and an endpoint', () => {
    expect(() => new RpcServer(transport, { topic: 't' }, [{ methods: {} }])).toThrow(InvalidTarget);
    expect(() => new RpcServer(transport, { topic: 't', server: 's' }, [])).toThrow(InvalidEndpoint);
  });
});

describe('RpcServer on the memory bus', () => {
  it('takes concurrency from executor_thread_pool_size and prefetch from rabbit_qos_prefetch_count', async () => {
    const bus = new MemoryBus();
    const pooled = open(bus, { executor_thread_pool_size: 3 });
    const listen = vi.spyOn(pooled.driver, 'listenRpc');
    const release = deferred();
    let running = 0;
    let peak = 0;
    await serve(pooled, [{ methods: { slow: async () => { running += 1; peak = Math.max(peak, running); await release.promise; running -= 1; } } }]);
    expect(listen.mock.calls[0]![0].prefetch).toBe(3);
    const client = new RpcClient(open(bus), { topic: 't' });
    for (let i = 0; i < 8; i++) await client.cast(context, 'slow');
    await waitFor(() => running === 3, 10_000, '3 running');
    expect(peak).toBe(3);
    release.resolve();
    await waitFor(() => servers[0]!.stats.handled === 8, 10_000, 'all handled');

    const prefetched = open(bus, { rabbit_qos_prefetch_count: 7 });
    const listenPrefetched = vi.spyOn(prefetched.driver, 'listenRpc');
    const second = new RpcServer(prefetched, { topic: 't2', server: 's1' }, [{ methods: {} }], { maxConcurrency: 2 });
    servers.push(second);
    await second.start();
    expect(listenPrefetched.mock.calls[0]![0].prefetch).toBe(7);
  });

  it('drops a second copy of a _unique_id (acknowledged, not run) and counts it', async () => {
    const bus = new MemoryBus();
    const transport = open(bus);
    let runs = 0;
    const server = await serve(transport, [{ methods: { once: () => void (runs += 1) } }]);
    const body = encodeRequest({ method: 'once', args: {}, contextEntries: '', uniqueId: 'aa'.repeat(16) }, MAX);
    await transport.driver.publishRequest('unit', 't', body);
    await transport.driver.publishRequest('unit', 't', body);
    await waitFor(() => server.stats.duplicates === 1, 10_000, 'duplicate');
    expect(runs).toBe(1);
  });

  it('dead-letters a malformed call and answers its caller with MalformedMessage', async () => {
    const bus = new MemoryBus();
    const transport = open(bus);
    const server = await serve(transport, [{ methods: {} }]);
    const replyQueue = await transport.replies().queueName();
    const waiter = transport.replies().wait('cd'.repeat(16), { timeoutMs: 10_000 }, { topic: 't', method: 'x' });
    const inner = JSON.stringify({ method: 'x', args: [1], _msg_id: 'cd'.repeat(16), _reply_q: replyQueue });
    await transport.driver.publishRequest('unit', 't', Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': inner })));
    await expect(waiter.promise).rejects.toThrow(MalformedMessage);
    await waitFor(() => server.stats.deadLettered === 1, 10_000, 'dead-lettered');
    expect((await transport.deadLetters.list())[0]!.reason).toMatch(/"args" of x is not an object/);
  });

  it('acknowledges a call when dispatch begins and a cast when its handler settled', async () => {
    const bus = new MemoryBus();
    const transport = open(bus);
    const release = deferred();
    const acks: string[] = [];
    const listen = transport.driver.listenRpc.bind(transport.driver);
    vi.spyOn(transport.driver, 'listenRpc').mockImplementation((spec, handler) =>
      listen(spec, (delivery) => handler({ ...delivery, ack: () => { acks.push(JSON.parse(JSON.parse(delivery.body.toString())['oslo.message']).method); delivery.ack(); } })),
    );
    await serve(transport, [{ methods: { wait: () => release.promise, castWait: () => release.promise } }]);
    const client = new RpcClient(open(bus), { topic: 't' }, { timeout: 30 });
    const call = client.call(context, 'wait');
    await client.cast(context, 'castWait');
    await waitFor(() => acks.includes('wait'), 10_000, 'call acknowledged');
    expect(acks).toEqual(['wait']);
    release.resolve();
    await call;
    await waitFor(() => acks.length === 2, 10_000, 'cast acknowledged');
  });
});
