/**
 * NotificationListener: consumes `<topic>.<priority>` queues (or one shared `pool`
 * queue) and calls the endpoint method named after the priority with oslo's
 * arguments. Acknowledged after dispatch; an endpoint that returns "requeue" or throws
 * gets the message again, at most `max_delivery_attempts` times, then it is
 * dead-lettered: a failure is never an endless loop.
 */
import type { Logger } from '../log/logger.js';
import { RequestContext } from './context.js';
import type { Delivery, Listener } from './drivers/driver.js';
import { PRIORITIES, type NotificationPriority } from './notifier.js';
import type { Transport } from './transport.js';
import { DeliveryRunner } from './util/delivery-runner.js';
import { RecentCounts, RecentIds } from './util/recent-ids.js';
import { decodeDocument, toNotification } from './wire/messages.js';

/** Metadata passed with each notification. */
export interface NotificationMetadata {
  message_id: string;
  timestamp: string;
}

/** What a priority handler may return: nothing / "handled", or "requeue". */
export type NotificationResult = void | undefined | 'handled' | 'requeue';

/** A priority handler, oslo's `info(ctxt, publisher_id, event_type, payload, metadata)`. */
export type NotificationHandler = (
  context: RequestContext,
  publisherId: string,
  eventType: string,
  payload: unknown,
  metadata: NotificationMetadata,
) => NotificationResult | Promise<NotificationResult>;

/** An endpoint: one optional handler per priority, and an optional filter. */
export type NotificationEndpoint = Partial<Record<NotificationPriority, NotificationHandler>> & {
  /** Only notifications matching every given pattern reach this endpoint. */
  filter?: { eventType?: RegExp; publisherId?: RegExp };
};

/** Listener settings. */
export interface NotificationListenerOptions {
  /** Shared queue name: listeners in one pool split the notifications between them. */
  pool?: string;
  /** Requeue when a handler throws or returns "requeue"; default true. */
  allowRequeue?: boolean;
  maxConcurrency?: number;
  logger?: Logger;
}

/** A notification topic to listen to. */
export interface NotificationTarget {
  topic: string;
  exchange?: string;
}

/** Receives notifications. */
export class NotificationListener {
  private readonly logger: Logger;
  private readonly runner: DeliveryRunner;
  private readonly recentIds = new RecentIds(1024);
  private readonly attempts = new RecentCounts(4096);
  private listeners: Listener[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly targets: readonly NotificationTarget[],
    private readonly endpoints: readonly NotificationEndpoint[],
    private readonly options: NotificationListenerOptions = {},
  ) {
    if (targets.length === 0) throw new TypeError('A notification listener needs at least one target');
    this.logger = (options.logger ?? transport.logger).child({ listener: 'notifications' });
    this.runner = new DeliveryRunner(options.maxConcurrency ?? 64, (delivery) => this.process(delivery), this.logger);
  }

  /** Declares and consumes the queues of every priority some endpoint handles. */
  async start(): Promise<void> {
    const priorities = PRIORITIES.filter((priority) => this.endpoints.some((endpoint) => typeof endpoint[priority] === 'function'));
    const byExchange = new Map<string, Array<{ routingKey: string; queue: string }>>();
    for (const target of this.targets) {
      const exchange = target.exchange ?? this.transport.controlExchange;
      const bindings = byExchange.get(exchange) ?? [];
      for (const priority of priorities) {
        const routingKey = `${target.topic}.${priority}`;
        bindings.push({ routingKey, queue: this.options.pool ?? routingKey });
      }
      byExchange.set(exchange, bindings);
    }
    for (const [exchange, bindings] of byExchange) {
      this.listeners.push(
        await this.transport.driver.listenNotifications(
          { exchange, bindings, prefetch: this.options.maxConcurrency ?? 64 },
          (delivery) => this.runner.push(delivery),
        ),
      );
    }
  }

  /** Stops consuming and waits (30 s at most) for running handlers. */
  async stop(): Promise<void> {
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((listener) => listener.cancel()));
    this.runner.stop();
    await this.runner.idle(30_000);
    await Promise.all(listeners.map((listener) => listener.close()));
  }

  private async process(delivery: Delivery): Promise<void> {
    let message;
    try {
      message = toNotification(decodeDocument(delivery.body, this.transport.options.max_message_size));
    } catch (error) {
      this.transport.metrics?.deadLettered('malformed');
      await delivery.deadLetter((error as Error).message);
      return;
    }
    if (message.uniqueId && !delivery.redelivered && !this.recentIds.add(message.uniqueId)) {
      delivery.ack();
      return;
    }
    const priority = message.priority.toLowerCase() as NotificationPriority;
    this.transport.metrics?.notificationReceived(message.event_type, priority);
    const tracing = this.transport.tracing;
    const span = tracing?.startProcess(delivery, delivery.headers);
    if (span === undefined) return this.dispatch(delivery, message, priority);
    if (span.isRecording()) span.setAttribute('openstack.event_type', message.event_type);
    return tracing!.withSpan(span, () => this.dispatch(delivery, message, priority)).finally(() => span.end());
  }

  private async dispatch(delivery: Delivery, message: ReturnType<typeof toNotification>, priority: NotificationPriority): Promise<void> {
    const context = RequestContext.fromDict(message.context);
    const metadata = { message_id: message.message_id, timestamp: message.timestamp };
    let requeue = false;
    for (const endpoint of this.endpoints) {
      const handler = endpoint[priority];
      if (typeof handler !== 'function' || !matches(endpoint, message.event_type, message.publisher_id)) continue;
      try {
        const result = await handler.call(endpoint, context, message.publisher_id, message.event_type, message.payload, metadata);
        if (result === 'requeue') requeue = true;
      } catch (error) {
        this.logger.error({ err: error, eventType: message.event_type }, 'notification handler raised');
        requeue = true;
      }
    }
    if (!requeue || this.options.allowRequeue === false) return delivery.ack();
    const attempt = (delivery.deliveryCount ?? 0) + 1;
    const seen = this.attempts.increment(message.uniqueId ?? message.message_id);
    if (Math.max(attempt, seen) >= this.transport.options.max_delivery_attempts) {
      this.transport.metrics?.deadLettered('handler_failed');
      await delivery.deadLetter(`notification handler failed ${Math.max(attempt, seen)} times`);
      return;
    }
    delivery.requeue();
  }
}

function matches(endpoint: NotificationEndpoint, eventType: string, publisherId: string): boolean {
  const filter = endpoint.filter;
  if (!filter) return true;
  return (!filter.eventType || filter.eventType.test(eventType)) && (!filter.publisherId || filter.publisherId.test(publisherId));
}
