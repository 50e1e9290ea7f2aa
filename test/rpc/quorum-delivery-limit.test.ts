/**
 * rabbit_quorum_delivery_limit next to max_delivery_attempts, on the real broker. oslo
 * declares the limit (x-delivery-limit) without a dead-letter exchange, so past it the
 * broker drops a message silently; novarpc therefore refuses max_delivery_attempts above
 * the limit, and a message redelivered up to the limit lands in novarpc's dead-letter
 * queue instead of vanishing.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient, RpcServer, type Transport } from '../../src/rpc/index.js';
import { toAmqpUrl, waitFor } from '../support/harness.js';
import { deleteBrokerObjects } from '../support/scratch.js';
import { brokerUrl } from '../support/services.js';

const context = new RequestContext({ userId: 'u', projectId: 'p' });
const LIMIT = 3;

describe('quorum delivery limit and the dead-letter queue', () => {
  const suffix = randomBytes(4).toString('hex');
  const topic = `dlimit_${suffix}`;
  const exchange = `dlimit_${suffix}`;
  const deadLetterQueue = `dlimit_dlq_${suffix}`;
  const transports: Transport[] = [];
  const handled: string[] = [];
  let url: string;
  let admin: amqp.ChannelModel;
  let client: RpcClient;

  const transport = () => {
    const created = getTransport(url, {
      options: { control_exchange: exchange, rabbit_quorum_delivery_limit: LIMIT, max_delivery_attempts: LIMIT, dead_letter_queue: deadLetterQueue },
    });
    transports.push(created);
    return created;
  };
  const newServer = () => new RpcServer(transport(), { topic, server: 's1' }, [{ methods: { note: (_c, args) => void handled.push(String(args.tag)) } }]);

  beforeAll(async () => {
    url = await brokerUrl();
    admin = await amqp.connect(toAmqpUrl(url));
    // Declare the queues, then leave them without a consumer.
    const server = newServer();
    await server.start();
    await server.stop();
    client = new RpcClient(transport(), { topic });
  });

  afterAll(async () => {
    await Promise.all(transports.map((created) => created.close()));
    await admin?.close().catch(() => {});
    await deleteBrokerObjects(url, [topic, `${topic}.s1`, deadLetterQueue], [exchange, `${topic}_fanout`]);
  });

  /** Takes the next message of the topic queue and returns it to the queue `times` times. */
  async function returnToQueue(times: number): Promise<number[]> {
    const channel = await admin.createChannel();
    const counts: number[] = [];
    for (let i = 0; i < times; i++) {
      let message: amqp.GetMessage | false = false;
      for (let attempt = 0; attempt < 100 && !message; attempt++) {
        message = await channel.get(topic, { noAck: false });
        if (!message) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (!message) break;
      counts.push(Number(message.properties.headers?.['x-delivery-count'] ?? 0));
      channel.nack(message, false, true);
    }
    await channel.close();
    return counts;
  }

  it('declares x-delivery-limit on the work queues', async () => {
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    // A passive-equivalent check: redeclaring with the same arguments succeeds.
    await channel.assertQueue(topic, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': LIMIT } });
    await channel.close();
  });

  it('a message returned up to the limit reaches novarpc, which dead-letters it without running the handler', async () => {
    await client.cast(context, 'note', { tag: 'poison' });
    expect(await returnToQueue(LIMIT)).toEqual([0, 1, 2]);
    const server = newServer();
    await server.start();
    await waitFor(() => server.stats.deadLettered === 1, 10_000, 'the message in the dead-letter queue');
    await server.stop();
    const letters = await transports[0]!.deadLetters.list();
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/delivered more than 3 times/);
    expect(handled).toEqual([]);
  });

  it('past the limit the broker drops a message silently: why novarpc keeps its own limit at or below it', async () => {
    await client.cast(context, 'note', { tag: 'dropped' });
    expect(await returnToQueue(LIMIT + 1)).toEqual([0, 1, 2, 3]);
    const channel = await admin.createChannel();
    const { messageCount } = await channel.checkQueue(topic);
    await channel.close();
    expect(messageCount).toBe(0);
  });
});
