/**
 * The behaviour every transport must have, run on the memory bus and on RabbitMQ.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidTarget,
  MessagingTimeout,
  NoSuchMethod,
  NotificationListener,
  RemoteError,
  RequestContext,
  RpcClient,
  RpcServer,
  Notifier,
  UnsupportedVersion,
  VersionCapError,
  type Endpoint,
  type Transport,
} from '../../src/rpc/index.js';
import { deferred, waitFor, type TestBus, type TestBusFactory } from '../support/harness.js';

/** An application error a caller allows to be rebuilt as itself. */
export class QuotaExceeded extends Error {
  static wireClass = 'QuotaExceeded';
  static wireModule = 'novarpc.tests';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records which server handled what. */
function recordingEndpoint(server: string, log: Array<{ server: string; method: string; args: Record<string, unknown> }>, extra: Endpoint['methods'] = {}): Endpoint {
  return {
    target: { version: '1.3' },
    methods: {
      record: (_ctx, args) => {
        log.push({ server, method: 'record', args });
        return server;
      },
      whoami: () => server,
      ...extra,
    },
  };
}

export function behaviourSuite(factory: TestBusFactory): void {
  describe(`transport behaviour (${factory.driver})`, () => {
    let bus: TestBus;
    let clientTransport: Transport;
    const servers: RpcServer[] = [];
    const context = new RequestContext({ userId: 'alice', projectId: 'p1', roles: ['member'] });

    beforeEach(async () => {
      bus = await factory.create();
      clientTransport = bus.transport();
    });

    afterEach(async () => {
      await Promise.all(servers.splice(0).map((server) => server.stop()));
      await bus.cleanup();
    });

    async function startServer(topic: string, server: string, endpoints: Endpoint[], options = {}): Promise<RpcServer> {
      const rpcServer = new RpcServer(bus.transport(), { topic, server }, endpoints, { drainTimeout: 5, ...options });
      await rpcServer.start();
      servers.push(rpcServer);
      return rpcServer;
    }

    it('a cast reaches exactly one of three servers, and every cast is handled once', async () => {
      const topic = bus.topic('compute');
      const log: Array<{ server: string; method: string; args: Record<string, unknown> }> = [];
      for (const name of ['s1', 's2', 's3']) await startServer(topic, name, [recordingEndpoint(name, log)]);
      const client = new RpcClient(clientTransport, { topic, version: '1.0' });
      for (let n = 0; n < 30; n++) await client.cast(context, 'record', { n });
      await waitFor(() => log.length >= 30, 10_000, '30 casts');
      await sleep(200);
      expect(log).toHaveLength(30);
      expect(new Set(log.map((entry) => entry.args.n)).size).toBe(30);
      expect(new Set(log.map((entry) => entry.server)).size).toBeGreaterThan(1);
    });

    it('a server-targeted cast and call reach only that server', async () => {
      const topic = bus.topic('compute');
      const log: Array<{ server: string; method: string; args: Record<string, unknown> }> = [];
      for (const name of ['s1', 's2', 's3']) await startServer(topic, name, [recordingEndpoint(name, log)]);
      const client = new RpcClient(clientTransport, { topic }).prepare({ server: 's2' });
      for (let n = 0; n < 10; n++) await client.cast(context, 'record', { n });
      const answers = await Promise.all(Array.from({ length: 10 }, () => client.call(context, 'whoami')));
      await waitFor(() => log.length >= 10, 15_000, 'targeted casts');
      expect(answers).toEqual(Array(10).fill('s2'));
      expect(log.every((entry) => entry.server === 's2')).toBe(true);
    });

    it('a fanout cast reaches every server of the topic', async () => {
      const topic = bus.topic('compute');
      const log: Array<{ server: string; method: string; args: Record<string, unknown> }> = [];
      for (const name of ['s1', 's2', 's3']) await startServer(topic, name, [recordingEndpoint(name, log)]);
      await new RpcClient(clientTransport, { topic }).prepare({ fanout: true }).cast(context, 'record', { n: 1 });
      await waitFor(() => log.length >= 3, 15_000, 'fanout to 3 servers');
      await sleep(100);
      expect(log.map((entry) => entry.server).sort()).toEqual(['s1', 's2', 's3']);
    });

    it('a call returns results of every JSON type', async () => {
      const topic = bus.topic('compute');
      await startServer(topic, 's1', [{ methods: { echo: (_ctx, args) => args.value } }]);
      const client = new RpcClient(clientTransport, { topic }, { timeout: 10 });
      const values = [
        null,
        true,
        0,
        -12.5,
        'plain',
        'unicode: ünïcødé ✓ 日本語 🚀',
        [],
        {},
        { nested: { deeper: { list: [1, 'two', { three: 3 }], empty: null } } },
        Array.from({ length: 20_000 }, (_, i) => i),
      ];
      for (const value of values) expect(await client.call(context, 'echo', { value })).toEqual(value);
      expect(await new RpcClient(clientTransport, { topic }).call(context, 'echo', {})).toBeNull();
    });

    it('remote exceptions are rebuilt with class and message; unknown classes arrive as RemoteError', async () => {
      const topic = bus.topic('compute');
      await startServer(topic, 's1', [
        {
          methods: {
            quota: () => {
              throw new QuotaExceeded('quota of 10 instances exceeded');
            },
            typeError: () => {
              throw new TypeError('expected a string');
            },
            plain: () => {
              throw new Error('disk on fire');
            },
          },
        },
      ]);
      const plainClient = new RpcClient(clientTransport, { topic });
      const allowingTransport = bus.transport();
      Object.assign(allowingTransport, { allowedRemoteErrors: [QuotaExceeded] });
      const allowingClient = new RpcClient(allowingTransport, { topic });

      const rebuilt = await allowingClient.call(context, 'quota').catch((error: unknown) => error);
      expect(rebuilt).toBeInstanceOf(QuotaExceeded);
      expect((rebuilt as Error).message).toBe('quota of 10 instances exceeded');

      const notAllowed = await plainClient.call(context, 'quota').catch((error: unknown) => error);
      expect(notAllowed).toBeInstanceOf(RemoteError);
      expect(notAllowed).toMatchObject({ excType: 'QuotaExceeded', value: 'quota of 10 instances exceeded', excModule: 'novarpc.tests' });

      const typeError = await plainClient.call(context, 'typeError').catch((error: unknown) => error);
      expect(typeError).toMatchObject({ name: 'TypeError', message: 'expected a string' });

      const plain = await plainClient.call(context, 'plain').catch((error: unknown) => error);
      expect(plain).toBeInstanceOf(RemoteError);
      expect((plain as Error).message).toBe('disk on fire');
    });

    it('unknown methods and incompatible versions fail for the caller and the server keeps serving', async () => {
      const topic = bus.topic('compute');
      const log: Array<{ server: string; method: string; args: Record<string, unknown> }> = [];
      await startServer(topic, 's1', [recordingEndpoint('s1', log)]);
      const client = new RpcClient(clientTransport, { topic, version: '1.0' }, { timeout: 10 });
      await expect(client.call(context, 'no_such_thing')).rejects.toBeInstanceOf(NoSuchMethod);
      await expect(client.call(context, 'constructor')).rejects.toBeInstanceOf(NoSuchMethod);
      await expect(client.prepare({ version: '1.4' }).call(context, 'whoami')).rejects.toBeInstanceOf(UnsupportedVersion);
      await expect(client.prepare({ version: '2.0' }).call(context, 'whoami')).rejects.toThrow(/RPC version 2.0/);
      await expect(client.prepare({ namespace: 'other' }).call(context, 'whoami')).rejects.toBeInstanceOf(UnsupportedVersion);
      expect(await client.prepare({ version: '1.3' }).call(context, 'whoami')).toBe('s1');
    });

    it('a call to a topic nobody serves times out at its timeout, naming what it waited for', async () => {
      const topic = bus.topic('nobody');
      const timeoutSeconds = 1;
      const client = new RpcClient(clientTransport, { topic }, { timeout: timeoutSeconds });
      await clientTransport.replies().queueName(); // the reply queue exists before the clock starts
      const started = Date.now();
      const error = await client.call(context, 'ping').catch((caught: unknown) => caught);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(MessagingTimeout);
      expect((error as MessagingTimeout).message).toContain(topic);
      expect((error as MessagingTimeout).message).toContain('ping');
      expect((error as MessagingTimeout).details).toMatchObject({ topic, method: 'ping', timeoutSeconds });
      // Never before its timeout; and its own timeout, not the transport's 60 s default.
      expect(elapsed).toBeGreaterThanOrEqual(timeoutSeconds * 1000);
      expect(elapsed).toBeLessThan(clientTransport.options.rpc_response_timeout * 1000 / 3);
    });

    it('the context survives a cast and a nested call, unknown keys included', async () => {
      const apiTopic = bus.topic('scheduler');
      const networkTopic = bus.topic('network');
      const seen: Array<{ where: string; context: RequestContext }> = [];
      const network = bus.transport();
      await startServer(networkTopic, 's1', [
        {
          methods: {
            allocate: (ctx) => {
              seen.push({ where: 'network', context: ctx });
              return { ip: '10.0.0.2' };
            },
          },
        },
      ]);
      const networkClient = new RpcClient(network, { topic: networkTopic });
      await startServer(apiTopic, 's1', [
        {
          methods: {
            run: async (ctx) => {
              seen.push({ where: 'scheduler', context: ctx });
              await networkClient.call(ctx, 'allocate');
            },
          },
        },
      ]);
      const original = new RequestContext({
        userId: 'alice',
        projectId: 'p1',
        roles: ['member', 'reader'],
        isAdmin: false,
        authToken: 'tok',
        extra: { trace_info: { base_id: 'b1' }, custom_key: 42 },
      });
      await new RpcClient(clientTransport, { topic: apiTopic }).cast(original, 'run');
      await waitFor(() => seen.length === 2, 15_000, 'cast and nested call');
      for (const { context: received } of seen) {
        expect(received.requestId).toBe(original.requestId);
        expect(received.userId).toBe('alice');
        expect(received.projectId).toBe('p1');
        expect(received.roles).toEqual(['member', 'reader']);
        expect(received.authToken).toBe('tok');
        expect(received.extra).toMatchObject({ trace_info: { base_id: 'b1' }, custom_key: 42 });
      }
    });

    it('notifications reach a listener with oslo fields', async () => {
      const topic = bus.topic('notif');
      const received: Array<{ ctx: RequestContext; publisherId: string; eventType: string; payload: unknown; metadata: { message_id: string; timestamp: string } }> = [];
      const listener = new NotificationListener(bus.transport(), [{ topic }], [
        {
          info: (ctx, publisherId, eventType, payload, metadata) => {
            received.push({ ctx, publisherId, eventType, payload, metadata });
          },
        },
      ]);
      await listener.start();
      const notifier = new Notifier(clientTransport, { publisherId: 'compute.host1', topics: [topic] });
      const ctx = new RequestContext({ userId: 'alice', projectId: 'p1', authToken: 'secret-token' });
      await notifier.info(ctx, 'compute.instance.create.end', { instance_id: 'i-1', state: 'active' });
      await waitFor(() => received.length === 1, 15_000, 'notification');
      await listener.stop();
      const [got] = received;
      expect(got!.publisherId).toBe('compute.host1');
      expect(got!.eventType).toBe('compute.instance.create.end');
      expect(got!.payload).toEqual({ instance_id: 'i-1', state: 'active' });
      expect(got!.metadata.message_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(got!.metadata.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
      expect(got!.ctx.requestId).toBe(ctx.requestId);
      expect(got!.ctx.authToken).toBeNull();
    });

    it('stop() lets in-flight handlers finish, and takes no new work', async () => {
      const topic = bus.topic('compute');
      const release = deferred();
      let started = 0;
      let finished = 0;
      const server = await startServer(topic, 's1', [
        {
          methods: {
            slow: async () => {
              started += 1;
              await release.promise;
              finished += 1;
            },
          },
        },
      ]);
      const client = new RpcClient(clientTransport, { topic });
      for (let i = 0; i < 5; i++) await client.cast(context, 'slow');
      await waitFor(() => started === 5, 15_000, '5 handlers started');
      const stopping = server.stop();
      await sleep(100);
      await client.cast(context, 'slow');
      let stopped = false;
      void stopping.then(() => (stopped = true));
      await sleep(100);
      expect(stopped).toBe(false);
      release.resolve();
      await stopping;
      expect(finished).toBe(5);
      expect(started).toBe(5);
    });

    it('runs at most maxConcurrency handlers at once', async () => {
      const topic = bus.topic('compute');
      let running = 0;
      let peak = 0;
      let done = 0;
      await startServer(
        topic,
        's1',
        [
          {
            methods: {
              work: async () => {
                running += 1;
                peak = Math.max(peak, running);
                await sleep(50);
                running -= 1;
                done += 1;
              },
            },
          },
        ],
        { maxConcurrency: 2 },
      );
      const client = new RpcClient(clientTransport, { topic });
      await Promise.all(Array.from({ length: 8 }, () => client.cast(context, 'work')));
      await waitFor(() => done === 8, 15_000, '8 handlers');
      expect(peak).toBe(2);
    });

    it('malformed messages go to the dead-letter queue and the server keeps serving', async () => {
      const topic = bus.topic('compute');
      const transport = bus.transport({ max_message_size: 64 * 1024 });
      await transport.deadLetters.purge();
      const server = new RpcServer(transport, { topic, server: 's1' }, [{ methods: { ping: () => 'pong' } }], { drainTimeout: 5 });
      await server.start();
      servers.push(server);
      const envelope = (inner: unknown) => Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }));
      const bad = [
        Buffer.from('this is not json'),
        Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
        envelope({ args: {}, _unique_id: 'x1' }),
        Buffer.from(JSON.stringify({ 'oslo.version': '3.0', 'oslo.message': '{"method":"ping","args":{}}' })),
        Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{not json' })),
        envelope({ method: 'ping', args: 'not an object' }),
        Buffer.from(JSON.stringify({ method: 'ping', args: {}, pad: 'x'.repeat(100 * 1024) })),
      ];
      const client = new RpcClient(clientTransport, { topic }, { timeout: 10 });
      for (const body of bad) {
        await bus.publishRaw(bus.exchange, topic, body);
        expect(await client.call(context, 'ping')).toBe('pong');
      }
      await waitFor(() => server.stats.deadLettered === bad.length, 15_000, 'all bad messages dead-lettered');
      const letters = await transport.deadLetters.list(100);
      const ours = letters.filter((letter) => letter.queue === topic);
      expect(ours).toHaveLength(bad.length);
      expect(ours.map((letter) => letter.reason).join('\n')).toMatch(/not JSON/);
      expect(ours.some((letter) => /no "method"/.test(letter.reason))).toBe(true);
      expect(ours.some((letter) => /envelope version/.test(letter.reason))).toBe(true);
      expect(ours.some((letter) => /max_message_size/.test(letter.reason))).toBe(true);
      expect(ours.some((letter) => /UTF-8/.test(letter.reason))).toBe(true);
      expect(await transport.deadLetters.purge()).toBeGreaterThanOrEqual(bad.length);
    });

    it('a malformed call is answered with an error instead of leaving the caller to time out', async () => {
      const topic = bus.topic('compute');
      await startServer(topic, 's1', [{ methods: { ping: () => 'pong' } }]);
      const client = new RpcClient(clientTransport, { topic }, { timeout: 5 });
      // A request whose args are not an object but which names a reply queue.
      const replyQueue = await clientTransport.replies().queueName();
      const waiter = clientTransport.replies().wait('feedface', { timeoutMs: 5000 }, { topic, method: 'ping' });
      await bus.publishRaw(
        bus.exchange,
        topic,
        Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ method: 'ping', args: [1], _msg_id: 'feedface', _reply_q: replyQueue }) })),
      );
      await expect(waiter.promise).rejects.toThrow(/"args" of ping is not an object/);
      expect(await client.call(context, 'ping')).toBe('pong');
      await clientTransport.deadLetters.purge();
    });

    it('drops a duplicate delivery of the same _unique_id', async () => {
      const topic = bus.topic('compute');
      let handled = 0;
      const server = await startServer(topic, 's1', [{ methods: { count: () => void (handled += 1) } }]);
      const body = Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ method: 'count', args: {}, _unique_id: 'same-id' }) }));
      await bus.publishRaw(bus.exchange, topic, body);
      await bus.publishRaw(bus.exchange, topic, body);
      await waitFor(() => server.stats.duplicates === 1, 15_000, 'duplicate detected');
      expect(handled).toBe(1);
    });

    it('call-monitor heartbeats keep a long call alive past its monitor window', async () => {
      const topic = bus.topic('compute');
      // Heartbeats every 2 s against a 4 s window: a heartbeat may be 2 s late on a loaded machine.
      await startServer(topic, 's1', [{ methods: { long: async () => (await sleep(5000), 'done') } }]);
      const client = new RpcClient(clientTransport, { topic }, { timeout: 30, callMonitorTimeout: 4 });
      expect(await client.call(context, 'long')).toBe('done');
      // Without heartbeats (monitor window below what the server heartbeats for), it fails fast.
      const quiet = new RpcClient(clientTransport, { topic }, { timeout: 30, callMonitorTimeout: 1 });
      await expect(quiet.call(context, 'long')).rejects.toThrow(/call-monitor timeout/);
    }, 30_000);

    it('refuses calls with fanout and versions above the cap, locally', async () => {
      const topic = bus.topic('compute');
      const client = new RpcClient(clientTransport, { topic, version: '1.5' }, { versionCap: '1.4' });
      expect(client.canSendVersion('1.4')).toBe(true);
      expect(client.canSendVersion('1.5')).toBe(false);
      expect(client.canSendVersion('2.0')).toBe(false);
      await expect(client.cast(context, 'x')).rejects.toBeInstanceOf(VersionCapError);
      await expect(client.prepare({ version: '1.2', fanout: true }).call(context, 'x')).rejects.toBeInstanceOf(InvalidTarget);
    });

    it('a handler error in a cast is logged and acknowledged, not redelivered', async () => {
      const topic = bus.topic('compute');
      let attempts = 0;
      const server = await startServer(topic, 's1', [
        {
          methods: {
            fail: () => {
              attempts += 1;
              throw new Error('nope');
            },
          },
        },
      ]);
      await new RpcClient(clientTransport, { topic }).cast(context, 'fail');
      await waitFor(() => server.stats.failed === 1, 15_000, 'failure');
      await sleep(300);
      expect(attempts).toBe(1);
    });
  });
}
