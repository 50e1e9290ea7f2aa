/**
 * RpcServer: consumes `<topic>`, `<topic>.<server>` and a fanout queue, dispatches to
 * endpoints, replies to calls. What it shares with the notification listener (start,
 * stop, concurrency, prefetch, decoding, dead-letters, duplicates) is
 * {@link MessageHandlingServer}; dispatch is {@link RpcDispatcher}. Here is only what
 * differs: the queues, and the ack policy (docs/architecture.md "Ack policy",
 * docs/wire-format.md §6.1): calls are acknowledged when dispatch begins (at most once,
 * as oslo); casts after the handler settles, so a crashed worker's cast is redelivered.
 * A handler that throws is reported (reply or log), never requeued.
 */
import type { Span } from '@opentelemetry/api';
import { RpcDispatcher, validateEndpoints, type Endpoint } from './dispatcher.js';
import type { DeliveryHandler, Listener } from './drivers/driver.js';
import { InvalidTarget, MalformedMessage } from './errors.js';
import type { IncomingMessage } from './handling/incoming-message.js';
import { MessageHandlingServer, type Decoded, type HandlingOptions } from './handling/message-handling-server.js';
import type { CallOutcome } from './reply-sender.js';
import { Target, type TargetFields } from './target.js';
import { failSpan } from './telemetry/tracing.js';
import type { Transport } from './transport.js';
import { toIncomingRequest, type IncomingRequest } from './wire/messages.js';

export type { ServerStats } from './handling/incoming-message.js';

/** Server settings. */
export type ServerOptions = HandlingOptions;

/**
 * Serves RPC requests for one topic/server.
 *
 * @example
 * const server = new RpcServer(transport, { topic: 'compute', server: 'host1' }, [
 *   { target: { version: '1.2' }, methods: { add: (ctx, { a, b }) => Number(a) + Number(b) } },
 * ]);
 * await server.start();
 */
export class RpcServer extends MessageHandlingServer<IncomingRequest> {
  readonly target: Target;
  protected readonly label = 'RPC server';
  private readonly dispatcher: RpcDispatcher;
  private readonly exchange: string;
  private unwatchInFlight: (() => void) | undefined;

  /**
   * @param transport the bus to listen on.
   * @param target needs a `topic` and a `server`; `exchange` defaults to the transport's control exchange.
   * @param endpoints each `{ target?: { version, namespace }, methods: { name: (context, args) => result } }`.
   * @throws {@link InvalidTarget} without topic or server; `InvalidEndpoint` for an endpoint of another shape.
   */
  constructor(transport: Transport, target: Target | TargetFields, endpoints: readonly Endpoint[], options: ServerOptions = {}) {
    const resolved = target instanceof Target ? target : new Target(target);
    if (!resolved.topic || !resolved.server) {
      throw new InvalidTarget(`An RPC server needs a topic and a server (${resolved.describe()})`);
    }
    validateEndpoints(endpoints);
    super(transport, options, (options.logger ?? transport.logger).child({ topic: resolved.topic, server: resolved.server }));
    this.target = resolved;
    this.exchange = resolved.exchange ?? transport.controlExchange;
    this.dispatcher = new RpcDispatcher({
      endpoints,
      stats: this.stats,
      logger: this.logger,
      metrics: transport.metrics,
      labels: { exchange: this.exchange, topic: resolved.topic, server: resolved.server },
    });
  }

  protected async listen(prefetch: number, handler: DeliveryHandler): Promise<Listener[]> {
    const spec = { exchange: this.exchange, topic: this.target.topic!, server: this.target.server!, prefetch };
    return [await this.transport.driver.listenRpc(spec, handler)];
  }

  protected override started(): void {
    this.unwatchInFlight ??= this.transport.metrics?.watchInFlight(this.target.topic!, () => this.inFlight);
    this.logger.info({ prefetch: this.prefetch, maxConcurrency: this.maxConcurrency }, 'RPC server consuming');
  }

  protected override stopped(): void {
    this.unwatchInFlight?.();
    this.unwatchInFlight = undefined;
  }

  protected decode(document: Record<string, unknown>): Decoded<IncomingRequest> {
    const request = toIncomingRequest(document);
    const { msgId, replyQueue } = request;
    return { content: request, uniqueId: request.uniqueId, replyTo: msgId && replyQueue ? { msgId, replyQueue } : undefined };
  }

  /** A malformed call that names its reply queue gets a MalformedMessage failure reply. */
  protected override onMalformed(error: MalformedMessage, document: Record<string, unknown> | undefined): void {
    const msgId = document?._msg_id;
    const replyQueue = document?._reply_q;
    if (typeof msgId === 'string' && msgId && typeof replyQueue === 'string' && replyQueue) {
      this.services.track(this.services.replies.sendFinal(replyQueue, msgId, { ok: false, error }));
    }
  }

  protected async handle(message: IncomingMessage<IncomingRequest>): Promise<void> {
    const isCall = message.replyTo !== undefined;
    if (isCall) message.ack();
    const tracing = this.transport.tracing;
    const span = tracing?.startProcess(message.delivery, message.headers, { method: message.content.method, msgId: message.content.msgId ?? undefined });
    try {
      // A synchronous handler's outcome is replied to in the same tick it arrived.
      const dispatched = span === undefined ? this.dispatcher.dispatch(message) : tracing!.withSpan(span, () => this.dispatcher.dispatch(message, span));
      const outcome = dispatched instanceof Promise ? await dispatched : dispatched;
      if (span !== undefined && !outcome.ok) failSpan(span, outcome.error);
      if (isCall) this.reply(message, outcome, span);
    } finally {
      span?.end();
      message.finished();
      if (!isCall) message.ack();
    }
  }

  /**
   * Sends a call's final reply. Traced, it carries the CONSUMER span's context, which the
   * caller's call span links to (no span of its own: one fewer per call).
   */
  private reply(message: IncomingMessage<IncomingRequest>, outcome: CallOutcome, span: Span | undefined): void {
    message.reply(outcome, span === undefined ? undefined : this.transport.tracing?.headersOf(span));
  }
}
