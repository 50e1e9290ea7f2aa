/**
 * A publish the broker nacks (here: a full queue with x-overflow reject-publish) is sent
 * again on a new channel until send_timeout, so it goes through once the broker takes
 * it again, and fails with a clear error when it never does.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { BrokerConnection } from '../../src/rpc/drivers/amqp/connection.js';
import { Publisher } from '../../src/rpc/drivers/amqp/publisher.js';
import { TransportError } from '../../src/rpc/index.js';
import { resolveOptions } from '../../src/rpc/transport-options.js';
import { parseTransportUrl } from '../../src/rpc/transport-url.js';
import { toAmqpUrl } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

const SEND_TIMEOUT = 4;

describe('publisher and broker nacks', () => {
  let admin: amqp.ChannelModel;
  let channel: amqp.Channel;
  let queue: string;
  let connection: BrokerConnection;
  let publisher: Publisher;

  beforeEach(async () => {
    const url = await brokerUrl();
    admin = await amqp.connect(toAmqpUrl(url));
    channel = await admin.createChannel();
    queue = `nack_test_${randomBytes(4).toString('hex')}`;
    await channel.assertQueue(queue, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    const parsed = parseTransportUrl(url);
    const options = resolveOptions({ send_timeout: SEND_TIMEOUT }, parsed.query);
    connection = new BrokerConnection({ hosts: parsed.hosts, virtualHost: parsed.virtualHost, tls: parsed.tls, options, logger: silentLogger(), purpose: 'publish' });
    publisher = new Publisher(connection, options, silentLogger());
    await publisher.publish({ exchange: '', routingKey: queue, body: Buffer.from('first') });
  });

  afterEach(async () => {
    await connection.close();
    await publisher.close();
    await channel.deleteQueue(queue).catch(() => {});
    await admin.close().catch(() => {});
  });

  it('a nacked publish goes through once the queue has room again', async () => {
    const sending = publisher.publish({ exchange: '', routingKey: queue, body: Buffer.from('second') });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const first = await channel.get(queue, { noAck: true });
    expect(first && first.content.toString()).toBe('first');
    await sending;
    const second = await channel.get(queue, { noAck: true });
    expect(second && second.content.toString()).toBe('second');
  });

  it('a publish nacked until send_timeout fails with a clear error, not before', async () => {
    const started = Date.now();
    const error = await publisher.publish({ exchange: '', routingKey: queue, body: Buffer.from('second') }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/queue "nack_test_[0-9a-f]+".*(nacked|not confirmed within 4s)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SEND_TIMEOUT * 1000 * 0.9);
  });
});
