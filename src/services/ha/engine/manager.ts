/**
 * `novarpc ha-engine` (binary `masakari-engine`): serves the engine contract on
 * `[ha] topic`, and takes notifications by compare-and-swap in the database, so any
 * number of engines may run: a cast starts a workflow at once, and a periodic scan takes
 * what no engine holds (new ones whose cast was lost, errors to retry, and running ones
 * whose engine died and stopped renewing its lease).
 */
import type { Db, HaNotificationRow, HaNotificationStatus } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import { buildEndpoint, type ContractHandlers } from '../../../rpc/contract.js';
import { Notifier, RequestContext, type Endpoint, type Transport } from '../../../rpc/index.js';
import type { ServiceConfig } from '../../config.js';
import type { Manager, PeriodicTask } from '../../service.js';
import { OpenStackSession, sessionOptionsOf } from '../openstack-session.js';
import { haEngineContract } from './contract.js';
import { recoverHost } from './host-failure.js';
import { recoverInstance, recoverProcess, vmIgnoreReason } from './instance-and-process.js';
import { NovaClient } from './nova.js';
import { EngineNotifier } from './notifier.js';
import { HaLeaseLostError, WorkflowRun } from './run.js';

/** What the engine needs. */
export interface HaEngineManagerDeps {
  db: Db;
  transport: Transport;
  config: ServiceConfig;
  logger: Logger;
}

/** Seconds a new notification waits for its cast before the scan takes it. */
const NEW_GRACE_SECONDS = 2;

/** Runs recovery workflows. */
export class HaEngineManager implements Manager {
  readonly binary = 'masakari-engine';
  readonly topic: string;
  private readonly nova: NovaClient;
  private readonly notifier: EngineNotifier;
  private readonly engineId: string;
  private readonly running = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: HaEngineManagerDeps) {
    const { config, transport, logger } = deps;
    this.topic = config.ha.topic;
    this.engineId = `${config.host}:${process.pid}`;
    this.nova = new NovaClient(new OpenStackSession(sessionOptionsOf(config)));
    const notifier = new Notifier(transport, { publisherId: `masakari-engine:${config.host}`, topics: config.notificationTopics, driver: config.notificationDriver });
    this.notifier = new EngineNotifier(notifier, logger);
  }

  endpoints(): Endpoint[] {
    const onInvalid = (method: string, error: Error, ctx: RequestContext) =>
      this.deps.logger.warn({ request_id: ctx.requestId, method, reason: error.message }, 'invalid arguments');
    return [buildEndpoint(haEngineContract, this.handlers(), { onInvalid })];
  }

  private handlers(): ContractHandlers<typeof haEngineContract.methods> {
    return {
      process_notification: (_ctx, args) => {
        this.launch(args.notification.notification_uuid);
      },
      get_notification_recovery_workflow_details: async (ctx, args) => {
        const uuid = args.notification.notification_uuid;
        const notification = await this.deps.db.haNotifications.get(ctx, uuid);
        const steps = await this.deps.db.haWorkflows.listSteps(ctx, uuid);
        return {
          notification_uuid: uuid,
          status: notification.status,
          recovery_workflow_details: steps.map(({ name, state, progress, progress_details }) => ({ name, state, progress, progress_details })),
        };
      },
    };
  }

  periodicTasks(): PeriodicTask[] {
    const interval = Math.max(0.5, Math.min(this.deps.config.ha.engineLeaseTime / 2, 5));
    return [{ name: 'process_unfinished_notifications', intervalSeconds: interval, runImmediately: true, run: (ctx) => this.scan(ctx) }];
  }

  /** Waits for the workflows this engine runs (bounded by the service's graceful stop). */
  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** Takes every notification no engine holds. */
  async scan(ctx: RequestContext): Promise<void> {
    const uuids = await this.deps.db.haNotifications.listClaimable(ctx, NEW_GRACE_SECONDS);
    for (const uuid of uuids) this.launch(uuid);
  }

  /** Starts a notification's workflow in the background unless this engine runs it already. */
  private launch(uuid: string): void {
    if (this.running.has(uuid)) return;
    this.running.add(uuid);
    const work = this.process(uuid)
      .catch((error: unknown) => this.deps.logger.error({ err: error, notification_uuid: uuid }, 'workflow crashed'))
      .finally(() => {
        this.running.delete(uuid);
        this.inFlight.delete(work);
      });
    this.inFlight.add(work);
  }

  /** Claims the notification and runs its workflow to a final status. */
  async process(uuid: string): Promise<void> {
    const { db, config } = this.deps;
    const ctx = RequestContext.admin();
    if (!(await db.haNotifications.claim(ctx, uuid, this.engineId, config.ha.engineLeaseTime))) return;
    const notification = await db.haNotifications.get(ctx, uuid);
    const run = new WorkflowRun({ db, engine: this.engineId, leaseSeconds: config.ha.engineLeaseTime, logger: this.deps.logger, notifier: this.notifier }, notification);
    run.startLease();
    run.log.info({ attempt: notification.attempts }, 'recovery workflow started');
    await this.notifier.process(notification, 'start');
    let outcome: { status: HaNotificationStatus; message: string | null };
    try {
      outcome = await this.dispatch(run, notification);
    } catch (error) {
      if (error instanceof HaLeaseLostError) {
        run.log.warn('another engine took the workflow over; stopping here');
        run.end();
        return;
      }
      const last = notification.attempts >= config.ha.maxAttempts;
      outcome = { status: last ? 'failed' : 'error', message: (error as Error).message.slice(0, 2000) };
      run.log.warn({ err: error, status: outcome.status }, 'recovery workflow failed');
    }
    run.end();
    await db.haNotifications.finish(ctx, uuid, this.engineId, outcome.status, outcome.message);
    const final = await db.haNotifications.get(ctx, uuid);
    await this.notifier.process(final, outcome.status === 'error' || outcome.status === 'failed' ? 'error' : 'end');
    run.log.info({ status: outcome.status }, 'recovery workflow ended');
  }

  private async dispatch(run: WorkflowRun, notification: HaNotificationRow): Promise<{ status: HaNotificationStatus; message: string | null }> {
    const { payload } = notification;
    const event = String(payload.event ?? '').toUpperCase();
    if (notification.type === 'COMPUTE_HOST') {
      if (event !== 'STOPPED') return { status: 'ignored', message: `Event ${event} of host ${notification.hostname} needs no recovery.` };
      if (String(payload.host_status ?? 'NORMAL').toUpperCase() !== 'NORMAL') {
        return { status: 'ignored', message: `Host status ${String(payload.host_status)} is not NORMAL: the host's state is unknown, so it is not recovered.` };
      }
      const segment = notification.failover_segment_uuid ? await run.db.haSegments.get(run.context, notification.failover_segment_uuid) : undefined;
      await recoverHost({ nova: this.nova, config: this.deps.config.ha }, run, segment?.recovery_method ?? 'auto');
      return { status: 'finished', message: null };
    }
    if (notification.type === 'VM') {
      const reason = vmIgnoreReason(payload);
      if (reason) return { status: 'ignored', message: reason };
      await recoverInstance(this.nova, this.deps.config.ha, run);
      return { status: 'finished', message: null };
    }
    if (event !== 'STOPPED') return { status: 'finished', message: null };
    await recoverProcess(this.nova, run);
    return { status: 'finished', message: null };
  }
}
