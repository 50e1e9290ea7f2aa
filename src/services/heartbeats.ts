/**
 * The heartbeats of a process's services (Nova's report_state), batched: every
 * `report_interval` one UPDATE records a heartbeat for every service the process runs
 * (report_count + 1, updated_at and last_seen_up set to now). A process hosting 250
 * compute hosts therefore writes one statement per interval instead of 250 UPDATEs
 * and 250 reads back. A database outage is logged, never fatal; the next tick retries.
 */
import type { Db } from '../db/index.js';
import type { Logger } from '../log/logger.js';
import { RequestContext } from '../rpc/index.js';

/** What a {@link HeartbeatReporter} needs. */
export interface HeartbeatReporterDeps {
  db: Db;
  logger: Logger;
  /** Seconds between heartbeats (`report_interval`). */
  intervalSeconds: number;
}

/** One timer and one statement per interval for the services of a process. */
export class HeartbeatReporter {
  private readonly ids = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private soon: Promise<void> | undefined;
  private writes = 0;

  constructor(private readonly deps: HeartbeatReporterDeps) {}

  /** Heartbeat statements written so far (one per tick, whatever the number of services). */
  get statements(): number {
    return this.writes;
  }

  /** The services reporting through this reporter. */
  get size(): number {
    return this.ids.size;
  }

  /**
   * Adds a service and records its first heartbeat; services joining in the same tick
   * share that statement. Resolves once it is written (or its failure logged).
   */
  join(serviceId: number): Promise<void> {
    this.ids.add(serviceId);
    if (!this.timer) {
      this.timer = setInterval(() => void this.beat(), Math.max(this.deps.intervalSeconds, 0.05) * 1000);
      this.timer.unref();
    }
    this.soon ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.soon = undefined;
        void this.beat().then(resolve);
      }),
    );
    return this.soon;
  }

  /** Removes a service (it stopped); the timer stops with the last one. */
  leave(serviceId: number): void {
    this.ids.delete(serviceId);
    if (this.ids.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Records one heartbeat for every service now; failures are logged. */
  async beat(): Promise<void> {
    if (this.ids.size === 0) return;
    const ids = [...this.ids];
    try {
      this.writes += 1;
      await this.deps.db.services.heartbeatMany(RequestContext.admin(), ids);
    } catch (error) {
      this.deps.logger.warn({ err: error, services: ids.length }, 'could not report service state; will retry');
    }
  }
}
