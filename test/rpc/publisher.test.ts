/**
 * The amqp publisher against the real broker: one pinned confirm channel for the hot
 * path, a full channel drained and handed back, a channel the broker closes replaced
 * with nothing lost, and a publish to a missing exchange failing at once.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { TransportError } from '../../src/rpc/index.js';
import { BrokerConnection } from '../../src/rpc/drivers/amqp/connection.js';
import { Publisher } from '../../src/rpc/drivers/amqp/publisher.js';
import { resolveOptions } from '../../src/rpc/transport-options.js';
import { parseTransportUrl } from '../../src/rpc/transport-url.js';
import { toAmqpUrl } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

/** Long, so "fails at once" is told from "retried until send_timeout" on a loaded machine too. */
const SEND_TIMEOUT_SECONDS = 60;

describe('amqp publisher', () => {
  let admin: amqp.ChannelModel;
  let channel: amqp.Channel;
  let queue: string;
  let connection: BrokerConnection;
  let publisher: Publisher;

  beforeEach(async () => {
    const url = await brokerUrl();
    admin = await amqp.connect(toAmqpUrl(url));
    channel = await admin.createChannel();
    queue = `publisher_test_${randomBytes(4).toString('hex')}`;
    await channel.assertQueue(queue, { durable: false, autoDelete: false });
    const parsed = parseTransportUrl(url);
    const options = resolveOptions({ send_timeout: SEND_TIMEOUT_SECONDS }, parsed.query);
    connection = new BrokerConnection({ hosts: parsed.hosts, virtualHost: parsed.virtualHost, tls: parsed.tls, options, logger: silentLogger(), purpose: 'publish' });
    publisher = new Publisher(connection, options, silentLogger());
  });

  afterEach(async () => {
    await connection.close();
    await publisher.close();
    await channel.deleteQueue(queue).catch(() => {});
    await admin.close().catch(() => {});
  });

  const toQueue = (text: string) => publisher.publish({ exchange: '', routingKey: queue, body: Buffer.from(text) });

  async function bodiesInQueue(): Promise<string[]> {
    const bodies: string[] = [];
    for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
      bodies.push(message.content.toString());
    }
    return bodies;
  }

  it('pipelines a burst of publishes on one borrowed channel and returns it on close', async () => {
    await Promise.all(Array.from({ length: 500 }, (_, i) => toQueue(`m${i}`)));
    expect(publisher.borrowedChannels).toBe(1);
    await publisher.close();
    expect(publisher.borrowedChannels).toBe(0);
    const bodies = await bodiesInQueue();
    expect(bodies).toHaveLength(500);
    expect(bodies.slice(0, 3)).toEqual(['m0', 'm1', 'm2']); // one channel keeps publish order
  });

  it('a burst beyond the channel buffer waits for it to drain; every message is confirmed, no channel kept', async () => {
    await toQueue('first'); // pins a channel
    // amqplib buffers about 2000 frames per channel before publish() returns false;
    // the full channel goes back to the pool once drained and publishing goes on.
    await Promise.all(Array.from({ length: 5000 }, (_, i) => toQueue(`${i}:${'x'.repeat(1000)}`)));
    expect(publisher.borrowedChannels).toBeLessThanOrEqual(1); // drained channels went back to the pool
    await toQueue('last');
    expect(publisher.borrowedChannels).toBe(1);
    const indexes = (await bodiesInQueue()).filter((body) => body !== 'first' && body !== 'last').map((body) => Number(body.slice(0, body.indexOf(':'))));
    expect(new Set(indexes).size).toBe(5000);
  });

  it('a publish to a missing exchange fails at once, naming it; the publishes sharing its channel are sent again', async () => {
    const missing = `missing_${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    const before = Array.from({ length: 100 }, (_, i) => toQueue(`a${i}`));
    const doomed = publisher.publish({ exchange: missing, routingKey: 'k', body: Buffer.from('lost') });
    const after = Array.from({ length: 100 }, (_, i) => toQueue(`b${i}`));
    await expect(doomed).rejects.toThrow(TransportError);
    await expect(doomed).rejects.toThrow(`no exchange "${missing}"`);
    await Promise.all([...before, ...after]);
    expect(Date.now() - started).toBeLessThan((SEND_TIMEOUT_SECONDS * 1000) / 3); // not retried until send_timeout
    const bodies = new Set(await bodiesInQueue());
    for (let i = 0; i < 100; i++) {
      expect(bodies.has(`a${i}`)).toBe(true);
      expect(bodies.has(`b${i}`)).toBe(true);
    }
  });
});
