/**
 * Where each stream consumer resumes (`rabbit_stream_fanout`, as oslo.messaging 14.7+):
 * at `last` on first attempt, after a reconnect at the offset after the last message it
 * saw (the `x-stream-offset` header), and at `last` again after a broker-side cancel
 * (the stream may have been deleted and its offsets reset).
 */
import type { ConsumeMessage } from 'amqplib';

/** Next offsets of the stream queues one consumer reads. */
export class StreamOffsets {
  private readonly next = new Map<string, number | 'last'>();

  constructor(private readonly streams: ReadonlySet<string>) {}

  /** True when `queue` is a stream. */
  isStream(queue: string): boolean {
    return this.streams.has(queue);
  }

  /** basic.consume arguments for a stream queue (oslo sends only the offset). */
  consumeArguments(queue: string): Record<string, unknown> {
    return { 'x-stream-offset': this.next.get(queue) ?? 'last' };
  }

  /** Notes the offset of a message received from a stream. */
  saw(queue: string, message: ConsumeMessage): void {
    const offset: unknown = message.properties.headers?.['x-stream-offset'];
    if (typeof offset === 'number' || typeof offset === 'bigint') this.next.set(queue, Number(offset) + 1);
  }

  /** After a broker-side cancel: start again from `last`. */
  reset(queue: string): void {
    this.next.delete(queue);
  }
}
