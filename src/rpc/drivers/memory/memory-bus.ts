import { TransportError } from '../../errors.js';
import type { DeadLetter } from '../driver.js';

/**
 * An in-process message bus with RabbitMQ's semantics as far as the framework uses
 * them: exchanges route by exact routing key (topic/direct) or to every bound queue
 * (fanout); a queue hands each message to one consumer, round-robin, within its
 * prefetch; unacknowledged messages go back on the queue when requeued or when their
 * consumer goes away; per-message expiration; mandatory publishes that find no
 * queue are refused. Share one bus between transports that must talk to each other.
 */

/** A message in a memory queue. */
export interface MemoryMessage {
  body: Buffer;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  deliveryCount: number;
  expiresAt: number | undefined;
  /** Message headers (trace context), as AMQP carries them beside the body. */
  headers?: Readonly<Record<string, string>>;
}

/** A consumer of a memory queue. */
export interface MemoryConsumer {
  prefetch: number;
  unacked: number;
  deliver(message: MemoryMessage, queue: string, settle: (outcome: 'ack' | 'requeue') => void): void;
}

class MemoryQueue {
  readonly messages: MemoryMessage[] = [];
  readonly consumers: MemoryConsumer[] = [];
  private next = 0;
  private scheduled = false;

  constructor(readonly name: string) {}

  push(message: MemoryMessage, front = false): void {
    if (front) this.messages.unshift(message);
    else this.messages.push(message);
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.messages.length > 0) {
      const message = this.messages[0]!;
      if (message.expiresAt !== undefined && message.expiresAt <= Date.now()) {
        this.messages.shift();
        continue;
      }
      const consumer = this.pickConsumer();
      if (!consumer) return;
      this.messages.shift();
      consumer.unacked += 1;
      let settled = false;
      consumer.deliver(message, this.name, (outcome) => {
        if (settled) return;
        settled = true;
        consumer.unacked -= 1;
        if (outcome === 'requeue') this.push({ ...message, redelivered: true, deliveryCount: message.deliveryCount + 1 }, true);
        else this.schedule();
      });
    }
  }

  private pickConsumer(): MemoryConsumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const consumer = this.consumers[(this.next + i) % this.consumers.length]!;
      if (consumer.prefetch === 0 || consumer.unacked < consumer.prefetch) {
        this.next = (this.next + i + 1) % this.consumers.length;
        return consumer;
      }
    }
    return undefined;
  }
}

interface MemoryExchange {
  type: 'topic' | 'fanout';
  bindings: Map<string, Set<string>>;
}

/** A dead-lettered message kept on the bus: the driver's record, with the raw body. */
export type MemoryDeadLetter = Omit<DeadLetter, 'body' | 'bodyEncoding'> & { body: Buffer };

/** The in-process broker. */
export class MemoryBus {
  /** The bus's dead-letter queue, oldest first. */
  readonly deadLetters: MemoryDeadLetter[] = [];
  private readonly exchanges = new Map<string, MemoryExchange>();
  private readonly queues = new Map<string, MemoryQueue>();

  /** Declares an exchange (idempotent). */
  declareExchange(name: string, type: 'topic' | 'fanout'): void {
    if (!this.exchanges.has(name)) this.exchanges.set(name, { type, bindings: new Map() });
  }

  /** Declares a queue (idempotent). */
  declareQueue(name: string): void {
    if (!this.queues.has(name)) this.queues.set(name, new MemoryQueue(name));
  }

  /** Binds a queue to an exchange with a routing key. */
  bind(queue: string, exchange: string, routingKey: string): void {
    const bindings = this.exchanges.get(exchange)!.bindings;
    if (!bindings.has(routingKey)) bindings.set(routingKey, new Set());
    bindings.get(routingKey)!.add(queue);
  }

  /** Deletes a queue; its consumers get nothing more. */
  deleteQueue(name: string): void {
    this.queues.delete(name);
    for (const exchange of this.exchanges.values()) for (const queues of exchange.bindings.values()) queues.delete(name);
  }

  /** Routes a message; returns how many queues got it. `""` is the default exchange. */
  publish(exchange: string, routingKey: string, body: Buffer, expirationMs?: number, headers?: Readonly<Record<string, string>>): number {
    const targets = this.route(exchange, routingKey);
    for (const queueName of targets) {
      this.queues.get(queueName)?.push({
        body,
        exchange,
        routingKey,
        redelivered: false,
        deliveryCount: 0,
        expiresAt: expirationMs === undefined ? undefined : Date.now() + expirationMs,
        headers,
      });
    }
    return targets.length;
  }

  /** Puts a message straight on a queue (used for replay). */
  enqueue(queue: string, message: MemoryMessage): void {
    this.declareQueue(queue);
    this.queues.get(queue)!.push(message);
  }

  /** Adds a consumer; returns a function that removes it. */
  consume(queue: string, consumer: MemoryConsumer): () => void {
    const memoryQueue = this.queues.get(queue);
    if (!memoryQueue) throw new TransportError(`memory bus: no queue "${queue}"`);
    memoryQueue.consumers.push(consumer);
    memoryQueue.schedule();
    return () => {
      const index = memoryQueue.consumers.indexOf(consumer);
      if (index !== -1) memoryQueue.consumers.splice(index, 1);
      memoryQueue.schedule();
    };
  }

  /** Messages waiting in a queue (not counting those delivered and unacknowledged). */
  depth(queue: string): number {
    return this.queues.get(queue)?.messages.length ?? 0;
  }

  private route(exchange: string, routingKey: string): string[] {
    if (exchange === '') return this.queues.has(routingKey) ? [routingKey] : [];
    const target = this.exchanges.get(exchange);
    if (!target) return [];
    if (target.type === 'fanout') return [...new Set([...target.bindings.values()].flatMap((queues) => [...queues]))];
    return [...(target.bindings.get(routingKey) ?? [])];
  }
}
