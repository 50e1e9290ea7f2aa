/**
 * RpcServer: consumes `<topic>`, `<topic>.<server>` and a fanout queue, dispatches to
 * endpoints, replies to calls. Ack policy (docs/architecture.md "Ack policy",
 * docs/wire-format.md §6.1): calls are acknowledged when dispatch begins (at most once,
 * as oslo); casts after the handler settles, so a crashed worker's cast is redelivered.
 * A handler that throws is reported (reply or log), never requeued. Undecodable
 * messages and messages delivered more than `max_delivery_attempts` times go to the
 * dead-letter queue. Workers never crash on input.
 */
import type { Logger } from '../log/logger.js';
import { RequestContext } from './context.js';
import { resolveMethod, type Endpoint } from './dispatcher.js';
import type { Delivery, Listener } from './drivers/driver.js';
import { InvalidTarget, MalformedMessage, RpcError } from './errors.js';
import { ReplySender, type CallOutcome } from './reply-sender.js';
import { Target, type TargetFields } from './target.js';
import type { Transport } from './transport.js';
import { DeliveryRunner } from './util/delivery-runner.js';
import { RecentCounts } from './util/recent-ids.js';
import { DuplicateGate, LocalDuplicateWindow, type DuplicateStore } from './duplicate-store.js';
import { exceptionLabel, type DeadLetterReason, type InvocationInstruments } from './telemetry/metrics.js';
import { failSpan } from './telemetry/tracing.js';
import type { Span } from '@opentelemetry/api';
import { CONTEXT_ENTRY_PREFIX, decodeDocument, toIncomingRequest, type IncomingRequest } from './wire/messages.js';

/** Server settings. */
export interface ServerOptions {
  /** Handlers running at once; default the transport's `executor_thread_pool_size` (64). */
  maxConcurrency?: number;
  /** Seconds stop() waits for in-flight handlers; default 30. */
  drainTimeout?: number;
  /** Send stack traces in failure replies (debug only); default false. */
  sendTracebacks?: boolean;
  /** How many recent `_unique_id`s are remembered to drop duplicates; default 1024. */
  duplicateWindow?: number;
  /**
   * Where `_unique_id`s are claimed; default this server's window (`duplicateWindow`).
   * A shared store (SqlDuplicateStore) drops copies that reach different servers too.
   */
  duplicateStore?: DuplicateStore;
  /** Logger; default the transport's. */
  logger?: Logger;
}

/** Counters, for tests, metrics and the operator. */
export interface ServerStats {
  handled: number;
  failed: number;
  duplicates: number;
  deadLettered: number;
}

/** Serves RPC requests for one topic/server. */
export class RpcServer {
  readonly target: Target;
  readonly stats: ServerStats = { handled: 0, failed: 0, duplicates: 0, deadLettered: 0 };
  private readonly logger: Logger;
  private readonly runner: DeliveryRunner;
  private readonly replies: ReplySender;
  private readonly duplicates: DuplicateGate;
  private readonly redeliveries = new RecentCounts(4096);
  private readonly maxConcurrency: number;
  private listener: Listener | undefined;
  private starting: Promise<void> | undefined;
  /** oslo metric series by (namespace, version, method) (metrics on only). */
  private readonly meters = new Map<string, InvocationInstruments>();
  private unwatchInFlight: (() => void) | undefined;

  constructor(
    private readonly transport: Transport,
    target: Target | TargetFields,
    private readonly endpoints: readonly Endpoint[],
    private readonly options: ServerOptions = {},
  ) {
    this.target = target instanceof Target ? target : new Target(target);
    if (!this.target.topic || !this.target.server) {
      throw new InvalidTarget(`An RPC server needs a topic and a server (${this.target.describe()})`);
    }
    if (endpoints.length === 0) throw new TypeError('An RPC server needs at least one endpoint');
    this.logger = (options.logger ?? transport.logger).child({ topic: this.target.topic, server: this.target.server });
    this.maxConcurrency = options.maxConcurrency ?? transport.options.executor_thread_pool_size;
    this.runner = new DeliveryRunner(this.maxConcurrency, (delivery) => this.process(delivery), this.logger);
    this.duplicates = new DuplicateGate(options.duplicateStore ?? new LocalDuplicateWindow(options.duplicateWindow ?? 1024), this.logger);
    this.replies = new ReplySender(
      transport.driver,
      {
        missingConsumerRetrySeconds: transport.options.kombu_missing_consumer_retry_timeout,
        maxMessageBytes: transport.options.max_message_size,
        sendTracebacks: options.sendTracebacks ?? false,
      },
      this.logger,
      transport.ids,
    );
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.runner.running;
  }

