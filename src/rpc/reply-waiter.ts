/**
 * Waits for replies on this process's reply queue: one waiter per `_msg_id`,
 * registered before the request is published. Heartbeats (`ending: false`, null
 * result) restart the call-monitor timer; the overall timeout still applies.
 */
import type { Logger } from '../log/logger.js';
import type { Delivery, Driver } from './drivers/driver.js';
import { MessagingTimeout, TransportError, type WireErrorClass } from './errors.js';
import { fromWireFailure } from './wire/failure.js';
import { decodeDocument, toIncomingReply } from './wire/messages.js';
import { requestRoutingKey } from './wire/topology.js';

/** What a waiter is waiting for, for error messages. */
export interface WaitDescription {
  topic: string;
  server?: string;
  method: string;
}

/** Timing of one wait. */
export interface WaitTiming {
  timeoutMs: number;
  /** Call-monitor window: fail when nothing (not even a heartbeat) arrives within it. */
  callMonitorMs?: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };

/**
 * One call waiting for its reply. Its promise is made only when asked for, so a call
 * whose publish failed (and was cancelled) leaves no promise behind to reject.
 */
export class PendingReply {
  /** The last non-null result seen (oslo keeps it across heartbeats). */
  lastResult: unknown = null;
  /** The headers of the final reply (its trace context), once it came. */
  replyHeaders: Readonly<Record<string, unknown>> | undefined;
  overall: NodeJS.Timeout | undefined;
  monitor: NodeJS.Timeout | undefined;
  private outcome: Outcome | undefined;
  private promised: Promise<unknown> | undefined;
  private resolvePromise: ((value: unknown) => void) | undefined;
  private rejectPromise: ((error: Error) => void) | undefined;

  constructor(
    readonly msgId: string,
    readonly timing: WaitTiming,
    readonly what: WaitDescription,
    private readonly owner: ReplyWaiter,
  ) {}

  /** Resolves with the result, or rejects with the remote error, a timeout or a lost connection. */
  get promise(): Promise<unknown> {
    if (this.promised !== undefined) return this.promised;
    const outcome = this.outcome;
    if (outcome !== undefined) {
      this.promised = outcome.ok ? Promise.resolve(outcome.value) : Promise.reject(outcome.error);
    } else {
      this.promised = new Promise<unknown>((resolve, reject) => {
        this.resolvePromise = resolve;
        this.rejectPromise = reject;
      });
    }
    return this.promised;
  }

  /** Stops waiting (the request could not be sent). */
  cancel(): void {
    this.owner.forget(this);
  }

  /** Settles once; later outcomes are ignored. */
  settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    if (outcome.ok) this.resolvePromise?.(outcome.value);
    else this.rejectPromise?.(outcome.error);
  }
}

/** Correlates replies with pending calls. */
export class ReplyWaiter {
  private readonly waiters = new Map<string, PendingReply>();
  private queue: Promise<string> | undefined;
  private queueReady: string | undefined;

  constructor(
    private readonly driver: Driver,
    private readonly logger: Logger,
    private readonly allowedErrors: readonly WireErrorClass[],
    private readonly maxMessageBytes: number,
  ) {}

  /** The reply queue name, starting the consumer on first use. */
  queueName(): Promise<string> {
    this.queue ??= this.driver
      .startReplyQueue(
        (delivery) => this.onDelivery(delivery),
        (error) => this.failAll(error),
      )
      .then(
        (name) => (this.queueReady = name),
        (error: unknown) => {
          this.queue = undefined;
          throw error;
        },
      );
    return this.queue;
  }

  /** The reply queue name once its consumer has started (no wait on the hot path). */
  get readyQueueName(): string | undefined {
    return this.queueReady;
  }

  /**
   * Registers a waiter for `msgId`, before the request is published. Call `cancel` if
   * the request could not be sent. Its promise resolves with the result or rejects
   * with the rebuilt remote error, MessagingTimeout, or TransportError when the
   * connection is lost.
   */
  wait(msgId: string, timing: WaitTiming, what: WaitDescription): PendingReply {
    const pending = new PendingReply(msgId, timing, what, this);
    pending.overall = setTimeout(this.onOverallTimeout, timing.timeoutMs, pending);
    if (timing.callMonitorMs !== undefined) this.restartMonitor(pending);
    this.waiters.set(msgId, pending);
    return pending;
  }

  /** Calls waiting for their reply now. */
  get pending(): number {
    return this.waiters.size;
  }

  /** Rejects every pending call (transport closing). */
  close(): void {
    this.failAll(new TransportError('transport closed while waiting for a reply'));
  }

  /** Stops waiting for `pending` (settled, timed out or cancelled). */
  forget(pending: PendingReply): void {
    if (this.waiters.get(pending.msgId) !== pending) return;
    clearTimeout(pending.overall);
    if (pending.monitor !== undefined) clearTimeout(pending.monitor);
    this.waiters.delete(pending.msgId);
  }

  private onDelivery(delivery: Delivery): void {
    let reply;
    try {
      reply = toIncomingReply(decodeDocument(delivery.body, this.maxMessageBytes));
    } catch (error) {
      this.logger.warn({ err: error }, 'dropping an undecodable reply');
      return;
    }
    const pending = this.waiters.get(reply.msgId);
    if (pending === undefined) {
      this.logger.info({ msgId: reply.msgId }, 'No calling threads waiting for msg_id');
      return;
    }
    if (reply.ending || reply.failure !== null) pending.replyHeaders = delivery.headers;
    if (reply.failure !== null) {
      this.forget(pending);
      pending.settle({ ok: false, error: fromWireFailure(reply.failure, this.allowedErrors) });
      return;
    }
    if (reply.result !== null) pending.lastResult = reply.result;
    if (reply.ending) {
      this.forget(pending);
      pending.settle({ ok: true, value: pending.lastResult });
      return;
    }
    if (pending.timing.callMonitorMs !== undefined) this.restartMonitor(pending);
  }

  /** (Re)starts the call-monitor window: on registration and on every heartbeat. */
  private restartMonitor(pending: PendingReply): void {
    if (pending.monitor !== undefined) clearTimeout(pending.monitor);
    pending.monitor = setTimeout(this.onMonitorTimeout, pending.timing.callMonitorMs, pending);
  }

  private readonly onOverallTimeout = (pending: PendingReply): void => this.expire(pending, pending.timing.timeoutMs, 'timeout');

  private readonly onMonitorTimeout = (pending: PendingReply): void =>
    this.expire(pending, pending.timing.callMonitorMs!, 'call-monitor timeout');

  private expire(pending: PendingReply, windowMs: number, kind: string): void {
    this.forget(pending);
    pending.settle({ ok: false, error: timeoutError(pending.msgId, pending.what, windowMs, kind) });
  }

  private failAll(cause: Error): void {
    for (const pending of [...this.waiters.values()]) {
      this.forget(pending);
      pending.settle({ ok: false, error: new TransportError(`${cause.message}; the reply to message ${pending.msgId} may be lost`, { cause }) });
    }
  }
}

function timeoutError(msgId: string, what: WaitDescription, windowMs: number, kind: string): MessagingTimeout {
  const where = requestRoutingKey(what.topic, what.server);
  const seconds = windowMs / 1000;
  return new MessagingTimeout(
    `Timed out waiting for a reply to message ID ${msgId}: method "${what.method}" on ${where} got no reply within ${seconds}s (${kind})`,
    { topic: what.topic, server: what.server, method: what.method, timeoutSeconds: seconds, msgId },
  );
}
