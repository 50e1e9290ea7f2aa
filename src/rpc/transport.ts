/**
 * `getTransport(url)`: the entry point. A Transport owns one driver (RabbitMQ or the
 * memory bus), the resolved options, a logger, and this process's reply queue.
 */
import { silentLogger, type Logger } from '../log/logger.js';
import { AmqpDriver } from './drivers/amqp/amqp-driver.js';
import type { DeadLetterStore, Driver } from './drivers/driver.js';
import { MemoryBus } from './drivers/memory/memory-bus.js';
import { MemoryDriver } from './drivers/memory/memory-driver.js';
import type { WireErrorClass } from './errors.js';
import { ReplyWaiter } from './reply-waiter.js';
import { resolveOptions, type TransportOptionInput, type TransportOptions } from './transport-options.js';
import { parseTransportUrl } from './transport-url.js';
import { UuidSource } from './util/uuid-source.js';
import { RpcMetrics } from './telemetry/metrics.js';
import type { Registry } from 'prom-client';
import type { TracerProvider } from '@opentelemetry/api';
import { RpcTracing } from './telemetry/tracing.js';

/** How to build a transport, beyond its URL. */
export interface TransportConfig {
  /** Options in code; the URL query overrides them (operators win). */
  options?: TransportOptionInput;
  /** pino logger; default: silent. */
  logger?: Logger;
  /** For `memory://`: the bus to join, so several transports in one process can talk. */
  bus?: MemoryBus;
  /** Remote error classes a caller rebuilds as themselves (oslo's allowed_remote_exmods). */
  allowedRemoteErrors?: readonly WireErrorClass[];
  /**
   * Prometheus metrics (oslo.metrics' names): a prom-client Registry to record into
   * (several transports may share one), or `true` for a registry of this transport's
   * own (`transport.metrics.registry`). Default: off, at no cost.
   */
  metrics?: Registry | true;
  /** The `process` label of the oslo metrics (oslo's `metrics_process_name`); default empty. */
  processName?: string;
  /**
   * OpenTelemetry spans: the TracerProvider to use, default the global one of
   * `@opentelemetry/api` (no-op until an SDK registers one); `false` turns spans off.
   */
  tracerProvider?: TracerProvider | false;
}

/**
 * A connection to a message bus: what {@link RpcClient}, {@link RpcServer},
 * {@link Notifier} and {@link NotificationListener} send and receive through. Create
 * one per process (or per bus) with {@link getTransport}; it opens its connections
 * lazily and owns this process's reply queue. Close it at shutdown.
 *
 * @example
 * ```ts
 * const transport = getTransport('rabbit://guest:guest@localhost:5672/');
 * try {
 *   const client = new RpcClient(transport, new Target({ topic: 'calculator' }));
 *   console.log(await client.call(new RequestContext(), 'add', { a: 1, b: 2 }));
 * } finally {
 *   await transport.close();
 * }
 * ```
 */
export class Transport {
  /** The resolved options (URL query over code options over defaults). */
  readonly options: TransportOptions;
  /** The logger the framework reports to (silent unless one was given). */
  readonly logger: Logger;
  /**
   * The driver messages go through (RabbitMQ or the memory bus).
   *
   * @internal
   */
  readonly driver: Driver;
  /** Remote error classes a caller rebuilds as themselves (oslo's allowed_remote_exmods). */
  readonly allowedRemoteErrors: readonly WireErrorClass[];
  /**
   * Random uuid4 hex ids for the messages sent through this transport.
   *
   * @internal
   */
  readonly ids = new UuidSource();
  /** The transport's Prometheus metrics, when enabled (`metrics` in {@link TransportConfig}). */
  readonly metrics: RpcMetrics | undefined;
  /**
   * The transport's spans; undefined when `tracerProvider: false`.
   *
   * @internal
   */
  readonly tracing: RpcTracing | undefined;
  private replyWaiter: ReplyWaiter | undefined;
  private readonly unwatch: Array<() => void> = [];