  /** Declares the queues and starts consuming. */
  start(): Promise<void> {
    this.starting ??= this.listen();
    return this.starting;
  }

  /**
   * Stops consuming, requeues what has not started, waits for running handlers (at
   * most `drainTimeout` s), then closes the listener and its fanout queue.
   */
  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    await listener.cancel();
    const requeued = this.runner.stop();
    this.duplicates.stopWaiting();
    const drainSeconds = this.options.drainTimeout ?? 30;
    const drained = await this.runner.idle(drainSeconds * 1000);
    if (!drained) this.logger.warn({ stillRunning: this.runner.running, drainSeconds }, 'handlers still running at stop; their casts will be redelivered');
    await listener.close();
    await this.duplicates.close();
    this.unwatchInFlight?.();
    this.unwatchInFlight = undefined;
    this.logger.info({ requeued, drained }, 'RPC server stopped');
  }

  private async listen(): Promise<void> {
    const prefetch = this.transport.options.rabbit_qos_prefetch_count || this.maxConcurrency;
    this.listener = await this.transport.driver.listenRpc(
      {
        exchange: this.target.exchange ?? this.transport.controlExchange,
        topic: this.target.topic!,
        server: this.target.server!,
        prefetch,
      },
      (delivery) => this.runner.push(delivery),
    );
    this.unwatchInFlight ??= this.transport.metrics?.watchInFlight(this.target.topic!, () => this.runner.running);
    this.logger.info({ prefetch, maxConcurrency: this.maxConcurrency }, 'RPC server consuming');
  }

  private async process(delivery: Delivery): Promise<void> {
    const decoded = this.decode(delivery);
    if ('failure' in decoded) return this.rejectMalformed(delivery, decoded.failure, decoded.document);
    const request = decoded.request;
    if (this.exceededAttempts(delivery, request)) {
      await this.deadLetter(delivery, `delivered more than ${this.transport.options.max_delivery_attempts} times without being acknowledged`, 'max_delivery_attempts');
      return;
    }
    const uniqueId = request.uniqueId;
    if (uniqueId) {
      const admitted = this.duplicates.admit(uniqueId);
      const admission = admitted instanceof Promise ? await admitted : admitted;
      if (admission === 'requeue') return delivery.requeue();
      if (admission === 'duplicate') {
        this.stats.duplicates += 1;
        this.logger.info({ method: request.method, uniqueId }, 'duplicate message dropped');
        delivery.ack();
        return;
      }
    }
    const isCall = Boolean(request.msgId && request.replyQueue);
    if (isCall) delivery.ack();
    const tracing = this.transport.tracing;
    const span = tracing?.startProcess(delivery, delivery.headers, { method: request.method, msgId: request.msgId ?? undefined });
    try {
      // A synchronous handler's outcome is replied to in the same tick it arrived.
      const dispatched = span === undefined ? this.dispatch(request) : tracing!.withSpan(span, () => this.dispatch(request, span));
      const outcome = dispatched instanceof Promise ? await dispatched : dispatched;
      if (span !== undefined && !outcome.ok) failSpan(span, outcome.error);
      if (isCall) this.runner.track(this.reply(request, outcome, span));
    } finally {
      span?.end();
      if (uniqueId) this.duplicates.settled(uniqueId);
      if (!isCall) delivery.ack();
    }
  }

  /**
   * Sends a call's final reply. Traced, it carries the CONSUMER span's context, which the
   * caller's call span links to (no span of its own: one fewer per call).
   */
  private reply(request: IncomingRequest, outcome: CallOutcome, span: Span | undefined): Promise<void> {
    const headers = span === undefined ? undefined : this.transport.tracing?.headersOf(span);
    return this.replies.sendFinal(request.replyQueue!, request.msgId!, outcome, headers);
  }

  /** Decodes a delivery into a request, or says why it cannot be one. */
  private decode(delivery: Delivery): { request: IncomingRequest } | { failure: unknown; document?: Record<string, unknown> } {
    let document: Record<string, unknown> | undefined;
    try {
      document = decodeDocument(delivery.body, this.transport.options.max_message_size);
      return { request: toIncomingRequest(document) };
    } catch (failure) {
      return { failure, document };
    }
  }

  /** A malformed message is answered when it names a reply queue, and dead-lettered. */
  private async rejectMalformed(delivery: Delivery, failure: unknown, document?: Record<string, unknown>): Promise<void> {
    const reason = failure instanceof MalformedMessage ? failure.message : `undecodable message: ${String(failure)}`;
    const msgId = document?._msg_id;
    const replyQueue = document?._reply_q;
    if (typeof msgId === 'string' && msgId && typeof replyQueue === 'string' && replyQueue) {
      this.runner.track(this.replies.sendFinal(replyQueue, msgId, { ok: false, error: new MalformedMessage(reason) }));
    }
    await this.deadLetter(delivery, reason, 'malformed');
  }

  private exceededAttempts(delivery: Delivery, request: IncomingRequest): boolean {
    if (!delivery.redelivered) return false;
    const previous =
      delivery.deliveryCount ?? this.redeliveries.increment(request.uniqueId ?? delivery.body.toString('base64', 0, 256));
    return previous >= this.transport.options.max_delivery_attempts;
  }

  private async deadLetter(delivery: Delivery, reason: string, kind: DeadLetterReason): Promise<void> {
    this.stats.deadLettered += 1;
    this.transport.metrics?.deadLettered(kind);
    this.logger.warn({ queue: delivery.queue, reason }, 'message moved to the dead-letter queue');
    await delivery.deadLetter(reason);
  }

  /**
   * Runs the handler. The outcome comes back synchronously when the handler returns a
   * plain value (or throws); a promise only when the handler returned one, and only
   * then can heartbeats be due.
   */
  private dispatch(request: IncomingRequest, span?: Span): CallOutcome | Promise<CallOutcome> {
    const context = RequestContext.fromEntries(request.document, CONTEXT_ENTRY_PREFIX);
    if (span?.isRecording()) span.setAttribute('openstack.request_id', context.requestId);
    let result: unknown;
    let meter: InvocationInstruments | undefined;
    let started = 0;
    try {
      const { handler, endpoint } = resolveMethod(this.endpoints, request.namespace, request.version, request.method);
      if (this.transport.metrics !== undefined) {
        meter = this.meter(request, endpoint);
        meter.start.inc();
        started = performance.now();
      }
      result = handler(context, request.args);
    } catch (error) {
      return this.failed(error, context, request, meter);
    }
    if (!isThenable(result)) return this.succeeded(result, meter, started);
    const stopHeartbeat = this.startHeartbeat(request);
    return Promise.resolve(result)
      .then(
        (value) => this.succeeded(value, meter, started),
        (error: unknown) => this.failed(error, context, request, meter),
      )
      .finally(stopHeartbeat);
  }

  /** The oslo server series of a resolved method (only methods an endpoint has are counted, as oslo). */
  private meter(request: IncomingRequest, endpoint: Endpoint): InvocationInstruments {
    const key = `${request.namespace}\u0001${request.version}\u0001${request.method}`;
    let found = this.meters.get(key);
    if (found === undefined) {
      found = this.transport.metrics!.serverInvocation({
        exchange: this.target.exchange ?? this.transport.controlExchange,
        topic: this.target.topic!,
        server: this.target.server!,
        endpoint: endpoint.name ?? 'None',
        namespace: request.namespace,
        version: request.version,
        method: request.method,
      });
      if (this.meters.size < 1024) this.meters.set(key, found);
    }
    return found;
  }

  private succeeded(result: unknown, meter?: InvocationInstruments, started = 0): CallOutcome {
    this.stats.handled += 1;
    if (meter !== undefined) {
      meter.seconds.observe((performance.now() - started) / 1000);
      meter.end.inc();
    }
    return { ok: true, result: result === undefined ? null : result };
  }

  private failed(error: unknown, context: RequestContext, request: IncomingRequest, meter?: InvocationInstruments): CallOutcome {
    this.stats.failed += 1;
    meter?.exception(exceptionLabel(error)).inc();
    const log = this.logger.child({ request_id: context.requestId, method: request.method });
    if (error instanceof RpcError) log.warn({ code: error.code, reason: error.message }, 'request failed');
    else log.error({ err: error }, 'handler raised');
    return { ok: false, error };
  }

  /**
   * Call-monitor heartbeats every `_timeout`/2 s, only when the caller asked
   * (docs/wire-format.md §4.4).
   */
  private startHeartbeat(request: IncomingRequest): () => void {
    const monitor = request.callMonitorTimeout;
    if (!request.msgId || !request.replyQueue || monitor === null) return NO_HEARTBEAT;
    const interval = Math.trunc(monitor) / 2;
    if (!(interval >= 1)) {
      this.logger.info({ callMonitorTimeout: monitor }, 'call-monitor timeout too small for heartbeats');
      return NO_HEARTBEAT;
    }
    const timer = setInterval(() => {
      this.runner.track(this.replies.sendHeartbeat(request.replyQueue!, request.msgId!));
    }, interval * 1000);
    return () => clearInterval(timer);
  }
}

const NO_HEARTBEAT = (): void => {};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
