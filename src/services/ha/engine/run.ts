/**
 * One engine's run of one notification's workflow: its steps recorded in the database
 * (so `recovery_workflow_details` and a resuming engine see them), its lease renewed
 * while it runs, and a versioned notification on the bus for each step. Losing the
 * lease (another engine took over) aborts the run at the next step boundary.
 */
import type { Db, HaNotificationRow, HaStepState } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import { RequestContext } from '../../../rpc/index.js';
import type { EngineNotifier } from './notifier.js';

/** The run lost its claim; `code` is stable. */
export class HaLeaseLostError extends Error {
  readonly code = 'HaLeaseLost';
  constructor(uuid: string) {
    super(`notification ${uuid} was taken over by another engine`);
    this.name = 'HaLeaseLostError';
  }
}

/** What a run needs. */
export interface RunDeps {
  db: Db;
  engine: string;
  leaseSeconds: number;
  logger: Logger;
  notifier: EngineNotifier;
}

/** A running workflow. */
export class WorkflowRun {
  readonly context = RequestContext.admin();
  private position = 0;
  private renewal: NodeJS.Timeout | undefined;
  private lost = false;
  readonly log: Logger;

  constructor(
    private readonly deps: RunDeps,
    readonly notification: HaNotificationRow,
  ) {
    this.log = deps.logger.child({ notification_uuid: notification.notification_uuid, type: notification.type });
  }

  /** The database. */
  get db(): Db {
    return this.deps.db;
  }

  get uuid(): string {
    return this.notification.notification_uuid;
  }

  /** Renews the lease every third of its length until {@link end}. */
  startLease(): void {
    const every = Math.max(this.deps.leaseSeconds / 3, 0.2) * 1000;
    this.renewal = setInterval(() => {
      this.deps.db.haNotifications
        .renewLease(this.context, this.uuid, this.deps.engine, this.deps.leaseSeconds)
        .then((held) => {
          if (!held) this.lost = true;
        })
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not renew the lease; will retry'));
    }, every);
    this.renewal.unref();
  }

  /** Stops renewing. */
  end(): void {
    if (this.renewal) clearInterval(this.renewal);
  }

  /** Throws when another engine took the workflow over. */
  checkLease(): void {
    if (this.lost) throw new HaLeaseLostError(this.uuid);
  }

  /**
   * Runs one named step: RUNNING with a start line, then SUCCESS (or FAILURE with the
   * error) with an end line. A step that already succeeded in an earlier run is skipped.
   */
  async step<T>(name: string, start: string, fn: (progress: (message: string, fraction: number) => Promise<void>) => Promise<T>, skipIfDone?: () => T): Promise<T> {
    this.checkLease();
    const position = this.position++;
    const done = (await this.deps.db.haWorkflows.listSteps(this.context, this.uuid)).find((step) => step.name === name && step.state === 'SUCCESS');
    if (done && skipIfDone) return skipIfDone();
    const record = (state: HaStepState, progress: number, message?: string) =>
      this.deps.db.haWorkflows.recordStep(this.context, this.uuid, { name, position, state, progress, ...(message ? { message } : {}) });
    await record('RUNNING', 0, start);
    await this.deps.notifier.step(this, name, 'start');
    try {
      const result = await fn(async (message, fraction) => {
        this.checkLease();
        await record('RUNNING', fraction, message);
      });
      await record('SUCCESS', 1, `${name} finished`);
      await this.deps.notifier.step(this, name, 'end');
      return result;
    } catch (error) {
      await record('FAILURE', 1, `${name} failed: ${(error as Error).message}`).catch(() => undefined);
      await this.deps.notifier.step(this, name, 'error', error as Error);
      throw error;
    }
  }
}
