/**
 * The framework's Prometheus metrics, on a registry the user owns (one per transport,
 * or shared). RPC metrics carry oslo.metrics' names, labels and buckets
 * (openstack/oslo.metrics, `oslo_metrics/metrics/oslo_messaging.py`), so dashboards
 * built for OpenStack work unchanged; `novarpc_*` ones cover what oslo has none for.
 * Label values are bounded: targets, methods, exception classes, event types; never
 * message ids, request ids or reply-queue names.
 */
import { Registry } from 'prom-client';
import { FastCounter, FastHistogram, family, labelValue, SourcedGauge, type CounterChild, type GaugeSource, type HistogramChild } from './instruments.js';

/** oslo.metrics' `rpc_processing_seconds_buckets`. */
export const RPC_PROCESSING_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 25, 50, 75, 100];
/** Buckets of novarpc's broker-confirm histogram (confirms take milliseconds). */
export const CONFIRM_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const SERVER_LABELS = ['exchange', 'topic', 'server', 'endpoint', 'namespace', 'version', 'method', 'process'] as const;
export const CLIENT_LABELS = ['call_type', 'exchange', 'topic', 'namespace', 'version', 'server', 'fanout', 'process', 'method', 'timeout'] as const;

/** Why a message went to the dead-letter queue (a bounded label). */
export type DeadLetterReason = 'malformed' | 'max_delivery_attempts' | 'handler_failed';

/** The four oslo series of one (target, method), resolved once. */
export interface InvocationInstruments {
  start: CounterChild;
  end: CounterChild;
  seconds: HistogramChild;
  /** The exception series of one exception class. */
  exception(className: string): CounterChild;
}

/** What identifies a client invocation series, as oslo labels it. */
export interface ClientSeries {
  callType: 'cast' | 'call';
  exchange: string;
  topic: string;
  namespace: string | null | undefined;
  version: string | null | undefined;
  server: string | null | undefined;
  fanout: boolean | null | undefined;
  method: string;
  timeout: number | null | undefined;
}

/** What identifies a server invocation series, as oslo labels it. */
export interface ServerSeries {
  exchange: string;
  topic: string;
  server: string;
  endpoint: string;
  namespace: string | null;
  version: string;
  method: string;
}

interface InvocationFamilies {
  start: FastCounter;
  end: FastCounter;
  seconds: FastHistogram;
  exceptions: FastCounter;
}

/** The metric families of one transport. Create through `getTransport(url, { metrics })`. */
export class RpcMetrics {
  readonly registry: Registry;
  private readonly client: InvocationFamilies;
  private readonly server: InvocationFamilies;
  /** The one series of the confirm histogram, resolved once (it is bumped on every publish). */
  private readonly confirmSeconds: HistogramChild;
  private readonly deadLetters: FastCounter;
  private readonly reconnects: FastCounter;
  private readonly notificationsSent: FastCounter;
  private readonly notificationsReceived: FastCounter;
  private readonly channels: SourcedGauge;
  private readonly inFlight: SourcedGauge;
  private readonly replyWaiters: SourcedGauge;
  private readonly invocations = new Map<string, InvocationInstruments>();

  /** `process`: oslo's `metrics_process_name` label value (default empty, as oslo). */
  constructor(
    registry: Registry = new Registry(),
    readonly processName = '',
  ) {
    this.registry = registry;
    this.client = invocationFamilies(registry, 'oslo_messaging_rpc_client', CLIENT_LABELS, 'Total number of RPC invocation start.');
    this.server = invocationFamilies(
      registry,
      'oslo_messaging_rpc_server',
      SERVER_LABELS,
      "Total number of RPC invocation start. This doesn't count if rpc server failed to find method from endpoints.",
    );
    this.confirmSeconds = histogram(registry, 'novarpc_publish_confirm_seconds', 'Seconds from publish to the broker confirm.', [], CONFIRM_BUCKETS).child(NO_LABELS);
    this.deadLetters = counter(registry, 'novarpc_dead_letters_total', 'Messages moved to the dead-letter queue, by reason.', ['reason']);
    this.reconnects = counter(registry, 'novarpc_transport_reconnects_total', 'Broker connections re-established after a loss.', []);
    this.notificationsSent = counter(registry, 'novarpc_notifications_sent_total', 'Notifications published, by event type and priority.', ['event_type', 'priority']);
    this.notificationsReceived = counter(registry, 'novarpc_notifications_received_total', 'Notifications received by listeners, by event type and priority.', ['event_type', 'priority']);
    this.channels = gauge(registry, 'novarpc_publisher_channels', 'Publisher confirm channels in the pool, by state (in_use, idle).', ['state']);
    this.inFlight = gauge(registry, 'novarpc_rpc_server_in_flight', 'RPC handlers running now.', ['topic']);
    this.replyWaiters = gauge(registry, 'novarpc_reply_waiters', 'Calls waiting for their reply now.', []);
  }

