/**
 * The consumer's own logic with a fake amqplib channel: deliveries become Delivery
 * objects settled once (acks batched, requeue as nack), a handler that throws gets
 * its message requeued, a dead-letter copy that fails leaves the message requeued, a
 * broker-side cancel re-runs the declarations and consumes again, and close requeues
 * what is unsettled. test/rpc/consumer-cancel.test.ts covers the cancel on the real
 * broker; the chaos suites cover restarts after a lost connection.
 */
import { EventEmitter } from 'node:events';
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { Consumer, type ConsumerParams } from '../../src/rpc/drivers/amqp/consumer.js';
import type { Delivery } from '../../src/rpc/drivers/driver.js';

type OnMessage = (message: ConsumeMessage | null) => void;

/** A channel that records what the consumer asks of it. */
class FakeChannel extends EventEmitter {
  readonly frames: string[] = [];
  readonly consumers = new Map<string, OnMessage>();
  private tags = 0;
  async prefetch(count: number) {
    this.frames.push(`prefetch ${count}`);
  }
  async consume(queue: string, onMessage: OnMessage) {
    this.consumers.set(queue, onMessage);
    this.frames.push(`consume ${queue}`);
    return { consumerTag: `tag${++this.tags}` };
  }
  async cancel(tag: string) {
    this.frames.push(`cancel ${tag}`);
  }
  ack(message: ConsumeMessage, multiple: boolean) {
    this.frames.push(`ack ${message.fields.deliveryTag}${multiple ? ' multiple' : ''}`);
  }
  nack(message: ConsumeMessage, _all: boolean, requeue: boolean) {
    this.frames.push(`nack ${message.fields.deliveryTag}${requeue ? ' requeue' : ''}`);
  }
  nackAll(requeue: boolean) {
    this.frames.push(`nackAll${requeue ? ' requeue' : ''}`);
  }
  async close() {
    this.frames.push('close');
  }
}

function message(tag: number, queue: string, body = 'x'): ConsumeMessage {
  return {
    content: Buffer.from(body),
    fields: { deliveryTag: tag, redelivered: false, exchange: 'nova', routingKey: queue, consumerTag: 'tag1' },
    properties: { headers: { 'x-delivery-count': 2 } },
  } as unknown as ConsumeMessage;
}

function consumerWith(overrides: Partial<ConsumerParams> = {}) {
  const channel = new FakeChannel();
  const model = { createChannel: async () => channel };
  const connection = Object.assign(new EventEmitter(), {
    current: model,
    connect: async () => model,
    close: async () => {},
  });
  const deliveries: Delivery[] = [];
  let setups = 0;
  const consumer = new Consumer({
    connection: connection as never,
    setup: async () => {
      setups += 1;
      return ['compute', 'compute.host1'];
    },
    handler: (delivery) => deliveries.push(delivery),
    prefetch: 10,
    deadLetter: async () => {},
    logger: silentLogger(),
    startTimeoutMs: 1000,
    ...overrides,
  });
  return { consumer, channel, deliveries, setups: () => setups };
}

const checkPhase = () => new Promise((resolve) => setImmediate(resolve));

describe('Consumer', () => {
  it('sets the prefetch, declares, and consumes every queue setup names', async () => {
    const { consumer, channel } = consumerWith();
    await consumer.start();
    expect(channel.frames).toEqual(['prefetch 10', 'consume compute', 'consume compute.host1']);
  });

  it('hands each message over as a Delivery; an ack is settled once and batched', async () => {
    const { consumer, channel, deliveries } = consumerWith();
    await consumer.start();
    channel.consumers.get('compute')!(message(1, 'compute', 'hello'));
    channel.consumers.get('compute')!(message(2, 'compute'));
    const [first, second] = deliveries;
    expect(first!.body.toString()).toBe('hello');
    expect(first!).toMatchObject({ queue: 'compute', exchange: 'nova', routingKey: 'compute', redelivered: false, deliveryCount: 2 });
    first!.ack();
    second!.ack();
    first!.ack(); // settled once
    first!.requeue();
    await checkPhase();
    expect(channel.frames.slice(3)).toEqual(['ack 2 multiple']);
  });

  it('a handler that throws gets its message requeued', async () => {
    const { consumer, channel } = consumerWith({
      handler: () => {
        throw new Error('bug in a handler');
      },
    });
    await consumer.start();
    channel.consumers.get('compute')!(message(1, 'compute'));
    expect(channel.frames.slice(3)).toEqual(['nack 1 requeue']);
  });

  it('a dead-letter copy that fails leaves the message requeued; one that succeeds acks it', async () => {
    let failing = true;
    const { consumer, channel, deliveries } = consumerWith({
      deadLetter: async () => {
        if (failing) throw new Error('dead-letter queue unavailable');
      },
    });
    await consumer.start();
    channel.consumers.get('compute')!(message(1, 'compute'));
    await deliveries[0]!.deadLetter('malformed');
    expect(channel.frames.slice(3)).toEqual(['nack 1 requeue']);
    failing = false;
    channel.consumers.get('compute')!(message(2, 'compute'));
    await deliveries[1]!.deadLetter('malformed');
    await checkPhase();
    expect(channel.frames.slice(4)).toEqual(['ack 2']);
  });

  it('a broker-side cancel declares again and consumes that queue again on the same channel', async () => {
    const { consumer, channel, setups } = consumerWith();
    await consumer.start();
    channel.consumers.get('compute.host1')!(null);
    await checkPhase();
    expect(setups()).toBe(2);
    expect(channel.frames.slice(3)).toEqual(['consume compute.host1']);
  });

  it('close cancels the consumers, requeues what is unsettled and closes the channel', async () => {
    const { consumer, channel } = consumerWith();
    await consumer.start();
    channel.consumers.get('compute')!(message(1, 'compute'));
    await consumer.close();
    expect(channel.frames.slice(3)).toEqual(['cancel tag1', 'cancel tag2', 'nackAll requeue', 'close']);
  });

  it('a delivery from a channel that was replaced is left alone: the broker redelivers it', async () => {
    const { consumer, channel, deliveries } = consumerWith();
    await consumer.start();
    channel.consumers.get('compute')!(message(1, 'compute'));
    channel.emit('close');
    deliveries[0]!.ack();
    await checkPhase();
    expect(channel.frames.slice(3)).toEqual([]);
    await consumer.close();
  });
});
