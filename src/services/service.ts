/**
 * The service host (Nova's `nova.service.Service`): binds a manager to its topic
 * (`<topic>`, `<topic>.<host>` and the fanout queue, through one RpcServer), registers
 * the service in the `services` table, reports its state every `report_interval`
 * (report_count, updated_at; batched with the process's other services, see
 * heartbeats.ts), runs the manager's periodic tasks, and stops gracefully:
 * stop consuming, finish in-flight work within `graceful_shutdown_timeout`, stop timers.
 */
import type { Db, ServiceRow } from '../db/index.js';
import { redactUrlPasswords, type Logger } from '../log/logger.js';
import { RequestContext, RpcServer, SqlDuplicateStore, type Endpoint, type Transport } from '../rpc/index.js';
import type { ServiceConfig } from './config.js';
import { HeartbeatReporter } from './heartbeats.js';

/** A task a manager wants run every `intervalSeconds`. */
export interface PeriodicTask {
  name: string;
  intervalSeconds: number;
  /** Run once right after start-up too. */
  runImmediately?: boolean;
  run(context: RequestContext): Promise<void>;
}

/** What a service hosts: Nova's manager. */
export interface Manager {
  /** Binary name in the services table, e.g. `nova-compute`. */
  readonly binary: string;
  /** RPC topic, e.g. `compute`. */
  readonly topic: string;
  /** The RPC endpoints; none for a service that only serves HTTP. */
  endpoints(): Endpoint[];
  periodicTasks?(): PeriodicTask[];
  /** Runs before the service consumes (e.g. report the compute node). */
  init?(context: RequestContext): Promise<void>;
  /** Runs after consuming stopped and in-flight handlers finished. */
  cleanup?(): Promise<void>;
}

/** What a Service needs. */
export interface ServiceDeps {
  manager: Manager;
  config: ServiceConfig;
  transport: Transport;
  db: Db;
  logger: Logger;
  /** The process's batched heartbeats; default: one of the service's own. */
  heartbeats?: HeartbeatReporter;
}

/** One running service: RPC server, heartbeat and periodic tasks. */
export class Service {
  readonly manager: Manager;
  private readonly logger: Logger;
  private rpcServer: RpcServer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<Promise<void>>();
  private serviceRow: ServiceRow | undefined;
  private stopping = false;
  private readonly heartbeats: HeartbeatReporter;

  constructor(private readonly deps: ServiceDeps) {
    this.manager = deps.manager;
    this.logger = deps.logger;
    this.heartbeats = deps.heartbeats ?? new HeartbeatReporter({ db: deps.db, logger: deps.logger, intervalSeconds: deps.config.reportInterval });
  }

  /** The service's row as registered (heartbeats are not read back). */
  get row(): ServiceRow | undefined {
    return this.serviceRow;
  }

  /** Runs the manager's init, registers the service, starts consuming, heartbeats and periodic tasks. */
  async start(): Promise<void> {
    const { config, manager } = this.deps;
    const context = RequestContext.admin();
    await manager.init?.(context);
    this.serviceRow = await this.register(context);
    const endpoints = manager.endpoints();
    if (endpoints.length > 0) {
      this.rpcServer = new RpcServer(this.deps.transport, { topic: manager.topic, server: config.host }, endpoints, {
        logger: this.logger,
        drainTimeout: config.gracefulShutdownTimeout,
        maxConcurrency: config.executorPoolSize,
        duplicateStore: config.rpcDuplicateStore === 'database' ? new SqlDuplicateStore(this.deps.db.knex, { retentionSeconds: config.rpcDuplicateRetention, logger: this.logger }) : undefined,
      });
      await this.rpcServer.start();
    }
    await this.heartbeats.join(this.serviceRow.id);
    for (const task of manager.periodicTasks?.() ?? []) {
      if (task.runImmediately) this.runTask(task);
      this.every(task.intervalSeconds, () => this.runTask(task));
    }
    this.logger.info({ binary: manager.binary, topic: manager.topic, host: config.host }, 'service started');
  }

  /** Stops consuming, waits for in-flight handlers and tasks (bounded), stops timers. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.serviceRow) this.heartbeats.leave(this.serviceRow.id);
    await this.rpcServer?.stop();
    const bound = this.deps.config.gracefulShutdownTimeout * 1000;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => setTimeout(resolve, bound).unref())]);
    await this.deps.manager.cleanup?.();
    this.logger.info({ binary: this.manager.binary }, 'service stopped');
  }

  /** Finds or creates the service row; retries while the database is unreachable or not migrated yet. */
  private async register(context: RequestContext): Promise<ServiceRow> {
    const { db, config, manager } = this.deps;
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = await db.services.list(context, { host: config.host, binary: manager.binary });
        if (existing[0]) return existing[0];
        return await db.services.create(context, {
          host: config.host,
          binary: manager.binary,
          topic: manager.topic,
          availability_zone: config.availabilityZone,
        });
      } catch (error) {
        if (attempt >= 30 || this.stopping) throw error;
        const reason = redactUrlPasswords(error instanceof Error ? error.message : String(error)).split('\n')[0]!;
        const hint = /no such table|doesn't exist/i.test(reason) ? ' (no schema yet: run novarpc db-sync, or set [database] auto_migrate = true)' : '';
        this.logger.warn({ reason, attempt }, `could not register the service${hint}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * attempt, 5000)));
      }
    }
  }

  private every(seconds: number, fn: () => unknown): void {
    const timer = setInterval(fn, Math.max(seconds, 0.05) * 1000);
    timer.unref();
    this.timers.push(timer);
  }

  private runTask(task: PeriodicTask): void {
    if (this.stopping) return;
    const run = task
      .run(RequestContext.admin())
      .catch((error: unknown) => this.logger.warn({ err: error, task: task.name }, 'periodic task failed'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }
}