  /** The oslo client series of one invocation kind; cheap after the first use. */
  clientInvocation(series: ClientSeries): InvocationInstruments {
    const values = [
      series.callType,
      series.exchange,
      series.topic,
      labelValue(series.namespace),
      labelValue(series.version),
      labelValue(series.server),
      labelValue(series.fanout),
      this.processName,
      series.method,
      labelValue(series.timeout),
    ];
    return this.instruments('c', this.client, values);
  }

  /** The oslo server series of one dispatched method; cheap after the first use. */
  serverInvocation(series: ServerSeries): InvocationInstruments {
    const values = [
      series.exchange,
      series.topic,
      series.server,
      series.endpoint,
      labelValue(series.namespace),
      series.version,
      series.method,
      this.processName,
    ];
    return this.instruments('s', this.server, values);
  }

  /** Records a broker confirm after `seconds`. */
  publishConfirmed(seconds: number): void {
    this.confirmSeconds.observe(seconds);
  }

  deadLettered(reason: DeadLetterReason): void {
    this.deadLetters.child([reason]).inc();
  }

  reconnected(): void {
    this.reconnects.child(NO_LABELS).inc();
  }

  notificationSent(eventType: string, priority: string): void {
    this.notificationsSent.child([eventType, priority]).inc();
  }

  notificationReceived(eventType: string, priority: string): void {
    this.notificationsReceived.child([eventType, priority]).inc();
  }

  /** Reports the publisher pool at each scrape; returns the removal. */
  watchPublisherChannels(read: () => { inUse: number; idle: number }): () => void {
    const source: GaugeSource = () => {
      const { inUse, idle } = read();
      return [
        [['in_use'], inUse],
        [['idle'], idle],
      ];
    };
    return this.channels.addSource(source);
  }

  /** Reports a server's running handlers at each scrape; returns the removal. */
  watchInFlight(topic: string, read: () => number): () => void {
    return this.inFlight.addSource(() => [[[topic], read()]]);
  }

  /** Reports the calls waiting for replies at each scrape; returns the removal. */
  watchReplyWaiters(read: () => number): () => void {
    return this.replyWaiters.addSource(() => [[NO_LABELS, read()]]);
  }

  private instruments(side: string, families: InvocationFamilies, values: string[]): InvocationInstruments {
    const key = side + values.join('\u0001');
    let found = this.invocations.get(key);
    if (found === undefined) {
      const exceptions = new Map<string, CounterChild>();
      found = {
        start: families.start.child(values),
        end: families.end.child(values),
        seconds: families.seconds.child(values),
        exception: (className) => {
          let child = exceptions.get(className);
          if (child === undefined) {
            child = families.exceptions.child([...values, className]);
            exceptions.set(className, child);
          }
          return child;
        },
      };
      if (this.invocations.size < 10_000) this.invocations.set(key, found);
    }
    return found;
  }
}

const NO_LABELS: readonly string[] = [];

/**
 * The `endpoint` label of a server series. oslo.metrics labels server series with the
 * endpoint that ran the method (in a Python service an endpoint object, named by its
 * class: `ComputeManager`), not with the topic. Here: the endpoint's `name` when it has
 * one (a contract endpoint: the contract's name), else the class name of an endpoint
 * that is a class instance, else `endpoint_<i>` (its position in the server's list).
 * Bounded by the code, never by traffic.
 */
export function endpointLabel(endpoint: { name?: string }, index: number): string {
  if (endpoint.name) return endpoint.name;
  const className = (Object.getPrototypeOf(endpoint) as { constructor?: { name?: string } } | null)?.constructor?.name;
  if (className && className !== 'Object') return className;
  return `endpoint_${index}`;
}

/** The class name oslo.metrics puts in the `exception` label. */
export function exceptionLabel(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name && error.constructor.name !== 'Error' ? error.constructor.name : error.name;
  return typeof error;
}

function invocationFamilies(registry: Registry, prefix: string, labels: readonly string[], startHelp: string): InvocationFamilies {
  return {
    start: counter(registry, `${prefix}_invocation_start_total`, startHelp, labels),
    end: counter(registry, `${prefix}_invocation_end_total`, 'Total number of RPC invocation end.', labels),
    seconds: histogram(registry, `${prefix}_processing_seconds`, 'Duration of RPC processing.', labels, RPC_PROCESSING_BUCKETS),
    exceptions: counter(registry, `${prefix}_exception_total`, 'Total number of exception while RPC processing.', [...labels, 'exception']),
  };
}

function counter(registry: Registry, name: string, help: string, labelNames: readonly string[]): FastCounter {
  return family(registry, name, FastCounter, () => new FastCounter({ name, help, labelNames }, registry));
}

function histogram(registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): FastHistogram {
  return family(registry, name, FastHistogram, () => new FastHistogram({ name, help, labelNames, buckets }, registry));
}

function gauge(registry: Registry, name: string, help: string, labelNames: readonly string[]): SourcedGauge {
  return family(registry, name, SourcedGauge, () => new SourcedGauge({ name, help, labelNames }, registry));
}
