/**
 * Acknowledgements of one consumer channel, sent in batches: an ack is queued and
 * flushed in the event loop's check phase (setImmediate), after every delivery of the
 * socket read was dispatched and its replies written, and just when amqplib flushes
 * its frame buffers anyway, so an ack never holds up a reply. Queued acks below the
 * lowest delivery tag still unsettled are covered by one `basic.ack(multiple)` on the
 * highest of them; queued
 * acks above it go out one by one, so no ack ever waits for another message. On a
 * quorum queue every settlement is a log entry, so fewer ack frames means less work
 * for the broker.
 */
import type { Channel } from 'amqplib';

/** Delivery-tag bookkeeping and batched acks for one channel. */
export class AckBatcher {
  /** Tags delivered and not yet settled, in delivery (increasing) order; settled ones are skipped lazily. */
  private readonly unsettled: number[] = [];
  private head = 0;
  private readonly settled = new Set<number>();
  private queued: number[] = [];
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  /** Records a delivery (tags grow on a channel). */
  delivered(tag: number): void {
    this.unsettled.push(tag);
  }

  /** Queues an ack for `tag`; it is sent in this turn of the event loop's check phase. */
  ack(tag: number): void {
    this.settled.add(tag);
    this.queued.push(tag);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushQueued);
    }
  }

  /** Requeues `tag` now (after sending the acks queued so far). */
  requeue(tag: number): void {
    this.flush();
    this.settled.add(tag);
    this.send(() => this.channel.nack({ fields: { deliveryTag: tag } } as never, false, true));
  }

  private readonly flushQueued = (): void => this.flush();

  /** Sends every queued ack. */
  flush(): void {
    this.scheduled = false;
    if (this.queued.length === 0) return;
    const queued = this.queued;
    this.queued = [];
    const lowestUnsettled = this.lowestUnsettled();
    let cover = -1;
    let covered = 0;
    for (const tag of queued) {
      if (lowestUnsettled !== undefined && tag > lowestUnsettled) {
        this.send(() => this.channel.ack({ fields: { deliveryTag: tag } } as never, false));
      } else {
        covered += 1;
        if (tag > cover) cover = tag;
      }
    }
    // Every tag at or below `cover` is settled by us: one multiple ack settles them all.
    if (covered > 0) this.send(() => this.channel.ack({ fields: { deliveryTag: cover } } as never, covered > 1));
  }

  /**
   * A channel that closed meanwhile refuses frames; its unacknowledged messages go back
   * to the queue by themselves (and duplicates are dropped by `_unique_id`).
   */
  private send(frame: () => void): void {
    try {
      frame();
    } catch {
      // channel closed: nothing to settle any more
    }
  }

  private lowestUnsettled(): number | undefined {
    while (this.head < this.unsettled.length && this.settled.has(this.unsettled[this.head]!)) {
      this.settled.delete(this.unsettled[this.head]!);
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.unsettled.length) {
      this.unsettled.splice(0, this.head);
      this.head = 0;
    }
    return this.head < this.unsettled.length ? this.unsettled[this.head] : undefined;
  }
}
