/**
 * RpcClient: cast, call and fanout cast to a Target, oslo-style. `prepare()` returns
 * a new client with overrides; `canSendVersion()` checks against the version cap.
 */
import { RequestContext } from './context.js';
import { InvalidArguments, InvalidTarget, VersionCapError } from './errors.js';
import { Target, type TargetFields } from './target.js';
import type { Transport } from './transport.js';
import { isCompatible } from './version.js';
import type { RequestPublishOptions } from './drivers/driver.js';
import type { PendingReply, WaitTiming } from './reply-waiter.js';
import { exceptionLabel, type InvocationInstruments } from './telemetry/metrics.js';
import { endWith, failSpan } from './telemetry/tracing.js';
import type { Span } from '@opentelemetry/api';
import { encodeContextEntries, encodeRequest, type EncodedContextEntries, type OutgoingRequest } from './wire/envelope.js';
import { fanoutExchangeName, requestRoutingKey } from './wire/topology.js';

/** Destination and timeouts of a client's sends (see {@link RpcClient} `sendTiming`). */
interface SendTiming extends WaitTiming {
  exchange: string;
  /** `<topic>` or `<topic>.<server>`. */
  routingKey: string;
  /** Publish options of a call: its expiration, and the send bound when there is one. */
  publish: RequestPublishOptions;
  /** Publish options of a cast: only a send bound, when this client has one. */
  castPublish: RequestPublishOptions | undefined;
}

/** A context as a RequestContext, or a plain dict sent as-is (as Python callers do). */
export type ContextInput = RequestContext | Record<string, unknown>;

/** Client settings; `prepare()` accepts the same plus Target fields. */
export interface ClientOptions {
  /** Call timeout in seconds; default the transport's `rpc_response_timeout`. */
  timeout?: number;
  /** Highest version this client may send ("X.Y"); above it calls fail locally. */
  versionCap?: string;
  /** Ask the server for heartbeats every N/2 s and fail when none comes within N s. */
  callMonitorTimeout?: number;
  /**
   * Seconds a send may wait for the broker (connection, channel, confirm) before it fails
   * with TransportError; default the transport's `send_timeout`. An HTTP front end sets
   * a few seconds so that it answers "unavailable" soon when the bus is down.
   */
  sendTimeout?: number;
}

/** Overrides for {@link RpcClient.prepare}. */
export type PrepareOptions = TargetFields & ClientOptions;

/** Sends casts and calls to one target. */
export class RpcClient {
  readonly target: Target;
  /** Timeouts and publish options of this (immutable) client, computed on first send. */
  private timing: SendTiming | undefined;
  /** oslo metric series of this client, by call type then method (metrics on only). */
  private meters: { cast: Map<string, InvocationInstruments>; call: Map<string, InvocationInstruments> } | undefined;

  constructor(
    private readonly transport: Transport,
    target: Target | TargetFields,
    private readonly options: ClientOptions = {},
  ) {
    this.target = target instanceof Target ? target : new Target(target);
  }

  /** A new client with some target fields or options replaced. */
  prepare(overrides: PrepareOptions): RpcClient {
    const { timeout, versionCap, callMonitorTimeout, sendTimeout, ...targetFields } = overrides;
    return new RpcClient(this.transport, this.target.with(targetFields), {
      ...this.options,
      ...definedOnly({ timeout, versionCap, callMonitorTimeout, sendTimeout }),
    });
  }

  /** True when `version` (default: the target's) is within the version cap. */
  canSendVersion(version = this.target.version): boolean {
    if (!this.options.versionCap || !version) return true;
    return isCompatible(this.options.versionCap, version);
  }

  /**
   * Fire-and-forget: resolves once the broker has the message (publisher confirm).
   * With `fanout`, every server of the topic gets it.
   * @param context the request context (or an oslo-style dict, sent as it is).
   * @param method the remote method's name.
   * @param args its keyword arguments (JSON values).
   * @throws (rejects with) `InvalidTarget` without a topic, `VersionCapError` above the cap,
   * `InvalidArguments` for an empty method name, `SerializationError`, `PayloadTooLarge`,
   * `TransportError` when the broker does not confirm within `send_timeout`.
   * @example await client.cast(ctx, 'reboot_instance', { instance_id: id });
   */
  cast(context: ContextInput, method: string, args: Record<string, unknown> = {}): Promise<void> {
    const meter = this.transport.metrics && this.meter('cast', method);
    if (meter === undefined) return this.send(context, method, args);
    return measured(meter, this.send(context, method, args));
  }

