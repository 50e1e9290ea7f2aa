/**
 * A consumer the broker cancels (its queue was deleted under it) declares the queue
 * again and consumes it, on the real broker: a cast sent afterwards is processed, and
 * the server was never restarted by hand.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient, RpcServer, type Transport } from '../../src/rpc/index.js';
import { toAmqpUrl, waitFor } from '../support/harness.js';
import { deleteBrokerObjects } from '../support/scratch.js';
import { brokerUrl } from '../support/services.js';
import { LogCapture } from '../chaos/cluster-load.js';

const context = new RequestContext({ userId: 'u', projectId: 'p' });

describe('broker-side consumer cancel', () => {
  const suffix = randomBytes(4).toString('hex');
  const exchange = `cancel_${suffix}`;
  const topic = `cancel_${suffix}`;
  const logs = new LogCapture();
  const received: string[] = [];
  let url: string;
  let admin: amqp.ChannelModel;
  let transports: Transport[] = [];
  let client: RpcClient;

  beforeAll(async () => {
    url = await brokerUrl();
    admin = await amqp.connect(toAmqpUrl(url));
    const serverTransport = getTransport(url, { logger: logs.logger, options: { control_exchange: exchange } });
    const clientTransport = getTransport(url, { options: { control_exchange: exchange } });
    transports = [serverTransport, clientTransport];
    const server = new RpcServer(serverTransport, { topic, server: 's1' }, [{ methods: { note: (_ctx, args) => void received.push(String(args.tag)) } }]);
    await server.start();
    client = new RpcClient(clientTransport, { topic });
  });

  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close()));
    await admin?.close().catch(() => {});
    await deleteBrokerObjects(url, [topic, `${topic}.s1`], [exchange, `${topic}_fanout`]);
  });

  /** Consumers on `queue`, or -1 while it does not exist. */
  async function consumersOn(queue: string): Promise<number> {
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).consumerCount;
    } catch {
      return -1;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async function deleteAndWaitForConsumer(queue: string): Promise<void> {
    const channel = await admin.createChannel();
    await channel.deleteQueue(queue);
    await channel.close();
    let consumers = -1;
    const deadline = Date.now() + 15_000;
    while (consumers < 1 && Date.now() < deadline) {
      consumers = await consumersOn(queue);
      if (consumers < 1) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(consumers, `a consumer on ${queue} again`).toBe(1);
  }

  it('re-declares a deleted server queue and consumes it again', async () => {
    await deleteAndWaitForConsumer(`${topic}.s1`);
    await client.prepare({ server: 's1' }).cast(context, 'note', { tag: 'directed' });
    await waitFor(() => received.includes('directed'), 10_000, 'the directed cast');
    expect(logs.matching('broker cancelled the consumer').length).toBeGreaterThan(0);
    expect(logs.matching('consuming again').length).toBeGreaterThan(0);
  });

  it('re-declares a deleted topic queue (with its binding) and consumes it again', async () => {
    await deleteAndWaitForConsumer(topic);
    await client.cast(context, 'note', { tag: 'topic' });
    await waitFor(() => received.includes('topic'), 10_000, 'the topic cast');
    // The other queues on the channel were left alone: the directed queue still consumes.
    await client.prepare({ server: 's1' }).cast(context, 'note', { tag: 'directed-2' });
    await waitFor(() => received.includes('directed-2'), 10_000, 'a second directed cast');
  });
});