  /**
   * Builds a transport from its parts; users call {@link getTransport}.
   *
   * @internal
   */
  static fromParts(
    driver: Driver,
    options: TransportOptions,
    logger: Logger,
    allowedRemoteErrors: readonly WireErrorClass[],
    metrics?: RpcMetrics,
    tracing?: RpcTracing,
  ): Transport {
    return new Transport(driver, options, logger, allowedRemoteErrors, metrics, tracing);
  }

  /** Use {@link getTransport}. */
  private constructor(
    driver: Driver,
    options: TransportOptions,
    logger: Logger,
    allowedRemoteErrors: readonly WireErrorClass[],
    metrics?: RpcMetrics,
    tracing?: RpcTracing,
  ) {
    this.driver = driver;
    this.options = options;
    this.logger = logger;
    this.allowedRemoteErrors = allowedRemoteErrors;
    this.metrics = metrics;
    this.tracing = tracing;
    if (metrics) {
      this.unwatch.push(metrics.watchReplyWaiters(() => this.replyWaiter?.pending ?? 0));
      const channels = driver.publisherChannels;
      if (channels) this.unwatch.push(metrics.watchPublisherChannels(() => channels.call(driver)));
    }
  }

  /** The default control exchange (`control_exchange`). */
  get controlExchange(): string {
    return this.options.control_exchange;
  }

  /**
   * Operator access to the dead-letter queue: list, replay or purge the messages that
   * could not be decoded or kept coming back.
   *
   * @example
   * ```ts
   * for (const letter of await transport.deadLetters.list(10)) console.log(letter.reason, letter.routingKey);
   * ```
   */
  get deadLetters(): DeadLetterStore {
    return this.driver.deadLetters;
  }

  /**
   * This process's reply waiter (one reply queue per transport), created on first use.
   *
   * @internal
   */
  replies(): ReplyWaiter {
    this.replyWaiter ??= new ReplyWaiter(this.driver, this.logger, this.allowedRemoteErrors, this.options.max_message_size);
    return this.replyWaiter;
  }

  /**
   * Fails the calls still waiting for a reply (with TransportError) and closes every
   * connection. Servers and listeners using the transport should be stopped first.
   */
  async close(): Promise<void> {
    this.replyWaiter?.close();
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    await this.driver.close();
  }
}

/**
 * Creates a transport from an oslo-style URL. Connections are opened lazily, on
 * first use.
 *
 * @param url - `rabbit://user:pass@host:5672/vhost?option=value` (several
 *   comma-separated hosts for failover; `rabbits://` or `ssl=true` for TLS; any
 *   oslo.messaging rabbit option in the query), or `memory://` for an in-process bus
 * @param config - options in code (the URL's query overrides them), logger, metrics,
 *   tracing, the memory bus to join, and the remote errors to rebuild as themselves
 * @returns the transport; close it with {@link Transport.close}
 * @throws {@link InvalidTransportUrl} for a bad URL or option value, naming the bad part
 *
 * @example
 * ```ts
 * import { getTransport } from 'novarpc';
 *
 * const transport = getTransport('rabbit://guest:guest@rabbit1:5672,guest:guest@rabbit2:5672/?rabbit_quorum_queue=true', {
 *   options: { rpc_response_timeout: 30 },
 *   logger: createLogger({ name: 'worker' }),
 *   metrics: true,
 * });
 * ```
 */
export function getTransport(url: string, config: TransportConfig = {}): Transport {
  const parsed = parseTransportUrl(url);
  const options = resolveOptions(config.options, parsed.query);
  const logger = config.logger ?? silentLogger();
  const metrics = config.metrics ? new RpcMetrics(config.metrics === true ? undefined : config.metrics, config.processName) : undefined;
  const driver: Driver =
    parsed.scheme === 'memory' ? new MemoryDriver(config.bus ?? new MemoryBus()) : new AmqpDriver(parsed, options, logger, metrics);
  const tracing =
    config.tracerProvider === false ? undefined : new RpcTracing(config.tracerProvider, parsed.scheme === 'memory' ? 'novarpc_memory' : 'rabbitmq');
  return Transport.fromParts(driver, options, logger, config.allowedRemoteErrors ?? [], metrics, tracing);
}
