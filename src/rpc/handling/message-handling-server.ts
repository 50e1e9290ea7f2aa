/**
 * The part RpcServer and NotificationListener share (oslo's `MessageHandlingServer`):
 * start, stop and drain; how many handlers run at once and how many messages the
 * broker may have outstanding (prefetch); decoding; the redelivery count and the
 * dead-letter queue; the duplicate window. A subclass says which queues it listens to,
 * how a document decodes into its content, and what handling a message means.
 *
 * The path of one delivery: the driver's consumer → {@link DeliveryRunner} (at most
 * `maxConcurrency` at once) → `process` here: decode (malformed → dead-letter queue),
 * count attempts (more than `max_delivery_attempts` → dead-letter queue), drop a
 * `_unique_id` seen recently (acknowledged, not run) → the subclass's `handle`, with an
 * {@link IncomingMessage} that owns the ack, the reply and the dead-lettering.
 */
import type { Logger } from '../../log/logger.js';
import type { Delivery, DeliveryHandler, Listener } from '../drivers/driver.js';
import { MalformedMessage } from '../errors.js';
import { ReplySender } from '../reply-sender.js';
import type { Transport } from '../transport.js';
import { DuplicateGate, LocalDuplicateWindow, type Admission, type DuplicateStore } from '../duplicate-store.js';
import { RecentCounts } from '../util/recent-ids.js';
import { decodeDocument } from '../wire/messages.js';
import { DeliveryRunner } from './delivery-runner.js';
import { deadLetterDelivery, IncomingMessage, type MessageServices, type ReplyAddress, type ServerStats } from './incoming-message.js';

/** Defaults of {@link HandlingOptions}. */
export const HANDLING_DEFAULTS = Object.freeze({ drainTimeout: 30, duplicateWindow: 1024, redeliveryWindow: 4096 });

/** Settings every message-handling server takes. */
export interface HandlingOptions {
  /** Handlers running at once; default the transport's `executor_thread_pool_size` (64). */
  maxConcurrency?: number;
  /** Seconds stop() waits for in-flight handlers; default 30. */
  drainTimeout?: number;
  /** How many recent `_unique_id`s are remembered to drop duplicates; default 1024. */
  duplicateWindow?: number;
  /**
   * Where `_unique_id`s are claimed; default this server's window (`duplicateWindow`).
   * A shared store (SqlDuplicateStore) drops copies that reach different servers too.
   */
  duplicateStore?: DuplicateStore;
  /** Send stack traces in failure replies (debug only); default false. */
  sendTracebacks?: boolean;
  /** Logger; default the transport's. */
  logger?: Logger;
}

/** What a subclass's decoder returns: the content, and the ids the base needs. */
export interface Decoded<T> {
  content: T;
  uniqueId: string | null;
  replyTo?: ReplyAddress;
}

/** Base of RpcServer and NotificationListener. */
export abstract class MessageHandlingServer<T> {
  /** Counters, for tests, metrics and the operator. */
  readonly stats: ServerStats = { handled: 0, failed: 0, duplicates: 0, deadLettered: 0 };
  protected readonly logger: Logger;
  /** Handlers allowed to run at once. */
  protected readonly maxConcurrency: number;
  protected readonly services: MessageServices;
  private readonly runner: DeliveryRunner;
  private readonly duplicates: DuplicateGate;
  private readonly redeliveries = new RecentCounts(HANDLING_DEFAULTS.redeliveryWindow);
  private listeners: Listener[] = [];
  private starting: Promise<void> | undefined;

  protected constructor(
    protected readonly transport: Transport,
    private readonly handlingOptions: HandlingOptions,
    logger: Logger,
  ) {
    this.logger = logger;
    this.maxConcurrency = handlingOptions.maxConcurrency ?? transport.options.executor_thread_pool_size;
    this.runner = new DeliveryRunner(this.maxConcurrency, (delivery) => this.process(delivery), logger);
    const window = handlingOptions.duplicateWindow ?? HANDLING_DEFAULTS.duplicateWindow;
    this.duplicates = new DuplicateGate(handlingOptions.duplicateStore ?? new LocalDuplicateWindow(window), logger);
    const replies = new ReplySender(
      transport.driver,
      {
        missingConsumerRetrySeconds: transport.options.kombu_missing_consumer_retry_timeout,
        maxMessageBytes: transport.options.max_message_size,
        sendTracebacks: handlingOptions.sendTracebacks ?? false,
      },
      logger,
      transport.ids,
    );
    this.services = {
      replies,
      stats: this.stats,
      logger,
      metrics: transport.metrics,
      track: (work) => this.runner.track(work),
      forget: (uniqueId) => this.duplicates.release(uniqueId),
      settle: (uniqueId) => this.duplicates.settled(uniqueId),
    };
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.runner.running;
  }

  /** Messages the broker may have outstanding: `rabbit_qos_prefetch_count`, else `maxConcurrency`. */
  protected get prefetch(): number {
    return this.transport.options.rabbit_qos_prefetch_count || this.maxConcurrency;
  }

