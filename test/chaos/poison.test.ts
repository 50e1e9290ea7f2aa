/**
 * Poison and malformed messages: 10,000 generated bad messages (fast-check, fixed
 * seed) against a worker process, with good calls interleaved. The worker must keep
 * serving, not grow its memory, and put exactly the undecodable ones in the
 * dead-letter queue.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import * as amqp from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient, type Transport } from '../../src/rpc/index.js';
import { toAmqpUrl } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';
import { ChaosSummary } from './summary.js';

const envelope = (inner: unknown) => Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }));
const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
const parsesToObject = (bytes: Uint8Array) => {
  try {
    return isObject(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    return false;
  }
};
const notVersion = fc.string().filter((text) => !/^\d+\.\d+(\.\d+)?$/.test(text));

/** Bodies a server cannot decode: each must end in the dead-letter queue. */
const undecodable: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }).filter((bytes) => !parsesToObject(bytes)).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue().filter((value) => !isObject(value)).map((value) => Buffer.from(JSON.stringify(value))),
  fc.record({ v: fc.string().filter((v) => !/^2\.0(\.\d+)?$/.test(v)) }).map(({ v }) => Buffer.from(JSON.stringify({ 'oslo.version': v, 'oslo.message': '{"method":"ping","args":{}}' }))),
  fc.oneof(fc.integer(), fc.constant(null), fc.string().map((s) => `{${s}`)).map((message) => Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': message }))),
  fc.oneof(fc.integer(), fc.constant(null), fc.constant(''), fc.array(fc.string())).map((method) => envelope({ method, args: {} })),
  fc.oneof(fc.array(fc.integer()), fc.string(), fc.integer()).map((args) => envelope({ method: 'echo', args })),
  notVersion.map((version) => envelope({ method: 'echo', args: {}, version })),
  fc.string().map((text) => envelope({ method: 'echo', args: {}, _timeout: text })),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bad) =>
    Buffer.concat([Buffer.from('{"method":"echo","args":{"value":"'), Buffer.from([0xff, 0xfe, ...bad]), Buffer.from('"}}')]),
  ),
  fc.integer({ min: 1000, max: 50_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
);

/** Hostile but decodable: handled (or refused with an error) without dead-lettering. */
const decodable: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({ key: fc.string({ minLength: 1, maxLength: 20 }), value: fc.jsonValue() }).map(({ key, value }) =>
    envelope({ method: 'echo', args: { value: 1 }, [`_context_${key}`]: value }),
  ),
  fc.jsonValue().map((value) => envelope({ method: 'echo', args: { value, unexpected: value } })),
  fc.jsonValue().map((value) => envelope({ method: 'fail', args: { value } })),
  fc.string({ minLength: 1, maxLength: 40 }).map((method) => envelope({ method, args: {} })),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 8, maxLength: 32 }).map((suffix) =>
    envelope({ method: 'ping', args: {}, _msg_id: suffix, _reply_q: `reply_forged_${suffix}` }),
  ),
  fc.integer({ min: 100, max: 3000 }).map((depth) =>
    Buffer.from(`{"method":"echo","args":{"value":${'['.repeat(depth)}${']'.repeat(depth)}}}`),
  ),
);

