/**
 * Runs deliveries with at most `limit` at once. Deliveries beyond the limit wait in
 * a backlog (bounded by the consumer's prefetch) and are requeued, not run, when the
 * runner stops. `idle()` waits for running work and tracked side work (replies).
 */
import type { Logger } from '../../log/logger.js';
import type { Delivery } from '../drivers/driver.js';

/** Bounded-concurrency executor for deliveries. */
export class DeliveryRunner {
  private active = 0;
  private readonly backlog: Delivery[] = [];
  private readonly sideWork = new Set<Promise<unknown>>();
  private readonly idleWaiters = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly limit: number,
    private readonly process: (delivery: Delivery) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Handlers running now. */
  get running(): number {
    return this.active;
  }

  /** Runs the delivery now, or queues it when `limit` are running. After stop: requeues it. */
  push(delivery: Delivery): void {
    if (this.stopped) return delivery.requeue();
    if (this.active >= this.limit) {
      this.backlog.push(delivery);
      return;
    }
    this.run(delivery);
  }

  /** Keeps `idle()` waiting until `work` settles (e.g. a reply still being sent). */
  track(work: Promise<unknown>): void {
    this.sideWork.add(work);
    const settled = () => {
      this.sideWork.delete(work);
      this.notifyIfIdle();
    };
    work.then(settled, settled);
  }

  /** Takes no new work; requeues the backlog. Running work goes on. */
  stop(): number {
    this.stopped = true;
    const waiting = this.backlog.splice(0);
    for (const delivery of waiting) delivery.requeue();
    return waiting.length;
  }

  /** Resolves true when nothing runs any more, or false when `timeoutMs` passed first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(onIdle);
        resolve(result);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(onIdle);
    });
  }

  private run(delivery: Delivery): void {
    this.active += 1;
    this.process(delivery).then(this.finished, this.failed);
  }

  private readonly finished = (): void => {
    this.active -= 1;
    const next = this.stopped ? undefined : this.backlog.shift();
    if (next) this.run(next);
    else this.notifyIfIdle();
  };

  private readonly failed = (error: unknown): void => {
    this.logger.error({ err: error }, 'delivery processing failed unexpectedly');
    this.finished();
  };

  private isIdle(): boolean {
    return this.active === 0 && this.sideWork.size === 0;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    for (const waiter of [...this.idleWaiters]) waiter();
  }
}
