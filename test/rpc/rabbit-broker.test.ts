/**
 * What only a real broker shows: exact declarations, message properties, recovery
 * after a lost connection, redelivery after a killed worker, the dead-letter queue.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import * as amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { getTransport, RequestContext, RpcClient, RpcServer, TransportError } from '../../src/rpc/index.js';
import { closeConnections } from '../support/broker-admin.js';
import { rabbitBusFactory, toAmqpUrl, waitFor, type TestBus } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

const run = promisify(execFile);
const context = new RequestContext({ userId: 'u', projectId: 'p' });

describe('RabbitMQ driver', () => {
  let bus: TestBus;
  let admin: amqp.ChannelModel;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    bus = await rabbitBusFactory(brokerUrl).create();
    admin = await amqp.connect(toAmqpUrl(await brokerUrl()));
    admin.on('error', () => {});
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    await admin.close().catch(() => {});
    await bus.cleanup();
  });

  /** Redeclares with the given flags on a fresh channel: true if the broker agrees. */
  async function sameDeclaration(declare: (channel: amqp.Channel) => Promise<unknown>): Promise<boolean> {
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    try {
      await declare(channel);
      await channel.close();
      return true;
    } catch (error) {
      if (/PRECONDITION_FAILED|406/.test(String(error))) return false;
      throw error;
    }
  }

  async function fanoutQueueOf(topic: string): Promise<string> {
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', 'name']);
    const name = stdout.split('\n').find((line) => line.startsWith(`${topic}_fanout_`));
    if (!name) throw new Error(`no fanout queue for ${topic}`);
    return name.trim();
  }

  it('declares exactly what stock oslo.messaging declares when rabbit_quorum_queue=false', async () => {
    const topic = bus.topic('compute');
    const transport = bus.transport({ rabbit_quorum_queue: false, rabbit_transient_queues_ttl: 1800 });
    const server = new RpcServer(transport, { topic, server: 's1' }, [{ methods: { ping: () => 'pong' } }]);
    await server.start();
    cleanups.push(() => server.stop());
    expect(await new RpcClient(transport, { topic }).call(context, 'ping')).toBe('pong');
    const replyQueue = await transport.replies().queueName();
    const fanoutQueue = await fanoutQueueOf(topic);
    expect(fanoutQueue).toMatch(new RegExp(`^${topic}_fanout_[0-9a-f]{32}$`));
    expect(replyQueue).toMatch(/^reply_[0-9a-f]{32}$/);

    const plain = { durable: false, autoDelete: false, exclusive: false, arguments: {} };
    const transient = { durable: false, autoDelete: false, exclusive: false, arguments: { 'x-expires': 1_800_000 } };
    expect(await sameDeclaration((ch) => ch.assertExchange(bus.exchange, 'topic', { durable: false, autoDelete: false }))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertQueue(topic, plain))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertQueue(`${topic}.s1`, plain))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertExchange(`${topic}_fanout`, 'fanout', { durable: false, autoDelete: true }))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertQueue(fanoutQueue, transient))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertQueue(replyQueue, transient))).toBe(true);
    // The check is real: other flags are refused.
    expect(await sameDeclaration((ch) => ch.assertExchange(bus.exchange, 'topic', { durable: true }))).toBe(false);
    expect(await sameDeclaration((ch) => ch.assertQueue(topic, { ...plain, durable: true }))).toBe(false);
    expect(await sameDeclaration((ch) => ch.assertQueue(fanoutQueue, plain))).toBe(false);
    expect(await sameDeclaration((ch) => ch.assertQueue(replyQueue, { ...transient, arguments: { 'x-expires': 1_800_000.5 } }))).toBe(false);
  });

  it('declares durable quorum work queues and a durable exchange by default', async () => {
    const topic = bus.topic('compute');
    const server = new RpcServer(bus.transport(), { topic, server: 's1' }, [{ methods: { ping: () => 'pong' } }]);
    await server.start();
    cleanups.push(() => server.stop());
    const quorum = { durable: true, autoDelete: false, exclusive: false, arguments: { 'x-queue-type': 'quorum' } };
    expect(await sameDeclaration((ch) => ch.assertExchange(bus.exchange, 'topic', { durable: true, autoDelete: false }))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertQueue(topic, quorum))).toBe(true);
    expect(await sameDeclaration((ch) => ch.assertQueue(`${topic}.s1`, quorum))).toBe(true);
  });

  it('publishes with kombu properties: JSON, utf-8, persistent, expiration on calls only', async () => {
    const topic = bus.topic('compute');
    const channel = await admin.createChannel();
    const transport = bus.transport();
    const client = new RpcClient(transport, { topic }, { timeout: 30 });
    await client.cast(context, 'warm'); // declares the exchange
    const snoop = `${topic}.snoop`;
    await channel.assertQueue(snoop, { durable: false, autoDelete: true });
    await channel.bindQueue(snoop, bus.exchange, topic);
    cleanups.push(() => channel.deleteQueue(snoop));
    await client.cast(context, 'a_cast');
    const calling = client.prepare({ timeout: 2 }).call(context, 'a_call').catch(() => {});
    let call: amqp.GetMessage | false = false;
    const cast = await channel.get(snoop, { noAck: true });
    for (let tries = 0; tries < 50 && !call; tries++) {
      call = await channel.get(snoop, { noAck: true });
      if (!call) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await calling;
    expect(cast && call).toBeTruthy();
    for (const message of [cast, call] as amqp.GetMessage[]) {
      expect(message.properties).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, priority: 0, headers: {} });
    }
    expect((cast as amqp.GetMessage).properties.expiration).toBeUndefined();
    expect((call as amqp.GetMessage).properties.expiration).toBe('2000');
  });

  it('wire-format §4.5: a reply through the per-queue direct exchange of servers before oslo.messaging 9.2 reaches the caller', async () => {
    const topic = bus.topic('compute');
    const transport = bus.transport();
    const client = new RpcClient(transport, { topic }, { timeout: 10 });
    await client.cast(context, 'declare_the_exchange');
    const channel = await admin.createChannel();
    await channel.assertQueue(topic, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(topic, bus.exchange, topic);
    const calling = client.call(context, 'legacy');
    let request: amqp.GetMessage | false = false;
    for (let tries = 0; tries < 100 && !request; tries++) {
      request = await channel.get(topic, { noAck: true });
      if (!request) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const inner = JSON.parse(JSON.parse((request as amqp.GetMessage).content.toString())['oslo.message']);
    const reply = { result: 'from an old server', failure: null, ending: true, _msg_id: inner._msg_id };
    channel.publish(inner._reply_q, inner._reply_q, Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(reply) })));
    expect(await calling).toBe('from an old server');
    await channel.close();
  });

  it('a lost reply connection fails pending calls at once, and calls work again after it recovers', async () => {
    const topic = bus.topic('compute');
    let slowStarted = false;
    let release: (value: string) => void = () => {};
    const server = new RpcServer(bus.transport(), { topic, server: 's1' }, [
      {
        methods: {
          // Answers only when the test lets it: no reply can reach the caller before the loss.
          slow: async () => {
            slowStarted = true;
            return new Promise((resolve) => (release = resolve));
          },
          ping: () => 'pong',
        },
      },
    ]);
    await server.start();
    cleanups.push(() => server.stop());
    cleanups.push(async () => release('late'));
    const transport = bus.transport({ kombu_reconnect_delay: 0.2 });
    // A long call timeout: failing "at once" means well before it, however loaded the machine.
    const callTimeoutSeconds = 60;
    const client = new RpcClient(transport, { topic }, { timeout: callTimeoutSeconds });
    expect(await client.call(context, 'ping')).toBe('pong');
    const started = Date.now();
    const pending = client.call(context, 'slow').catch((error: unknown) => error);
    await waitFor(() => slowStarted, 10_000, 'the slow call to start on the server');
    await closeConnections(`:${process.pid}:reply`);
    const error = await pending;
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/connection to the broker lost/);
    expect(Date.now() - started).toBeLessThan((callTimeoutSeconds * 1000) / 3);
    release('late');
    let answer: unknown;
    for (let attempt = 0; attempt < 50 && answer !== 'pong'; attempt++) {
      answer = await client.call(context, 'ping').catch(() => undefined);
      if (answer !== 'pong') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(answer).toBe('pong');
  });

  it('a server whose connection is lost re-declares and keeps serving', async () => {
    const topic = bus.topic('compute');
    const server = new RpcServer(bus.transport({ kombu_reconnect_delay: 0.2 }), { topic, server: 's1' }, [{ methods: { ping: () => 'pong' } }]);
    await server.start();
    cleanups.push(() => server.stop());
    const client = new RpcClient(bus.transport(), { topic }, { timeout: 2 });
    expect(await client.call(context, 'ping')).toBe('pong');
    await closeConnections(`:${process.pid}:listen:${topic}.s1`);
    let answer: unknown;
    for (let attempt = 0; attempt < 20 && answer !== 'pong'; attempt++) answer = await client.call(context, 'ping').catch(() => undefined);
    expect(answer).toBe('pong');
  });

  it("a killed worker's unacknowledged cast is redelivered to another worker", async () => {
    const topic = bus.topic('compute');
    const url = `${await brokerUrl()}${(await brokerUrl()).includes('?') ? '&' : '?'}control_exchange=${bus.exchange}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/cast-worker.ts', url, topic, 's1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cleanups.push(async () => child.kill('SIGKILL'));
    await waitFor(() => output.includes('ready'), 20_000, 'worker ready');
    await new RpcClient(bus.transport(), { topic }).cast(context, 'hold', { n: 7 });
    await waitFor(() => output.includes('started 7'), 10_000, 'cast started in the worker');
    child.kill('SIGKILL');
    const received: Array<{ n: unknown; redelivered: boolean }> = [];
    const survivor = new RpcServer(bus.transport(), { topic, server: 's2' }, [{ methods: { hold: (_ctx, args) => void received.push({ n: args.n, redelivered: true }) } }]);
    await survivor.start();
    cleanups.push(() => survivor.stop());
    await waitFor(() => received.length === 1, 15_000, 'redelivered cast');
    expect(received[0]!.n).toBe(7);
  }, 40_000);

  it('a message delivered too many times goes to the dead-letter queue, and can be replayed', async () => {
    const topic = bus.topic('compute');
    const transport = bus.transport();
    await transport.deadLetters.purge();
    const client = new RpcClient(transport, { topic });
    // Declare the queue with a server, stop it, then bounce the message to raise its delivery count.
    const first = new RpcServer(transport, { topic, server: 's1' }, [{ methods: {} , target: { version: '1.0' } }]);
    await first.start();
    await first.stop();
    await client.cast(context, 'handle', { n: 1 });
    const channel = await admin.createChannel();
    for (let bounce = 0; bounce < 5; bounce++) {
      let message: amqp.GetMessage | false = false;
      for (let tries = 0; tries < 50 && !message; tries++) {
        message = await channel.get(topic);
        if (!message) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(message).toBeTruthy();
      channel.nack(message as amqp.GetMessage, false, true);
    }
    await channel.close();
    const handled: unknown[] = [];
    const server = new RpcServer(transport, { topic, server: 's1' }, [{ methods: { handle: (_ctx, args) => void handled.push(args.n) } }]);
    await server.start();
    cleanups.push(() => server.stop());
    await waitFor(() => server.stats.deadLettered === 1, 15_000, 'dead-lettered');
    expect(handled).toEqual([]);
    const [letter] = (await transport.deadLetters.list()).filter((entry) => entry.queue === topic);
    expect(letter).toMatchObject({ queue: topic, exchange: bus.exchange, routingKey: topic });
    expect(letter!.reason).toMatch(/delivered more than 5 times/);
    expect(await transport.deadLetters.replay([letter!.id])).toBe(1);
    await waitFor(() => handled.length === 1, 15_000, 'replayed message handled');
    expect(handled).toEqual([1]);
  });

  it('an unreachable broker is a clear error that names it and never shows the password', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) });
    const transport = getTransport('rabbit://nova:s3cr3t-pw@127.0.0.1:1/?send_timeout=1&rabbit_retry_interval=0.2', { logger });
    cleanups.push(() => transport.close());
    const started = Date.now();
    const error = await new RpcClient(transport, { topic: 'x' }).cast(context, 'm').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/127\.0\.0\.1:1/);
    // It gives up after its send_timeout (1 s), well before the 60 s default would.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(`${(error as Error).message}\n${lines.join('')}`).not.toContain('s3cr3t-pw');
    expect(lines.join('')).toMatch(/cannot connect to the broker/);
  });
});
