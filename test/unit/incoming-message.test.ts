/**
 * IncomingMessage: settled exactly once, a requeue leaves the duplicate window, a
 * dead-letter is counted, and replies and heartbeats go only to calls.
 */
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import type { Delivery } from '../../src/rpc/drivers/driver.js';
import { IncomingMessage, type MessageServices } from '../../src/rpc/handling/incoming-message.js';
import type { ReplySender } from '../../src/rpc/reply-sender.js';

function fixture(replyTo?: { msgId: string; replyQueue: string }) {
  const delivery = {
    body: Buffer.from('{}'),
    queue: 'q',
    exchange: 'nova',
    routingKey: 'q',
    redelivered: false,
    deliveryCount: undefined,
    ack: vi.fn(),
    requeue: vi.fn(),
    deadLetter: vi.fn(async () => {}),
  } satisfies Delivery;
  const replies = { sendFinal: vi.fn(async () => {}), sendHeartbeat: vi.fn(async () => {}) };
  const tracked: Array<Promise<unknown>> = [];
  const services: MessageServices = {
    replies: replies as unknown as ReplySender,
    stats: { handled: 0, failed: 0, duplicates: 0, deadLettered: 0 },
    logger: silentLogger(),
    metrics: undefined,
    track: (work) => void tracked.push(work),
    forget: vi.fn(),
    settle: vi.fn(),
  };
  const message = new IncomingMessage(delivery, { any: 'content' }, 'uid-1', 1, replyTo, services);
  return { delivery, replies, services, tracked, message };
}

describe('IncomingMessage', () => {
  it('settles once: a later ack, requeue or dead-letter does nothing', async () => {
    const { delivery, message } = fixture();
    message.ack();
    message.ack();
    message.requeue();
    await message.deadLetter('late', 'handler_failed');
    expect(delivery.ack).toHaveBeenCalledTimes(1);
    expect(delivery.requeue).not.toHaveBeenCalled();
    expect(delivery.deadLetter).not.toHaveBeenCalled();
  });

  it('a requeue forgets the id, so the redelivery is not dropped as a duplicate', () => {
    const { delivery, services, message } = fixture();
    message.requeue();
    expect(services.forget).toHaveBeenCalledWith('uid-1');
    expect(delivery.requeue).toHaveBeenCalledTimes(1);
  });

  it('finished() marks the id handled in the duplicate store once; a requeued message is not marked', () => {
    const run = fixture();
    run.message.finished();
    run.message.finished();
    expect(run.services.settle).toHaveBeenCalledTimes(1);
    expect(run.services.settle).toHaveBeenCalledWith('uid-1');
    const requeued = fixture();
    requeued.message.requeue();
    requeued.message.finished();
    expect(requeued.services.settle).not.toHaveBeenCalled();
  });

  it('a dead-letter is counted and passes the reason on', async () => {
    const { delivery, services, message } = fixture();
    await message.deadLetter('handler failed 5 times', 'handler_failed');
    expect(delivery.deadLetter).toHaveBeenCalledWith('handler failed 5 times');
    expect(services.stats.deadLettered).toBe(1);
  });

  it('replies and heartbeats go to a call, tracked so stop() waits for them', () => {
    const { replies, tracked, message } = fixture({ msgId: 'm1', replyQueue: 'reply_a' });
    message.heartbeat();
    message.reply({ ok: true, result: 7 }, { traceparent: 'x' });
    expect(replies.sendHeartbeat).toHaveBeenCalledWith('reply_a', 'm1');
    expect(replies.sendFinal).toHaveBeenCalledWith('reply_a', 'm1', { ok: true, result: 7 }, { traceparent: 'x' });
    expect(tracked).toHaveLength(2);
  });

  it('a cast has nobody to reply to', () => {
    const { replies, tracked, message } = fixture();
    message.reply({ ok: true, result: 1 });
    message.heartbeat();
    expect(replies.sendFinal).not.toHaveBeenCalled();
    expect(replies.sendHeartbeat).not.toHaveBeenCalled();
    expect(tracked).toHaveLength(0);
  });
});