  private async send(context: ContextInput, method: string, args: Record<string, unknown>): Promise<void> {
    const topic = this.checkTarget();
    const body = encodeRequest(this.request(context, method, args), this.transport.options.max_message_size);
    const { driver, tracing } = this.transport;
    const timing = this.sendTiming;
    if (tracing !== undefined) {
      const exchange = this.target.fanout ? fanoutExchangeName(topic) : timing.exchange;
      const span = tracing.startSend({ exchange, routingKey: this.target.fanout ? '' : timing.routingKey }, { method, requestId: requestIdOf(context) });
      const headers = tracing.headersOf(span);
      const options = headers === undefined ? timing.castPublish : { ...timing.castPublish, headers };
      const publish = this.target.fanout ? driver.publishFanout(topic, body, headers) : driver.publishRequest(exchange, timing.routingKey, body, options);
      // No SDK (or not sampled): nothing to end, no extra await on the hot path.
      return span.isRecording() ? endWith(span, publish) : publish;
    }
    if (this.target.fanout) return driver.publishFanout(topic, body);
    await driver.publishRequest(timing.exchange, timing.routingKey, body, timing.castPublish);
  }

  /**
   * Request/reply: resolves with the remote result, or rejects with the remote error
   * rebuilt, MessagingTimeout, or TransportError.
   * @throws (rejects with) what {@link RpcClient.cast} does, plus `InvalidTarget` with
   * `fanout`, `MessagingTimeout`, `RemoteError` or the rebuilt remote error.
   * @example const { address } = await client.call<{ address: string }>(ctx, 'allocate_for_instance', { instance_id: id });
   */
  call<T = unknown>(context: ContextInput, method: string, args: Record<string, unknown> = {}): Promise<T> {
    const meter = this.transport.metrics && this.meter('call', method);
    if (meter === undefined) return this.sendCall(context, method, args) as Promise<T>;
    return measured(meter, this.sendCall(context, method, args)) as Promise<T>;
  }

  private async sendCall(context: ContextInput, method: string, args: Record<string, unknown>): Promise<unknown> {
    const topic = this.checkTarget();
    if (this.target.fanout) throw new InvalidTarget(`A call cannot be used with fanout (${this.target.describe()})`);
    const replies = this.transport.replies();
    const replyQueue = replies.readyQueueName ?? (await replies.queueName());
    const timing = this.sendTiming;
    const msgId = this.transport.ids.next();
    const body = encodeRequest(
      this.request(context, method, args, { msgId, replyQueue, callMonitorTimeout: this.options.callMonitorTimeout ?? null }),
      this.transport.options.max_message_size,
    );
    // Registered before the publish; its promise is made only when raced below, so a
    // failure while the publish is being confirmed is never an unhandled rejection.
    const pending = replies.wait(msgId, timing, { topic, server: this.target.server, method });
    let publishOptions = timing.publish;
    const tracing = this.transport.tracing;
    if (tracing !== undefined) {
      const callSpan = tracing.startCall({ exchange: timing.exchange, routingKey: timing.routingKey }, { method, msgId, requestId: requestIdOf(context) });
      if (callSpan.isRecording()) return this.tracedCall(pending, body, callSpan);
      // Not recorded (no SDK, or not sampled): only the context, if any, goes on.
      const headers = tracing.headersOf(callSpan);
      if (headers !== undefined) publishOptions = { ...publishOptions, headers };
    }
    const published = this.transport.driver.publishRequest(timing.exchange, timing.routingKey, body, publishOptions);
    try {
      // The call ends at its own timeout (or its reply, or the reply connection's loss)
      // even while the broker has not confirmed the request yet (blocked, no quorum).
      await Promise.race([published, pending.promise]);
    } catch (error) {
      pending.cancel();
      throw error;
    }
    return await pending.promise;
  }

