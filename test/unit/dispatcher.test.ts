/**
 * The RPC dispatcher on its own: endpoint shapes refused at construction, oslo's
 * resolution, synchronous outcomes for synchronous handlers, counters, and the
 * call-monitor heartbeat watchdog.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { RpcDispatcher, validateEndpoints, type Endpoint } from '../../src/rpc/dispatcher.js';
import { InvalidEndpoint, InvalidVersion, NoSuchMethod, UnsupportedVersion } from '../../src/rpc/errors.js';
import type { IncomingMessage, ServerStats } from '../../src/rpc/handling/incoming-message.js';
import { toIncomingRequest, type IncomingRequest } from '../../src/rpc/wire/messages.js';

function dispatcherFor(endpoints: Endpoint[]) {
  const stats: ServerStats = { handled: 0, failed: 0, duplicates: 0, deadLettered: 0 };
  const dispatcher = new RpcDispatcher({ endpoints, stats, logger: silentLogger(), metrics: undefined, labels: { exchange: 'nova', topic: 't', server: 's' } });
  return { dispatcher, stats };
}

/** A message as the server hands it over; only what the dispatcher reads is real. */
function message(document: Record<string, unknown>, call = false) {
  const heartbeat = vi.fn();
  const content = toIncomingRequest(document);
  const replyTo = call ? { msgId: 'm1', replyQueue: 'reply_x' } : undefined;
  return { heartbeat, message: { content, replyTo, heartbeat } as unknown as IncomingMessage<IncomingRequest> };
}

afterEach(() => vi.useRealTimers());

describe('validateEndpoints', () => {
  it('refuses a plain object of functions, showing the { target, methods } shape', () => {
    const plain = [{ add: () => 1, sub: () => 2 }];
    expect(() => validateEndpoints(plain)).toThrow(InvalidEndpoint);
    expect(() => validateEndpoints(plain)).toThrow(/methods: \{ <name>: \(context, args\) => result \}/);
    expect(() => validateEndpoints(plain)).toThrow(/plain object of functions \(add, sub\): wrap them as \{ methods: \{ add, sub \} \}/);
  });

  it('refuses no endpoints, non-objects, non-function methods and bad versions', () => {
    expect(() => validateEndpoints([])).toThrow(/at least one endpoint/);
    expect(() => validateEndpoints([null])).toThrow(InvalidEndpoint);
    expect(() => validateEndpoints([{ methods: { add: 'nope' } }])).toThrow(/method "add" is string/);
    expect(() => validateEndpoints([{ target: 'v1', methods: {} }])).toThrow(/"target" must be an object/);
    expect(() => validateEndpoints([{ target: { version: 'one' }, methods: {} }])).toThrow(InvalidVersion);
  });

  it('accepts the documented shape', () => {
    expect(() => validateEndpoints([{ name: 'E', target: { version: '1.2', namespace: 'ns' }, methods: { add: () => 1 } }])).not.toThrow();
  });
});

describe('RpcDispatcher', () => {
  it('returns a synchronous handler outcome synchronously, and counts it', () => {
    const { dispatcher, stats } = dispatcherFor([{ methods: { add: (_ctx, args) => Number(args.a) + Number(args.b) } }]);
    const outcome = dispatcher.dispatch(message({ method: 'add', args: { a: 1, b: 2 } }).message);
    expect(outcome).toEqual({ ok: true, result: 3 });
    expect(stats).toMatchObject({ handled: 1, failed: 0 });
  });

  it('turns a throw, an unknown method and an unsupported version into failed outcomes', async () => {
    const { dispatcher, stats } = dispatcherFor([
      { target: { version: '1.1' }, methods: { boom: () => { throw new TypeError('bad'); }, later: async () => { throw new RangeError('late'); } } },
    ]);
    expect(dispatcher.dispatch(message({ method: 'boom', args: {} }).message)).toMatchObject({ ok: false, error: { message: 'bad' } });
    expect(dispatcher.dispatch(message({ method: 'nope', args: {} }).message)).toMatchObject({ ok: false, error: expect.any(NoSuchMethod) });
    expect(dispatcher.dispatch(message({ method: 'boom', version: '2.0', args: {} }).message)).toMatchObject({ ok: false, error: expect.any(UnsupportedVersion) });
    const pending = dispatcher.dispatch(message({ method: 'later', args: {} }).message);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toMatchObject({ ok: false, error: { message: 'late' } });
    expect(stats).toMatchObject({ handled: 0, failed: 4 });
  });

  it('gives the handler the context read from the message', () => {
    const { dispatcher } = dispatcherFor([{ methods: { who: (ctx) => [ctx.userId, ctx.projectId, ctx.requestId] } }]);
    const outcome = dispatcher.dispatch(message({ method: 'who', args: {}, _context_user_id: 'alice', _context_tenant: 'p1', _context_request_id: 'req-1' }).message);
    expect(outcome).toEqual({ ok: true, result: ['alice', 'p1', 'req-1'] });
  });

  it('sends heartbeats every _timeout/2 s while an async call runs, and stops when it settles', async () => {
    vi.useFakeTimers();
    let finish!: (value: string) => void;
    const { dispatcher } = dispatcherFor([{ methods: { slow: () => new Promise<string>((resolve) => (finish = resolve)) } }]);
    const { message: call, heartbeat } = message({ method: 'slow', args: {}, _msg_id: 'm1', _reply_q: 'reply_x', _timeout: 4 }, true);
    const outcome = dispatcher.dispatch(call);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(heartbeat).toHaveBeenCalledTimes(2);
    finish('done');
    expect(await outcome).toEqual({ ok: true, result: 'done' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(heartbeat).toHaveBeenCalledTimes(2);
  });

  it('sends no heartbeat for a cast, a call without a monitor, or a synchronous handler', async () => {
    vi.useFakeTimers();
    const { dispatcher } = dispatcherFor([{ methods: { slow: () => new Promise((resolve) => setTimeout(resolve, 10_000)), quick: () => 1 } }]);
    const cast = message({ method: 'slow', args: {}, _timeout: 4 });
    const unmonitored = message({ method: 'slow', args: {}, _msg_id: 'm1', _reply_q: 'reply_x' }, true);
    const quick = message({ method: 'quick', args: {}, _msg_id: 'm2', _reply_q: 'reply_x', _timeout: 4 }, true);
    const pending = [dispatcher.dispatch(cast.message), dispatcher.dispatch(unmonitored.message), dispatcher.dispatch(quick.message)];
    await vi.advanceTimersByTimeAsync(11_000);
    await Promise.all(pending);
    for (const { heartbeat } of [cast, unmonitored, quick]) expect(heartbeat).not.toHaveBeenCalled();
  });
});
