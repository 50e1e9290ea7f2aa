/**
 * Notifier: oslo notifications (docs/wire-format.md §8) to `<topic>.<priority>` on the
 * control exchange. The publisher declares the queue too, so nothing is lost before a
 * listener exists. The context is sanitised (no auth token).
 */
import { randomUUID } from 'node:crypto';
import { RequestContext } from './context.js';
import type { ContextInput } from './client.js';
import { InvalidConfiguration } from './errors.js';
import type { Transport } from './transport.js';
import { encodeNotification } from './wire/envelope.js';
import { endWith } from './telemetry/tracing.js';
import { notificationRoutingKey } from './wire/topology.js';

/** Notification priorities, as oslo names them. */
export type NotificationPriority = 'audit' | 'debug' | 'info' | 'warn' | 'error' | 'critical' | 'sample';

/** All priorities, in oslo's order. */
export const PRIORITIES: readonly NotificationPriority[] = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'];

/** Notifier settings. */
export interface NotifierOptions {
  /** e.g. `compute.host1`. */
  publisherId: string;
  /** Topics; default `["notifications"]`. */
  topics?: readonly string[];
  /** `messagingv2` (enveloped; default), `messaging` (bare v1), or `noop` (send nothing). */
  driver?: 'messagingv2' | 'messaging' | 'noop';
  /** Exchange; default the transport's control exchange. */
  exchange?: string;
}

/** Sends notifications. */
export class Notifier {
  constructor(
    private readonly transport: Transport,
    private readonly options: NotifierOptions,
  ) {
    if (!options.publisherId) throw new InvalidConfiguration('A notifier needs a publisherId (e.g. "compute.host1")');
  }

  /** A notifier with other settings (e.g. another publisherId). */
  prepare(overrides: Partial<NotifierOptions>): Notifier {
    return new Notifier(this.transport, { ...this.options, ...overrides });
  }

  audit(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'audit', eventType, payload);
  }
  debug(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'debug', eventType, payload);
  }
  info(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'info', eventType, payload);
  }
  warn(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'warn', eventType, payload);
  }
  /** Alias of {@link warn}, as in oslo. */
  warning(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'warn', eventType, payload);
  }
  error(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'error', eventType, payload);
  }
  critical(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'critical', eventType, payload);
  }
  sample(context: ContextInput, eventType: string, payload: unknown): Promise<void> {
    return this.notify(context, 'sample', eventType, payload);
  }

  /** Sends one notification to every topic; resolves when the broker has them all. */
  async notify(context: ContextInput, priority: NotificationPriority, eventType: string, payload: unknown): Promise<void> {
    const driver = this.options.driver ?? 'messagingv2';
    if (driver === 'noop') return;
    const body = encodeNotification(
      {
        message_id: randomUUID(),
        publisher_id: this.options.publisherId,
        event_type: eventType,
        priority: priority.toUpperCase(),
        payload,
        timestamp: pythonUtcNow(new Date()),
        context: context instanceof RequestContext ? context.toNotificationDict() : { ...context },
      },
      driver === 'messagingv2',
      this.transport.options.max_message_size,
    );
    const exchange = this.options.exchange ?? this.transport.controlExchange;
    this.transport.metrics?.notificationSent(eventType, priority);
    await Promise.all(
      (this.options.topics ?? ['notifications']).map((topic) => {
        const key = notificationRoutingKey(topic, priority);
        const tracing = this.transport.tracing;
        if (tracing === undefined) return this.transport.driver.publishNotification(exchange, key, key, body);
        const span = tracing.startSend({ exchange, routingKey: key });
        if (span.isRecording()) span.setAttribute('openstack.event_type', eventType);
        return endWith(span, this.transport.driver.publishNotification(exchange, key, key, body, tracing.headersOf(span)));
      }),
    );
  }
}

/** Python's `str(datetime.utcnow())`: space separator, microseconds omitted when zero. */
export function pythonUtcNow(date: Date): string {
  const iso = date.toISOString();
  const millis = iso.slice(20, 23);
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return millis === '000' ? base : `${base}.${millis}000`;
}
