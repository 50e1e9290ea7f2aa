/**
 * The memory driver: the Driver contract on a {@link MemoryBus}, for unit tests and
 * the single-process demo. Bodies are the same encoded bytes as on RabbitMQ, so what
 * cannot travel as JSON fails here too.
 */
import { randomUUID } from 'node:crypto';
import { MessageUndeliverable, TransportError } from '../../errors.js';
import { uuidHex } from '../../wire/messages.js';
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
    this.bus.declareExchange(`${topic}_fanout`, 'fanout');
    this.bus.publish(`${topic}_fanout`, '', body, undefined, headers);
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
    const queue = `reply_${uuidHex()}`;
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
    const serverKey = `${spec.topic}.${spec.server}`;
    const fanoutQueue = `${spec.topic}_fanout_${uuidHex()}`;
    this.bus.declareExchange(spec.exchange, 'topic');
    this.bus.declareExchange(`${spec.topic}_fanout`, 'fanout');
    for (const key of [spec.topic, serverKey]) {
      this.bus.declareQueue(key);
      this.bus.bind(key, spec.exchange, key);
    }
    this.bus.declareQueue(fanoutQueue);
    this.bus.bind(fanoutQueue, `${spec.topic}_fanout`, spec.topic);
    return this.consume([spec.topic, serverKey, fanoutQueue], spec.prefetch, handler, () => this.bus.deleteQueue(fanoutQueue));
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
