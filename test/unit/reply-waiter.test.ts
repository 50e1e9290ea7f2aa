/**
 * ReplyWaiter on its own, with a driver that only hands it deliveries: replies are
 * matched to their waiter by `_msg_id`, heartbeats keep the last result and restart
 * the call-monitor window, remote failures are rebuilt, timeouts and a lost reply
 * queue fail the waiters, and a waiter cancelled before its publish leaves nothing.
 * Timers are vitest's fake ones, so nothing here depends on the machine's speed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import type { Delivery, DeliveryHandler, Driver } from '../../src/rpc/drivers/driver.js';
import { MessagingTimeout, RemoteError, TransportError } from '../../src/rpc/errors.js';
import { ReplyWaiter } from '../../src/rpc/reply-waiter.js';

const MAX_BYTES = 1024 * 1024;
const WHAT = { topic: 'calculator', server: 'host1', method: 'add' };

/** A reply body as oslo sends it: the 2.0 envelope around the reply document. */
function replyBody(reply: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(reply) }));
}

function delivery(body: Buffer, headers?: Record<string, unknown>): Delivery {
  return { body, queue: 'reply_q', exchange: '', routingKey: 'reply_q', redelivered: false, deliveryCount: undefined, headers, ack() {}, requeue() {}, deadLetter: async () => {} };
}

/** A driver whose reply queue is a handler the test calls. */
function replyDriver() {
  const state: { deliver?: DeliveryHandler; lose?: (error: Error) => void; starts: number } = { starts: 0 };
  const driver = {
    startReplyQueue: async (handler: DeliveryHandler, onLost: (error: Error) => void) => {
      state.starts += 1;
      state.deliver = handler;
      state.lose = onLost;
      return 'reply_q';
    },
  } as unknown as Driver;
  return { driver, state };
}

describe('ReplyWaiter', () => {
  let waiter: ReplyWaiter;
  let state: ReturnType<typeof replyDriver>['state'];

  beforeEach(async () => {
    vi.useFakeTimers();
    const fake = replyDriver();
    state = fake.state;
    waiter = new ReplyWaiter(fake.driver, silentLogger(), [], MAX_BYTES);
    expect(await waiter.queueName()).toBe('reply_q');
  });

  afterEach(() => {
    waiter.close();
    vi.useRealTimers();
  });

  const send = (reply: Record<string, unknown>, headers?: Record<string, unknown>) => state.deliver!(delivery(replyBody(reply), headers));

  it('starts the reply queue once, and knows its name without waiting afterwards', async () => {
    expect(await waiter.queueName()).toBe('reply_q');
    expect(state.starts).toBe(1);
    expect(waiter.readyQueueName).toBe('reply_q');
  });

  it('resolves the waiter whose _msg_id the reply carries, with the last non-null result across heartbeats', async () => {
    const other = waiter.wait('other', { timeoutMs: 60_000 }, WHAT);
    const pending = waiter.wait('m1', { timeoutMs: 60_000 }, WHAT);
    send({ _msg_id: 'm1', result: 3, failure: null, ending: false });
    send({ _msg_id: 'm1', result: null, failure: null, ending: true }, { traceparent: 'tp' });
    await expect(pending.promise).resolves.toBe(3);
    expect(pending.replyHeaders).toEqual({ traceparent: 'tp' });
    expect(waiter.pending).toBe(1); // "other" still waits
    other.cancel();
    expect(waiter.pending).toBe(0);
  });

  it('rebuilds a remote failure as RemoteError with the remote class name', async () => {
    const pending = waiter.wait('m2', { timeoutMs: 60_000 }, WHAT);
    const failure = JSON.stringify({ class: 'ValueError', module: 'builtins', message: 'bad value', tb: [], args: [], kwargs: {} });
    send({ _msg_id: 'm2', result: null, failure, ending: true });
    const error = await pending.promise.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toContain('bad value');
    expect(waiter.pending).toBe(0);
  });

  it('fails with MessagingTimeout naming the method and target when no reply comes in time', async () => {
    const pending = waiter.wait('m3', { timeoutMs: 5_000 }, WHAT);
    const outcome = pending.promise.catch((caught: unknown) => caught);
    vi.advanceTimersByTime(5_000);
    const error = await outcome;
    expect(error).toBeInstanceOf(MessagingTimeout);
    expect((error as Error).message).toMatch(/m3.*"add" on calculator\.host1.*5s \(timeout\)/);
    expect(waiter.pending).toBe(0);
  });

  it('heartbeats restart the call-monitor window; silence longer than it fails the call', async () => {
    const pending = waiter.wait('m4', { timeoutMs: 60_000, callMonitorMs: 2_000 }, WHAT);
    const outcome = pending.promise.catch((caught: unknown) => caught);
    for (let beat = 0; beat < 5; beat++) {
      vi.advanceTimersByTime(1_500);
      send({ _msg_id: 'm4', result: null, failure: null, ending: false });
    }
    expect(waiter.pending).toBe(1); // 7.5 s in, alive thanks to the heartbeats
    vi.advanceTimersByTime(2_000);
    const error = await outcome;
    expect(error).toBeInstanceOf(MessagingTimeout);
    expect((error as Error).message).toContain('call-monitor timeout');
  });

  it('a lost reply queue fails every waiter with TransportError saying the reply may be lost', async () => {
    const first = waiter.wait('m5', { timeoutMs: 60_000 }, WHAT).promise.catch((caught: unknown) => caught);
    const second = waiter.wait('m6', { timeoutMs: 60_000 }, WHAT).promise.catch((caught: unknown) => caught);
    state.lose!(new Error('connection to the broker lost'));
    for (const error of [await first, await second]) {
      expect(error).toBeInstanceOf(TransportError);
      expect((error as Error).message).toMatch(/connection to the broker lost; the reply to message m[56] may be lost/);
    }
    expect(waiter.pending).toBe(0);
  });

  it('drops undecodable replies and replies nobody waits for, and settles a waiter only once', async () => {
    const pending = waiter.wait('m7', { timeoutMs: 60_000 }, WHAT);
    state.deliver!(delivery(Buffer.from('not json')));
    send({ _msg_id: 'nobody', result: 1, failure: null, ending: true });
    send({ result: 1, ending: true }); // no _msg_id
    expect(waiter.pending).toBe(1);
    send({ _msg_id: 'm7', result: 'first', failure: null, ending: true });
    send({ _msg_id: 'm7', result: 'second', failure: null, ending: true });
    await expect(pending.promise).resolves.toBe('first');
  });

  it('a waiter cancelled before its request was sent leaves no timer and no promise to reject', () => {
    const pending = waiter.wait('m8', { timeoutMs: 1_000, callMonitorMs: 500 }, WHAT);
    pending.cancel();
    expect(waiter.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() fails the calls still waiting', async () => {
    const outcome = waiter.wait('m9', { timeoutMs: 60_000 }, WHAT).promise.catch((caught: unknown) => caught);
    waiter.close();
    expect(await outcome).toBeInstanceOf(TransportError);
  });
});