describe('poison and malformed messages', () => {
  const summary = new ChaosSummary();
  const suffix = randomBytes(4).toString('hex');
  const exchange = `poison_${suffix}`;
  const topic = `poison_${suffix}`;
  const deadLetterQueue = `novarpc.dead_letter.${suffix}`;
  let url: string;
  let worker: ChildProcessByStdio<Writable, Readable, null>;
  let transport: Transport;
  let lines: AsyncIterator<string>;

  beforeAll(async () => {
    const base = await brokerUrl();
    url = `${base}${base.includes('?') ? '&' : '?'}control_exchange=${exchange}&dead_letter_queue=${deadLetterQueue}&max_message_size=65536&kombu_missing_consumer_retry_timeout=0.5&rabbit_transient_queues_ttl=60`;
    worker = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/support/rpc-worker.ts', url, topic, 'w1'], { stdio: ['pipe', 'pipe', 'inherit'] });
    lines = createInterface({ input: worker.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
    transport = getTransport(url);
  }, 30_000);

  afterAll(async () => {
    summary.print();
    worker?.kill('SIGKILL');
    await transport?.deadLetters.purge().catch(() => {});
    const admin = await amqp.connect(toAmqpUrl(await brokerUrl()));
    const channel = await admin.createChannel();
    for (const queue of [topic, `${topic}.w1`, deadLetterQueue]) await channel.deleteQueue(queue).catch(() => {});
    await channel.deleteExchange(exchange).catch(() => {});
    await admin.close();
    await transport?.close();
  });

  async function workerStats(): Promise<{ stats: { handled: number; failed: number; deadLettered: number }; rss: number }> {
    worker.stdin.write('stats\n');
    return JSON.parse((await lines.next()).value as string);
  }

  it('keeps serving through 10,000 bad messages and dead-letters exactly the undecodable ones', async () => {
    const bad = [...fc.sample(undecodable, { numRuns: 6000, seed: 42 }), ...fc.sample(decodable, { numRuns: 4000, seed: 7 })];
    // A few bodies over max_message_size, which are undecodable by definition.
    for (let i = 0; i < 20; i++) bad[i * 300] = Buffer.from(JSON.stringify({ method: 'echo', args: { value: 'x'.repeat(100_000 + i) } }));
    const expectedDeadLetters = 6000;
    const order = fc.sample(fc.shuffledSubarray(bad.map((_, i) => i), { minLength: bad.length, maxLength: bad.length }), { numRuns: 1, seed: 3 })[0]!;

    const admin = await amqp.connect(toAmqpUrl(await brokerUrl()));
    const channel = await admin.createConfirmChannel();
    const client = new RpcClient(transport, { topic }, { timeout: 15 });
    const context = new RequestContext({ userId: 'fuzz', projectId: 'fuzz' });
    let goodCalls = 0;
    let rssAfterWarmup = 0;
    for (let i = 0; i < order.length; i++) {
      const routingKey = i % 2 === 0 ? topic : `${topic}.w1`;
      channel.publish(exchange, routingKey, bad[order[i]!]!, { contentType: 'application/json', deliveryMode: 2 });
      if (i % 200 === 199) {
        await channel.waitForConfirms();
        expect(await client.call(context, 'echo', { value: i })).toBe(i);
        goodCalls += 1;
        if (i === 1999) rssAfterWarmup = (await workerStats()).rss;
      }
    }
    await channel.waitForConfirms();
    await admin.close();
    let stats = await workerStats();
    const deadline = Date.now() + 60_000;
    while (stats.stats.deadLettered < expectedDeadLetters && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      stats = await workerStats();
    }
    expect(await client.call(context, 'ping')).toBe('pong');
    const finalStats = await workerStats();
    const growth = (finalStats.rss - rssAfterWarmup) / rssAfterWarmup;
    const inQueue = await transport.deadLetters.count();
    summary.add({
      scenario: 'poison and malformed messages',
      sent: bad.length,
      processed: finalStats.stats.handled + finalStats.stats.failed + finalStats.stats.deadLettered,
      lost: 0,
      duplicated: 0,
      notes: `dead-lettered ${finalStats.stats.deadLettered} (DLQ holds ${inQueue}), good calls ${goodCalls + 1}/${goodCalls + 1}, worker RSS ${(finalStats.rss / 2 ** 20).toFixed(0)} MiB (${(growth * 100).toFixed(1)}% after warm-up)`,
    });
    expect(worker.exitCode).toBeNull();
    expect(finalStats.stats.deadLettered).toBe(expectedDeadLetters);
    expect(inQueue).toBe(expectedDeadLetters);
    const sample = await transport.deadLetters.list(5);
    expect(sample.every((letter) => letter.reason.length > 0 && [topic, `${topic}.w1`].includes(letter.queue))).toBe(true);
    expect(growth).toBeLessThan(0.5);
  }, 180_000);
});
