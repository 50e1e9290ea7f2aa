import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../../src/rpc/drivers/amqp/ack-batcher.js';

/** A channel that records the settlement frames it is asked to send. */
function recordingChannel() {
  const frames: string[] = [];
  const channel = {
    ack: (message: { fields: { deliveryTag: number } }, multiple: boolean) => frames.push(`ack ${message.fields.deliveryTag}${multiple ? ' multiple' : ''}`),
    nack: (message: { fields: { deliveryTag: number } }, _all: boolean, requeue: boolean) => frames.push(`nack ${message.fields.deliveryTag}${requeue ? ' requeue' : ''}`),
  };
  return { frames, channel: channel as never };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('batched acknowledgements', () => {
  it('acks settled in one tick below every unsettled tag go out as one multiple ack', async () => {
    const { frames, channel } = recordingChannel();
    const acks = new AckBatcher(channel);
    for (let tag = 1; tag <= 5; tag++) acks.delivered(tag);
    acks.ack(2);
    acks.ack(1);
    acks.ack(3);
    await tick();
    expect(frames).toEqual(['ack 3 multiple']);
  });

  it('never covers a message still being handled: acks above it go out one by one', async () => {
    const { frames, channel } = recordingChannel();
    const acks = new AckBatcher(channel);
    for (let tag = 1; tag <= 5; tag++) acks.delivered(tag);
    acks.ack(2);
    acks.ack(4);
    await tick();
    expect(frames).toEqual(['ack 2', 'ack 4']);
    acks.ack(1);
    acks.ack(3);
    await tick();
    expect(frames.slice(2)).toEqual(['ack 3 multiple']);
  });

  it('a requeued message is settled, so later acks may cover its tag', async () => {
    const { frames, channel } = recordingChannel();
    const acks = new AckBatcher(channel);
    for (let tag = 1; tag <= 3; tag++) acks.delivered(tag);
    acks.requeue(1);
    acks.ack(2);
    acks.ack(3);
    await tick();
    expect(frames).toEqual(['nack 1 requeue', 'ack 3 multiple']);
  });

  it('flushes queued acks before a requeue, and a lone ack is a plain ack', async () => {
    const { frames, channel } = recordingChannel();
    const acks = new AckBatcher(channel);
    for (let tag = 1; tag <= 3; tag++) acks.delivered(tag);
    acks.ack(1);
    acks.requeue(3);
    await tick();
    expect(frames).toEqual(['ack 1', 'nack 3 requeue']);
  });

  it('a closed channel refusing frames does not throw out of the flush', async () => {
    const acks = new AckBatcher({ ack: () => { throw new Error('channel closed'); }, nack: () => {} } as never);
    acks.delivered(1);
    acks.ack(1);
    await tick();
    expect(() => acks.flush()).not.toThrow();
  });
});
