/**
 * RpcClient: cast, call and fanout cast to a Target, oslo-style. `prepare()` returns
 * a new client with overrides; `canSendVersion()` checks against the version cap.
 */
import { RequestContext } from './context.js';
import { InvalidTarget, VersionCapError } from './errors.js';
import { Target, type TargetFields } from './target.js';
import type { Transport } from './transport.js';
import { isCompatible } from './version.js';
import type { RequestPublishOptions } from './drivers/driver.js';
import type { WaitTiming } from './reply-waiter.js';
import { encodeContextEntries, encodeRequest, type EncodedContextEntries, type OutgoingRequest } from './wire/messages.js';

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
  private timing: (WaitTiming & { publish: RequestPublishOptions }) | undefined;

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
   */
  async cast(context: ContextInput, method: string, args: Record<string, unknown> = {}): Promise<void> {
    const topic = this.checkTarget();
    const body = encodeRequest(this.request(context, method, args), this.transport.options.max_message_size);
    if (this.target.fanout) return this.transport.driver.publishFanout(topic, body);
    await this.transport.driver.publishRequest(this.exchange, this.routingKey(topic), body, this.castPublish);
  }

  /** Publish options of a cast: only a send bound, when this client has one. */
  private get castPublish(): RequestPublishOptions | undefined {
    const { sendTimeout } = this.options;
    return sendTimeout === undefined ? undefined : { sendTimeoutMs: sendTimeout * 1000 };
  }

  /**
   * Request/reply: resolves with the remote result, or rejects with the remote error
   * rebuilt, MessagingTimeout, or TransportError.
   */
  async call<T = unknown>(context: ContextInput, method: string, args: Record<string, unknown> = {}): Promise<T> {
    const topic = this.checkTarget();
    if (this.target.fanout) throw new InvalidTarget(`A call cannot be used with fanout (${this.target.describe()})`);
    const replies = this.transport.replies();
    const replyQueue = replies.readyQueueName ?? (await replies.queueName());
    const timing = this.callTiming;
    const msgId = this.transport.ids.next();
    const body = encodeRequest(
      this.request(context, method, args, { msgId, replyQueue, callMonitorTimeout: this.options.callMonitorTimeout ?? null }),
      this.transport.options.max_message_size,
    );
    // Registered before the publish; its promise is made only when raced below, so a
    // failure while the publish is being confirmed is never an unhandled rejection.
    const pending = replies.wait(msgId, timing, { topic, server: this.target.server, method });
    const published = this.transport.driver.publishRequest(this.exchange, this.routingKey(topic), body, timing.publish);
    try {
      // The call ends at its own timeout (or its reply, or the reply connection's loss)
      // even while the broker has not confirmed the request yet (blocked, no quorum).
      await Promise.race([published, pending.promise]);
    } catch (error) {
      pending.cancel();
      throw error;
    }
    return (await pending.promise) as T;
  }

  /** Timeouts of every call of this client (it is immutable), computed once. */
  private get callTiming(): WaitTiming & { publish: RequestPublishOptions } {
    if (this.timing === undefined) {
      const timeoutMs = (this.options.timeout ?? this.transport.options.rpc_response_timeout) * 1000;
      const monitor = this.options.callMonitorTimeout;
      const sendTimeoutMs = this.options.sendTimeout === undefined ? undefined : this.options.sendTimeout * 1000;
      this.timing = { timeoutMs, callMonitorMs: monitor === undefined ? undefined : monitor * 1000, publish: { expirationMs: timeoutMs, ...definedOnly({ sendTimeoutMs }) } };
    }
    return this.timing;
  }

  private get exchange(): string {
    return this.target.exchange ?? this.transport.controlExchange;
  }

  private routingKey(topic: string): string {
    return this.target.server ? `${topic}.${this.target.server}` : topic;
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
    if (typeof method !== 'string' || method === '') throw new TypeError('method must be a non-empty string');
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

/** A context's wire entries; a RequestContext keeps its own (it is immutable). */
function encodedContext(context: ContextInput): EncodedContextEntries {
  if (context instanceof RequestContext) return context.wireEntries();
  return { contextEntries: encodeContextEntries(context), escapedContextEntries: undefined };
}

function definedOnly<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}
