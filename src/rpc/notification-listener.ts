/**
 * NotificationListener: consumes `<topic>.<priority>` queues (or one shared `pool`
 * queue) and calls the endpoint method named after the priority with oslo's
 * arguments. What it shares with the RPC server (start, stop, concurrency from
 * `executor_thread_pool_size`, prefetch from `rabbit_qos_prefetch_count`, decoding,
 * dead-letters, the duplicate window) is {@link MessageHandlingServer}.
 *
 * Acknowledged after dispatch; an endpoint that returns "requeue" or throws gets the
 * message again (its id leaves the duplicate window), at most `max_delivery_attempts`
 * times, then it is dead-lettered: a failure is never an endless loop.
 */
import { RequestContext } from './context.js';
import type { DeliveryHandler, Listener } from './drivers/driver.js';
import { InvalidConfiguration } from './errors.js';
import type { IncomingMessage } from './handling/incoming-message.js';
import { MessageHandlingServer, type Decoded, type HandlingOptions } from './handling/message-handling-server.js';
import { PRIORITIES, type NotificationPriority } from './notifier.js';
import type { Transport } from './transport.js';
import { notificationQueueName, notificationRoutingKey } from './wire/topology.js';
import { toNotification, type NotificationMessage } from './wire/messages.js';

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

/** Listener settings: those of every server ({@link HandlingOptions}), and these. */
export interface NotificationListenerOptions extends Omit<HandlingOptions, 'sendTracebacks' | 'duplicateStore'> {
  /** Shared queue name: listeners in one pool split the notifications between them. */
  pool?: string;
  /** Requeue when a handler throws or returns "requeue"; default true. */
  allowRequeue?: boolean;
}

/** A notification topic to listen to. */
export interface NotificationTarget {
  topic: string;
  exchange?: string;
}

type Notification = NotificationMessage & { uniqueId: string | null };

/** Receives notifications. */
export class NotificationListener extends MessageHandlingServer<Notification> {
  protected readonly label = 'notification listener';

  /**
   * @param targets the topics (and exchanges) to listen to.
   * @param endpoints objects with a handler per priority they take (`info`, `error`, …).
   * @throws {@link InvalidConfiguration} without a target.
   */
  constructor(
    transport: Transport,
    private readonly targets: readonly NotificationTarget[],
    private readonly endpoints: readonly NotificationEndpoint[],
    private readonly options: NotificationListenerOptions = {},
  ) {
    if (targets.length === 0) throw new InvalidConfiguration('A notification listener needs at least one target ({ topic })');
    super(transport, options, (options.logger ?? transport.logger).child({ listener: 'notifications' }));
  }

  /** Declares and consumes the queues of every priority some endpoint handles, per exchange. */
  protected async listen(prefetch: number, handler: DeliveryHandler): Promise<Listener[]> {
    const priorities = PRIORITIES.filter((priority) => this.endpoints.some((endpoint) => typeof endpoint[priority] === 'function'));
    const byExchange = new Map<string, Array<{ routingKey: string; queue: string }>>();
    for (const target of this.targets) {
      const exchange = target.exchange ?? this.transport.controlExchange;
      const bindings = byExchange.get(exchange) ?? [];
      for (const priority of priorities) {
        const routingKey = notificationRoutingKey(target.topic, priority);
        bindings.push({ routingKey, queue: notificationQueueName(routingKey, this.options.pool) });
      }
      byExchange.set(exchange, bindings);
    }
    const listeners: Listener[] = [];
    for (const [exchange, bindings] of byExchange) {
      listeners.push(await this.transport.driver.listenNotifications({ exchange, bindings, prefetch }, handler));
    }
    return listeners;
  }

  protected decode(document: Record<string, unknown>): Decoded<Notification> {
    const notification = toNotification(document);
    return { content: notification, uniqueId: notification.uniqueId };
  }

  protected handle(message: IncomingMessage<Notification>): Promise<void> {
    const notification = message.content;
    const priority = notification.priority.toLowerCase() as NotificationPriority;
    this.transport.metrics?.notificationReceived(notification.event_type, priority);
    const tracing = this.transport.tracing;
    const span = tracing?.startProcess(message.delivery, message.headers);
    if (span === undefined) return this.dispatch(message, priority);
    if (span.isRecording()) span.setAttribute('openstack.event_type', notification.event_type);
    return tracing!.withSpan(span, () => this.dispatch(message, priority)).finally(() => span.end());
  }

  /** Runs every matching endpoint's handler; then ack, requeue, or (too many attempts) dead-letter. */
  private async dispatch(message: IncomingMessage<Notification>, priority: NotificationPriority): Promise<void> {
    const notification = message.content;
    const context = RequestContext.fromDict(notification.context);
    const metadata = { message_id: notification.message_id, timestamp: notification.timestamp };
    let requeue = false;
    for (const endpoint of this.endpoints) {
      const handler = endpoint[priority];
      if (typeof handler !== 'function' || !matches(endpoint, notification.event_type, notification.publisher_id)) continue;
      try {
        const result = await handler.call(endpoint, context, notification.publisher_id, notification.event_type, notification.payload, metadata);
        if (result === 'requeue') requeue = true;
      } catch (error) {
        this.logger.error({ err: error, eventType: notification.event_type }, 'notification handler raised');
        requeue = true;
      }
    }
    if (requeue) this.stats.failed += 1;
    else this.stats.handled += 1;
    if (!requeue || this.options.allowRequeue === false) return message.ack();
    if (message.attempt >= this.transport.options.max_delivery_attempts) {
      await message.deadLetter(`notification handler failed ${message.attempt} times`, 'handler_failed');
      return;
    }
    message.requeue();
  }
}

function matches(endpoint: NotificationEndpoint, eventType: string, publisherId: string): boolean {
  const filter = endpoint.filter;
  if (!filter) return true;
  return (!filter.eventType || filter.eventType.test(eventType)) && (!filter.publisherId || filter.publisherId.test(publisherId));
}
