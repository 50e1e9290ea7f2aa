/**
 * NotificationListener on the message-handling base: the transport's concurrency and
 * prefetch, duplicates dropped (also redelivered ones), a requeue running again, and
 * the dead-letter queue after max_delivery_attempts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getTransport, InvalidConfiguration, MemoryBus, NotificationListener, type Transport } from '../../src/rpc/index.js';
import { encodeNotification } from '../../src/rpc/wire/envelope.js';
import { waitFor } from '../support/harness.js';

const transports: Transport[] = [];
const listeners: NotificationListener[] = [];

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.stop()));
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

function open(options: Record<string, unknown> = {}): Transport {
  const transport = getTransport('memory://', { bus: new MemoryBus(), options: { control_exchange: 'unit', ...options } });
  transports.push(transport);
  return transport;
}

function notification(eventType: string): Buffer {
  return encodeNotification(
    { message_id: 'm-1', publisher_id: 'p', event_type: eventType, priority: 'INFO', payload: {}, timestamp: '2026-01-01 00:00:00', context: {} },
    true,
    1 << 20,
  );
}

async function listen(transport: Transport, info: (eventType: string) => unknown, options = {}): Promise<NotificationListener> {
  const listener = new NotificationListener(transport, [{ topic: 'notifications' }], [{ info: (_c, _p, eventType) => info(eventType) as undefined }], { drainTimeout: 5, ...options });
  listeners.push(listener);
  await listener.start();
  return listener;
}

describe('NotificationListener', () => {
  it('needs a target', () => {
    expect(() => new NotificationListener(open(), [], [{}])).toThrow(InvalidConfiguration);
  });

  it('takes prefetch from rabbit_qos_prefetch_count, else executor_thread_pool_size', async () => {
    const pooled = open({ executor_thread_pool_size: 5 });
    const spy = vi.spyOn(pooled.driver, 'listenNotifications');
    await listen(pooled, () => {});
    expect(spy.mock.calls[0]![0].prefetch).toBe(5);
    const prefetched = open({ rabbit_qos_prefetch_count: 9 });
    const spy2 = vi.spyOn(prefetched.driver, 'listenNotifications');
    await listen(prefetched, () => {});
    expect(spy2.mock.calls[0]![0].prefetch).toBe(9);
  });

  it('runs a notification once when the same copy arrives twice, also when the second comes redelivered', async () => {
    const transport = open();
    const seen: string[] = [];
    // The second copy arrives marked redelivered (a publish retried after a lost channel,
    // then redelivered after a consumer's reconnect): it is still a duplicate.
    const listenNotifications = transport.driver.listenNotifications.bind(transport.driver);
    let deliveries = 0;
    vi.spyOn(transport.driver, 'listenNotifications').mockImplementation((spec, handler) =>
      listenNotifications(spec, (delivery) => handler(++deliveries === 1 ? delivery : Object.assign(Object.create(delivery), { redelivered: true }))),
    );
    const listener = await listen(transport, (eventType) => void seen.push(eventType));
    const body = notification('x.once');
    await transport.driver.publishNotification('unit', 'notifications.info', 'notifications.info', body);
    await transport.driver.publishNotification('unit', 'notifications.info', 'notifications.info', body);
    await waitFor(() => listener.stats.duplicates === 1, 10_000, 'duplicate');
    expect(seen).toEqual(['x.once']);
  });

  it('a requeued notification runs again, and goes to the dead-letter queue after max_delivery_attempts', async () => {
    const transport = open({ max_delivery_attempts: 3 });
    let runs = 0;
    const listener = await listen(transport, () => {
      runs += 1;
      return 'requeue';
    });
    await transport.driver.publishNotification('unit', 'notifications.info', 'notifications.info', notification('x.retry'));
    await waitFor(() => listener.stats.deadLettered === 1, 10_000, 'dead-lettered');
    expect(runs).toBe(3);
    expect(listener.stats.duplicates).toBe(0);
    expect((await transport.deadLetters.list())[0]!.reason).toBe('notification handler failed 3 times');
  });
});