  /**
   * A call with its one CLIENT span (request to reply): the request carries the span's
   * context, the broker's confirm is an event on it, the reply is linked to it.
   */
  private async tracedCall(pending: PendingReply, body: Buffer, callSpan: Span): Promise<unknown> {
    const tracing = this.transport.tracing!;
    const timing = this.sendTiming;
    const headers = tracing.headersOf(callSpan);
    try {
      try {
        const published = this.transport.driver.publishRequest(timing.exchange, timing.routingKey, body, headers ? { ...timing.publish, headers } : timing.publish);
        // As an untraced call: its timeout or reply ends it even before the broker confirms.
        await Promise.race([published.then(() => tracing.confirmed(callSpan)), pending.promise]);
      } catch (error) {
        pending.cancel();
        throw error;
      }
      const result = await pending.promise;
      tracing.linkReply(callSpan, pending.replyHeaders);
      return result;
    } catch (error) {
      tracing.linkReply(callSpan, pending.replyHeaders);
      failSpan(callSpan, error);
      throw error;
    } finally {
      callSpan.end();
    }
  }

  /** The oslo client series of (call type, method), resolved once per client. */
  private meter(callType: 'cast' | 'call', method: string): InvocationInstruments {
    this.meters ??= { cast: new Map(), call: new Map() };
    const meters = this.meters[callType];
    let found = meters.get(method);
    if (found === undefined) {
      const target = this.target;
      found = this.transport.metrics!.clientInvocation({
        callType,
        exchange: target.exchange ?? this.transport.controlExchange,
        topic: target.topic ?? '',
        namespace: target.namespace,
        version: target.version,
        server: target.server,
        fanout: target.fanout,
        method,
        timeout: callType === 'call' ? this.options.timeout : undefined,
      });
      if (meters.size < 256) meters.set(method, found);
    }
    return found;
  }

  /**
   * Where every message of this client goes and the timeouts of its sends, computed on
   * its first send and kept: the client is immutable (prepare() makes a new one).
   */
  private get sendTiming(): SendTiming {
    if (this.timing === undefined) {
      const timeoutMs = (this.options.timeout ?? this.transport.options.rpc_response_timeout) * 1000;
      const monitor = this.options.callMonitorTimeout;
      const sendTimeoutMs = this.options.sendTimeout === undefined ? undefined : this.options.sendTimeout * 1000;
      this.timing = {
        exchange: this.target.exchange ?? this.transport.controlExchange,
        routingKey: requestRoutingKey(this.target.topic ?? '', this.target.server),
        timeoutMs,
        callMonitorMs: monitor === undefined ? undefined : monitor * 1000,
        publish: { expirationMs: timeoutMs, ...definedOnly({ sendTimeoutMs }) },
        castPublish: sendTimeoutMs === undefined ? undefined : { sendTimeoutMs },
      };
    }
    return this.timing;
  }

  private checkTarget(): string {
    if (!this.target.topic) throw new InvalidTarget(`A topic is required to send a message (${this.target.describe()})`);
    const version = this.target.version;
    if (version && this.options.versionCap && !isCompatible(this.options.versionCap, version)) {
      throw new VersionCapError(version, this.options.versionCap);
    }
    return this.target.topic;
  }

  private request(context: ContextInput, method: string, args: Record<string, unknown>, call?: OutgoingRequest['call']): OutgoingRequest {
    if (typeof method !== 'string' || method === '') throw new InvalidArguments(`method must be a non-empty string, got ${JSON.stringify(method)}`);
    const { contextEntries, escapedContextEntries } = encodedContext(context);
    return {
      method,
      args,
      namespace: this.target.namespace,
      version: this.target.version,
      call,
      contextEntries,
      escapedContextEntries,
      uniqueId: this.transport.ids.next(),
    };
  }
}

/**
 * Counts an invocation as oslo.metrics does: start; then processing seconds and end on
 * success, or the exception's class on failure.
 */
async function measured<T>(meter: InvocationInstruments, invocation: Promise<T>): Promise<T> {
  meter.start.inc();
  const started = performance.now();
  try {
    const result = await invocation;
    meter.seconds.observe((performance.now() - started) / 1000);
    meter.end.inc();
    return result;
  } catch (error) {
    meter.exception(exceptionLabel(error)).inc();
    throw error;
  }
}

/** A context's wire entries; a RequestContext keeps its own (it is immutable). */
function encodedContext(context: ContextInput): EncodedContextEntries {
  if (context instanceof RequestContext) return context.wireEntries();
  return { contextEntries: encodeContextEntries(context), escapedContextEntries: undefined };
}

/** The request_id a context carries, for span attributes. */
function requestIdOf(context: ContextInput): string | undefined {
  if (context instanceof RequestContext) return context.requestId;
  const id = (context as { request_id?: unknown }).request_id;
  return typeof id === 'string' ? id : undefined;
}

function definedOnly<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}