  /** Declares the queues and starts consuming (once; later calls return the same promise). */
  start(): Promise<void> {
    this.starting ??= this.listen(this.prefetch, (delivery) => this.runner.push(delivery)).then((listeners) => {
      this.listeners = listeners;
      this.started();
    });
    return this.starting;
  }

  /**
   * Stops consuming, requeues what has not started, waits for running handlers (at
   * most `drainTimeout` s), then closes the listeners (and a server's fanout queue).
   */
  async stop(): Promise<void> {
    await this.starting?.catch(() => {
      // A start that failed left nothing to stop; its caller saw the error.
    });
    this.starting = undefined;
    const listeners = this.listeners.splice(0);
    if (listeners.length === 0) return;
    await Promise.all(listeners.map((listener) => listener.cancel()));
    const requeued = this.runner.stop();
    this.duplicates.stopWaiting();
    const drainSeconds = this.handlingOptions.drainTimeout ?? HANDLING_DEFAULTS.drainTimeout;
    const drained = await this.runner.idle(drainSeconds * 1000);
    if (!drained) this.logger.warn({ stillRunning: this.runner.running, drainSeconds }, 'handlers still running at stop; their messages will be redelivered');
    await Promise.all(listeners.map((listener) => listener.close()));
    await this.duplicates.close();
    this.stopped();
    this.logger.info({ requeued, drained }, `${this.label} stopped`);
  }

  /** What this server is, in log lines ("RPC server", "notification listener"). */
  protected abstract readonly label: string;

  /** Starts the driver's listeners, handing every delivery to `handler`. */
  protected abstract listen(prefetch: number, handler: DeliveryHandler): Promise<Listener[]>;

  /** Reads a decoded document; throws MalformedMessage when it is not this server's kind. */
  protected abstract decode(document: Record<string, unknown>): Decoded<T>;

  /** Handles a decoded, non-duplicate message; it must settle it (ack, requeue or dead-letter). */
  protected abstract handle(message: IncomingMessage<T>): void | Promise<void>;

  /** Called once consuming began. */
  protected started(): void {}

  /** Called once stop() closed the listeners. */
  protected stopped(): void {}

  /**
   * Called for a message that does not decode, before it is dead-lettered, with the
   * document when the envelope at least was JSON (RpcServer answers a malformed call).
   */
  protected onMalformed(_error: MalformedMessage, _document: Record<string, unknown> | undefined): void {}

  private process(delivery: Delivery): Promise<void> {
    let decoded: Decoded<T>;
    let document: Record<string, unknown> | undefined;
    try {
      document = decodeDocument(delivery.body, this.transport.options.max_message_size);
      decoded = this.decode(document);
    } catch (failure) {
      const error = failure instanceof MalformedMessage ? failure : new MalformedMessage(`undecodable message: ${String(failure)}`);
      this.onMalformed(error, document);
      return deadLetterDelivery(delivery, error.message, 'malformed', this.services);
    }
    const attempt = this.attemptOf(delivery, decoded.uniqueId);
    const maxAttempts = this.transport.options.max_delivery_attempts;
    if (attempt > maxAttempts) {
      return deadLetterDelivery(delivery, `delivered more than ${maxAttempts} times without being acknowledged`, 'max_delivery_attempts', this.services);
    }
    const message = new IncomingMessage(delivery, decoded.content, decoded.uniqueId, attempt, decoded.replyTo, this.services);
    if (!decoded.uniqueId) return this.run(message);
    const admitted = this.duplicates.admit(decoded.uniqueId);
    if (admitted instanceof Promise) return admitted.then((admission) => this.admit(message, admission));
    return this.admit(message, admitted);
  }

  /** Runs a copy the duplicate store admitted; drops a duplicate; requeues one still waiting at stop. */
  private admit(message: IncomingMessage<T>, admission: Admission): Promise<void> {
    if (admission === 'run') return this.run(message);
    if (admission === 'requeue') {
      message.delivery.requeue();
      return Promise.resolve();
    }
    this.stats.duplicates += 1;
    this.logger.info({ queue: message.delivery.queue, uniqueId: message.uniqueId }, 'duplicate message dropped');
    message.ack();
    return Promise.resolve();
  }

  /** Hands the message to the subclass; its id is marked handled when that settles (if the subclass did not). */
  private run(message: IncomingMessage<T>): Promise<void> {
    let handled: void | Promise<void>;
    try {
      handled = this.handle(message);
    } catch (error) {
      // Never into the consumer's socket loop: the runner logs it and goes on.
      message.finished();
      return Promise.reject(error);
    }
    if (!(handled instanceof Promise)) {
      message.finished();
      return Promise.resolve();
    }
    return handled.finally(() => message.finished());
  }

  /**
   * This delivery's number (1 = first). The broker counts for quorum queues
   * (`x-delivery-count`); elsewhere this server counts the redeliveries it saw, by
   * `_unique_id` (or the body's start, for a message without one).
   */
  private attemptOf(delivery: Delivery, uniqueId: string | null): number {
    if (!delivery.redelivered) return 1;
    if (delivery.deliveryCount !== undefined) return delivery.deliveryCount + 1;
    return this.redeliveries.increment(uniqueId ?? delivery.body.toString('base64', 0, 256)) + 1;
  }
}
