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

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  lastResult: unknown;
  overall: NodeJS.Timeout;
  monitor?: NodeJS.Timeout;
  /** Restarts the call-monitor window (on a heartbeat). */
  restartMonitor?: () => void;
}

/** Correlates replies with pending calls. */
export class ReplyWaiter {
  private readonly waiters = new Map<string, Waiter>();
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
   * Registers a waiter for `msgId`. Call `cancel` if the request could not be sent.
   * The promise resolves with the result or rejects with the rebuilt remote error,
   * MessagingTimeout, or TransportError when the connection is lost.
   */
  wait(msgId: string, timing: WaitTiming, what: WaitDescription): { promise: Promise<unknown>; cancel(): void } {
    let waiter!: Waiter;
    const promise = new Promise<unknown>((resolve, reject) => {
      const timeout = (window: number, kind: string) => () => {
        this.forget(msgId);
        reject(timeoutError(msgId, what, window, kind));
      };
      waiter = {
        resolve,
        reject,
        lastResult: null,
        overall: setTimeout(timeout(timing.timeoutMs, 'timeout'), timing.timeoutMs),
      };
      if (timing.callMonitorMs !== undefined) {
        const restart = () => {
          clearTimeout(waiter.monitor);
          waiter.monitor = setTimeout(timeout(timing.callMonitorMs!, 'call-monitor timeout'), timing.callMonitorMs);
        };
        waiter.restartMonitor = restart;
        restart();
      }
    });
    this.waiters.set(msgId, waiter);
    return { promise, cancel: () => this.forget(msgId) };
  }

  /** Rejects every pending call (transport closing). */
  close(): void {
    this.failAll(new TransportError('transport closed while waiting for a reply'));
  }

  private onDelivery(delivery: Delivery): void {
    let reply;
    try {
      reply = toIncomingReply(decodeDocument(delivery.body, this.maxMessageBytes));
    } catch (error) {
      this.logger.warn({ err: error }, 'dropping an undecodable reply');
      return;
    }
    const waiter = this.waiters.get(reply.msgId);
    if (!waiter) {
      this.logger.info({ msgId: reply.msgId }, 'No calling threads waiting for msg_id');
      return;
    }
    if (reply.failure !== null) {
      this.forget(reply.msgId);
      waiter.reject(fromWireFailure(reply.failure, this.allowedErrors));
      return;
    }
    if (reply.result !== null) waiter.lastResult = reply.result;
    if (reply.ending) {
      this.forget(reply.msgId);
      waiter.resolve(waiter.lastResult);
      return;
    }
    waiter.restartMonitor?.();
  }

  private failAll(cause: Error): void {
    for (const [msgId, waiter] of [...this.waiters]) {
      this.forget(msgId);
      waiter.reject(new TransportError(`${cause.message}; the reply to message ${msgId} may be lost`, { cause }));
    }
  }

  private forget(msgId: string): void {
    const waiter = this.waiters.get(msgId);
    if (!waiter) return;
    clearTimeout(waiter.overall);
    clearTimeout(waiter.monitor);
    this.waiters.delete(msgId);
  }
}

function timeoutError(msgId: string, what: WaitDescription, windowMs: number, kind: string): MessagingTimeout {
  const where = what.server ? `${what.topic}.${what.server}` : what.topic;
  const seconds = windowMs / 1000;
  return new MessagingTimeout(
    `Timed out waiting for a reply to message ID ${msgId}: method "${what.method}" on ${where} got no reply within ${seconds}s (${kind})`,
    { topic: what.topic, server: what.server, method: what.method, timeoutSeconds: seconds, msgId },
  );
}
