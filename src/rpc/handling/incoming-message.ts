/**
 * One message a server took from the bus, decoded, with everything that can be done
 * to it: acknowledge it, put it back, dead-letter it, reply to it (a call), send a
 * call-monitor heartbeat. oslo's `IncomingMessage`, plus the dead-letter queue.
 *
 * A message is settled once: a second ack, requeue or dead-letter is ignored, so a
 * policy that settles early (calls are acknowledged when dispatch begins) cannot
 * settle twice by mistake.
 */
import type { Logger } from '../../log/logger.js';
import type { Delivery, MessageHeaders } from '../drivers/driver.js';
import type { ReplySender, CallOutcome } from '../reply-sender.js';
import type { DeadLetterReason, RpcMetrics } from '../telemetry/metrics.js';

/** Counters, for tests, metrics and the operator. */
export interface ServerStats {
  /** Handlers that returned (or resolved). */
  handled: number;
  /** Handlers that threw (or rejected). */
  failed: number;
  /** Messages dropped as duplicates of one seen among the last `duplicateWindow`. */
  duplicates: number;
  /** Messages moved to the dead-letter queue. */
  deadLettered: number;
}

/** What every message of one server shares (its server's reply sender, counters, logger). */
export interface MessageServices {
  readonly replies: ReplySender;
  readonly stats: ServerStats;
  readonly logger: Logger;
  readonly metrics: RpcMetrics | undefined;
  /** Keeps a server's stop() waiting until `work` (a reply) settles. */
  track(work: Promise<unknown>): void;
  /** Forgets a message id in the duplicate store (a message requeued on purpose runs again). */
  forget(uniqueId: string): void;
  /** The handler of the message with this id settled: later copies are duplicates. */
  settle(uniqueId: string): void;
}

/** Where a call's replies go. */
export interface ReplyAddress {
  replyQueue: string;
  msgId: string;
}

/** A decoded message and its settlement. `T` is the decoded content (a request, a notification). */
export class IncomingMessage<T> {
  private settled = false;
  private finishedHandling = false;

  constructor(
    /** The delivery as the driver handed it over. */
    readonly delivery: Delivery,
    /** The decoded content. */
    readonly content: T,
    /** `_unique_id`, when the message has one. */
    readonly uniqueId: string | null,
    /** This delivery's number: 1 for the first, 2 for the first redelivery, … */
    readonly attempt: number,
    /** The reply address of a call; undefined for a cast or a notification. */
    readonly replyTo: ReplyAddress | undefined,
    private readonly services: MessageServices,
  ) {}

  /** Message headers (W3C trace context), if any. */
  get headers(): Readonly<Record<string, unknown>> | undefined {
    return this.delivery.headers;
  }

  /** Removes it from its queue. */
  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.delivery.ack();
  }

  /** Puts it back on its queue, to run again (its id leaves the duplicate window). */
  requeue(): void {
    if (this.settled) return;
    this.settled = true;
    this.finishedHandling = true;
    if (this.uniqueId) this.services.forget(this.uniqueId);
    this.delivery.requeue();
  }

  /**
   * Its handler settled: the duplicate store marks the id done (a shared store then
   * drops copies on other servers). Called before a cast is acknowledged; once.
   */
  finished(): void {
    if (this.finishedHandling) return;
    this.finishedHandling = true;
    if (this.uniqueId) this.services.settle(this.uniqueId);
  }

  /** Moves it to the dead-letter queue with `reason`; counted, logged, and in the metrics as `kind`. */
  async deadLetter(reason: string, kind: DeadLetterReason): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await deadLetterDelivery(this.delivery, reason, kind, this.services);
  }

  /** Sends a call's final reply (no-op for a cast); the server's stop() waits for it. */
  reply(outcome: CallOutcome, headers?: MessageHeaders): void {
    if (this.replyTo === undefined) return;
    this.services.track(this.services.replies.sendFinal(this.replyTo.replyQueue, this.replyTo.msgId, outcome, headers));
  }

  /** Sends a call-monitor heartbeat (`ending: false`); no-op for a cast. */
  heartbeat(): void {
    if (this.replyTo === undefined) return;
    this.services.track(this.services.replies.sendHeartbeat(this.replyTo.replyQueue, this.replyTo.msgId));
  }
}

/** Dead-letters a delivery (also one that never decoded into a message): counted, logged, measured. */
export async function deadLetterDelivery(delivery: Delivery, reason: string, kind: DeadLetterReason, services: MessageServices): Promise<void> {
  services.stats.deadLettered += 1;
  services.metrics?.deadLettered(kind);
  services.logger.warn({ queue: delivery.queue, reason }, 'message moved to the dead-letter queue');
  await delivery.deadLetter(reason);
}
