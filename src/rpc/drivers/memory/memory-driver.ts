/**
 * The memory driver: the Driver contract on a {@link MemoryBus}, for unit tests and
 * the single-process demo. Bodies are the same encoded bytes as on RabbitMQ, so what
 * cannot travel as JSON fails here too.
 */
import { randomUUID } from 'node:crypto';
import { MessageUndeliverable, TransportError } from '../../errors.js';
import { uuidHex } from '../../wire/messages.js';
import { fanoutExchangeName, replyQueueName, rpcServerLayout } from '../../wire/topology.js';
import type {
  DeadLetter,
  DeadLetterStore,
  Delivery,
  DeliveryHandler,
  Driver,
  Listener,
  MessageHeaders,
  NotificationListenSpec,
  RequestPublishOptions,
  RpcListenSpec,
} from '../driver.js';
import type { MemoryBus, MemoryMessage } from './memory-bus.js';

/** In-process transport driver. */
export class MemoryDriver implements Driver {
  readonly name = 'memory' as const;
  readonly deadLetters: DeadLetterStore;
  private readonly listeners = new Set<Listener>();
  private replyQueue: string | undefined;
  private closed = false;

  constructor(private readonly bus: MemoryBus) {
    this.deadLetters = new MemoryDeadLetterStore(bus);
  }

  async publishRequest(exchange: string, routingKey: string, body: Buffer, options: RequestPublishOptions = {}): Promise<void> {
    this.assertOpen();
    this.bus.declareExchange(exchange, 'topic');
    this.bus.publish(exchange, routingKey, body, options.expirationMs, options.headers);
  }

  async publishFanout(topic: string, body: Buffer, headers?: MessageHeaders): Promise<void> {
    this.assertOpen();
    const exchange = fanoutExchangeName(topic);
    this.bus.declareExchange(exchange, 'fanout');
    this.bus.publish(exchange, '', body, undefined, headers);
  }

  async publishReply(replyQueue: string, body: Buffer, headers?: MessageHeaders): Promise<void> {
    this.assertOpen();
    if (this.bus.publish('', replyQueue, body, undefined, headers) === 0) {
      throw new MessageUndeliverable(`no queue "${replyQueue}" to deliver to`, replyQueue);
    }
  }

  async publishNotification(exchange: string, routingKey: string, queue: string, body: Buffer, headers?: MessageHeaders): Promise<void> {
    this.assertOpen();
    this.bus.declareExchange(exchange, 'topic');
    this.bus.declareQueue(queue);
    this.bus.bind(queue, exchange, routingKey);
    this.bus.publish(exchange, routingKey, body, undefined, headers);
  }

  async startReplyQueue(handler: DeliveryHandler): Promise<string> {
    this.assertOpen();
    if (this.replyQueue) return this.replyQueue;
    const queue = replyQueueName(uuidHex());
    this.bus.declareQueue(queue);
    this.consume([queue], 0, (delivery) => {
      delivery.ack();
      handler(delivery);
    });
    this.replyQueue = queue;
    return queue;
  }

  async listenRpc(spec: RpcListenSpec, handler: DeliveryHandler): Promise<Listener> {
    this.assertOpen();
    // The memory bus has no streams nor queue manager: each server has a fanout queue of its own.
    const layout = rpcServerLayout({ rabbit_stream_fanout: false, use_queue_manager: false }, spec.exchange, spec.topic, spec.server, uuidHex);
    this.bus.declareExchange(layout.exchange, 'topic');
    this.bus.declareExchange(layout.fanoutExchange, 'fanout');
    for (const queue of layout.workQueues) {
      this.bus.declareQueue(queue);
      this.bus.bind(queue, layout.exchange, queue);
    }
    this.bus.declareQueue(layout.fanoutQueue);
    this.bus.bind(layout.fanoutQueue, layout.fanoutExchange, layout.fanoutBindingKey);
    return this.consume([...layout.workQueues, layout.fanoutQueue], spec.prefetch, handler, () => this.bus.deleteQueue(layout.fanoutQueue));
  }

  async listenNotifications(spec: NotificationListenSpec, handler: DeliveryHandler): Promise<Listener> {
    this.assertOpen();
    this.bus.declareExchange(spec.exchange, 'topic');
    for (const binding of spec.bindings) {
      this.bus.declareQueue(binding.queue);
      this.bus.bind(binding.queue, spec.exchange, binding.routingKey);
    }
    return this.consume([...new Set(spec.bindings.map((binding) => binding.queue))], spec.prefetch, handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.listeners].map((listener) => listener.close()));
  }

  private consume(queues: string[], prefetch: number, handler: DeliveryHandler, onClose?: () => void): Listener {
    const unsettled = new Set<() => void>();
    const consumer = {
      prefetch,
      unacked: 0,
      deliver: (message: MemoryMessage, queue: string, settle: (outcome: 'ack' | 'requeue') => void) => {
        const requeue = () => settle('requeue');
        unsettled.add(requeue);
        const done = (outcome: 'ack' | 'requeue') => {
          unsettled.delete(requeue);
          settle(outcome);
        };
        handler(this.toDelivery(message, queue, done));
      },
    };
    const stops = queues.map((queue) => this.bus.consume(queue, consumer));
    let cancelled = false;
    const listener: Listener = {
      cancel: async () => {
        if (cancelled) return;
        cancelled = true;
        for (const stop of stops) stop();
      },
      close: async () => {
        await listener.cancel();
        for (const requeue of [...unsettled]) requeue();
        onClose?.();
        this.listeners.delete(listener);
      },
    };
    this.listeners.add(listener);
    return listener;
  }

  private toDelivery(message: MemoryMessage, queue: string, settle: (outcome: 'ack' | 'requeue') => void): Delivery {
    return {
      body: message.body,
      queue,
      exchange: message.exchange,
      routingKey: message.routingKey,
      redelivered: message.redelivered,
      deliveryCount: message.deliveryCount,
      headers: message.headers,
      ack: () => settle('ack'),
      requeue: () => settle('requeue'),
      deadLetter: async (reason) => {
        this.bus.deadLetters.push({
          id: randomUUID(),
          reason,
          queue,
          exchange: message.exchange,
          routingKey: message.routingKey,
          deadLetteredAt: new Date().toISOString(),
          body: message.body,
        });
        settle('ack');
      },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('transport is closed');
  }
}

/** The memory bus's dead-letter queue. */
class MemoryDeadLetterStore implements DeadLetterStore {
  constructor(private readonly bus: MemoryBus) {}

  async list(limit = 100): Promise<DeadLetter[]> {
    return this.bus.deadLetters.slice(0, limit).map(({ body, ...rest }) => {
      try {
        return { ...rest, body: new TextDecoder('utf-8', { fatal: true }).decode(body), bodyEncoding: 'utf8' as const };
      } catch {
        return { ...rest, body: body.toString('base64'), bodyEncoding: 'base64' as const };
      }
    });
  }

  async replay(ids?: readonly string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : undefined;
    let replayed = 0;
    for (let i = 0; i < this.bus.deadLetters.length; ) {
      const letter = this.bus.deadLetters[i]!;
      if (wanted && !wanted.has(letter.id)) {
        i++;
        continue;
      }
      this.bus.deadLetters.splice(i, 1);
      if (letter.exchange === '') this.bus.publish('', letter.queue, letter.body);
      else this.bus.publish(letter.exchange, letter.routingKey, letter.body);
      replayed += 1;
    }
    return replayed;
  }

  async purge(): Promise<number> {
    return this.bus.deadLetters.splice(0).length;
  }

  async count(): Promise<number> {
    return this.bus.deadLetters.length;
  }
}
