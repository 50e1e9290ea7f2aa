/**
 * Sends call replies as oslo does (docs/wire-format.md §4.2): to the default exchange with
 * the caller's `_reply_q` as routing key, mandatory. A missing reply queue is retried every
 * 0.25 s for `kombu_missing_consumer_retry_timeout`, then remembered as gone for 60 s (at
 * most 200 queues) so later replies to it are dropped at once.
 */
import type { Logger } from '../log/logger.js';
import type { Driver, MessageHeaders } from './drivers/driver.js';
import { MessageUndeliverable, SerializationError, PayloadTooLarge } from './errors.js';
import { toWireFailure } from './wire/failure.js';
import { encodeReply } from './wire/envelope.js';
import { sleep } from './util/time.js';
import { UuidSource } from './util/uuid-source.js';

const RETRY_INTERVAL_MS = 250;
const GONE_FOR_MS = 60_000;
const GONE_CAPACITY = 200;

/** The outcome of a call: a result or a thrown value. */
export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/** Reply publisher with oslo's retry rules. */
export class ReplySender {
  private readonly gone = new Map<string, number>();

  constructor(
    private readonly driver: Driver,
    private readonly options: { missingConsumerRetrySeconds: number; maxMessageBytes: number; sendTracebacks: boolean },
    private readonly logger: Logger,
    private readonly ids: UuidSource = new UuidSource(),
  ) {}

  /** Sends the final reply. Never throws: failures are logged. */
  async sendFinal(replyQueue: string, msgId: string, outcome: CallOutcome, headers?: MessageHeaders): Promise<void> {
    const body = this.encodeFinal(msgId, outcome);
    await this.send(replyQueue, msgId, body, true, headers);
  }

  /** Sends a call-monitor heartbeat (`ending: false`, null result). Never throws. */
  async sendHeartbeat(replyQueue: string, msgId: string): Promise<void> {
    const body = encodeReply(msgId, { ending: false }, this.options.maxMessageBytes, this.ids.next());
    await this.send(replyQueue, msgId, body, false);
  }

  private encodeFinal(msgId: string, outcome: CallOutcome): Buffer {
    const max = this.options.maxMessageBytes;
    const failure = (error: unknown) => JSON.stringify(toWireFailure(error, this.options.sendTracebacks));
    if (!outcome.ok) return encodeReply(msgId, { failure: failure(outcome.error), ending: true }, max, this.ids.next());
    try {
      return encodeReply(msgId, { result: outcome.result, ending: true }, max, this.ids.next());
    } catch (error) {
      if (!(error instanceof SerializationError || error instanceof PayloadTooLarge)) throw error;
      this.logger.warn({ err: error, msgId }, 'the result cannot be sent; replying with the error instead');
      return encodeReply(msgId, { failure: failure(error), ending: true }, max, this.ids.next());
    }
  }

  private async send(replyQueue: string, msgId: string, body: Buffer, retry = true, headers?: MessageHeaders): Promise<void> {
    if (this.isGone(replyQueue)) {
      this.logger.info({ replyQueue, msgId }, 'reply queue is gone; reply dropped');
      return;
    }
    const deadline = Date.now() + this.options.missingConsumerRetrySeconds * 1000;
    for (;;) {
      try {
        await this.driver.publishReply(replyQueue, body, headers);
        return;
      } catch (error) {
        if (error instanceof MessageUndeliverable && retry && Date.now() < deadline) {
          await sleep(RETRY_INTERVAL_MS);
          continue;
        }
        if (error instanceof MessageUndeliverable) this.markGone(replyQueue);
        this.logger.warn({ err: error, replyQueue, msgId }, 'reply could not be delivered; dropped');
        return;
      }
    }
  }

  private isGone(queue: string): boolean {
    const until = this.gone.get(queue);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.gone.delete(queue);
    return false;
  }

  private markGone(queue: string): void {
    this.gone.delete(queue);
    this.gone.set(queue, Date.now() + GONE_FOR_MS);
    if (this.gone.size > GONE_CAPACITY) this.gone.delete(this.gone.keys().next().value as string);
  }
}
