/**
 * The compute manager: serves `compute` / `compute.<host>` with the compute contract,
 * reports the host's capacity to compute_nodes (and to the schedulers, by fanout), and
 * puts builds stuck longer than `instance_build_timeout` in ERROR.
 */
import { isDbError, type Db } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import { buildEndpoint, createContractClient, type ContractHandlers } from '../../rpc/contract.js';
import { Notifier, type Endpoint, type RequestContext, type Transport } from '../../rpc/index.js';
import type { ServiceConfig } from '../config.js';
import { elevated } from '../context.js';
import { failInstance } from '../instance-errors.js';
import { networkContract } from '../network/contract.js';
import { schedulerContract } from '../scheduler/contract.js';
import type { Manager, PeriodicTask } from '../service.js';
import { VmState } from '../states.js';
import { buildInstance } from './build.js';
import { computeContract } from './contract.js';
import { evacuateInstance } from './evacuate.js';
import { adoptMigrated, liveMigrate } from './live-migration.js';
import { FakeDriver } from './fake-driver.js';
import { buildTracker } from '../telemetry/cloud-metrics.js';
import type { ComputeHost } from './host.js';
import {
  rebootInstance,
  rebuildInstance,
  setAdminPassword,
  snapshotInstance,
  startInstance,
  stopInstance,
  terminateInstance,
} from './lifecycle.js';
import { InstanceNotifier } from './notifications.js';
import { confirmResize, resizeInstance, revertResize } from './resize.js';

/** What the compute manager needs. */
export interface ComputeManagerDeps {
  db: Db;
  transport: Transport;
  /** Where notifications go (`[oslo_messaging_notifications] transport_url`); default `transport`. */
  notificationTransport?: Transport;
  config: ServiceConfig;
  logger: Logger;
}

/** Runs servers on one host with the fake driver. */
export class ComputeManager implements Manager {
  readonly binary = 'nova-compute';
  readonly topic: string;
  readonly driver: FakeDriver;
  private readonly compute: ComputeHost;
  private readonly trackBuild: ReturnType<typeof buildTracker>;

  constructor(private readonly deps: ComputeManagerDeps) {
    const { config, transport, logger } = deps;
    this.trackBuild = buildTracker(transport, config.host);
    this.topic = config.topics.compute;
    this.driver = new FakeDriver(config.fakeDriver, config.host);
    const notifier = new Notifier(deps.notificationTransport ?? transport, {
      publisherId: `compute.${config.host}`,
      topics: config.notificationTopics,
      driver: config.notificationDriver,
    });
    this.compute = {
      host: config.host,
      db: deps.db,
      driver: this.driver,
      network: createContractClient(networkContract, transport, { topic: config.topics.network }),
      computes: createContractClient(computeContract, transport, { topic: config.topics.compute }),
      scheduler: createContractClient(schedulerContract, transport, { topic: config.topics.scheduler }),
      notifier: new InstanceNotifier(notifier, logger),
      config,
      logger,
    };
  }

  endpoints(): Endpoint[] {
    const onInvalid = (method: string, error: Error, ctx: RequestContext) =>
      this.deps.logger.warn({ request_id: ctx.requestId, method, reason: error.message }, 'invalid arguments');
    return [buildEndpoint(computeContract, this.handlers(), { onInvalid })];
  }

  private handlers(): ContractHandlers<typeof computeContract.methods> {
    const c = this.compute;
    return {
      run_instance: (ctx, args) => this.trackBuild(() => buildInstance(c, elevated(ctx), args)),
      terminate_instance: (ctx, args) => terminateInstance(c, elevated(ctx), args.instance_id),
      reboot_instance: (ctx, args) => rebootInstance(c, elevated(ctx), args.instance_id, args.reboot_type),
      stop_instance: (ctx, args) => stopInstance(c, elevated(ctx), args.instance_id),
      start_instance: (ctx, args) => startInstance(c, elevated(ctx), args.instance_id),
      rebuild_instance: (ctx, args) => rebuildInstance(c, elevated(ctx), args.instance_id, args.image_ref, args.admin_password),
      resize_instance: (ctx, args) => resizeInstance(c, elevated(ctx), args.instance_id, args.instance_type_id),
      confirm_resize: (ctx, args) => confirmResize(c, elevated(ctx), args.instance_id),
      revert_resize: (ctx, args) => revertResize(c, elevated(ctx), args.instance_id),
      snapshot_instance: (ctx, args) => snapshotInstance(c, elevated(ctx), args.instance_id, args.image_id),
      set_admin_password: (ctx, args) => setAdminPassword(c, elevated(ctx), args.instance_id, args.new_pass),
      get_console_output: async (_ctx, args) => ({ output: this.driver.consoleOutput(args.instance_id, args.tail_length) }),
      get_diagnostics: async (_ctx, args) => ({ diagnostics: this.driver.diagnostics(args.instance_id) ?? null }),
      evacuate_instance: (ctx, args) => evacuateInstance(c, elevated(ctx), args),
      live_migration: (ctx, args) => liveMigrate(c, elevated(ctx), args.instance_id, args.dest),
      post_live_migration_at_destination: (ctx, args) => adoptMigrated(c, elevated(ctx), args.instance_id, args.console),
    };
  }

  /** Reports the host's capacity before the service starts consuming. */
  async init(context: RequestContext): Promise<void> {
    await this.destroyEvacuatedInstances(context);
    await this.updateAvailableResource(context);
  }

  /**
   * Destroys the guests this hypervisor still holds for servers that now belong to
   * another host (evacuated while this host was down) or no longer exist, as Nova's
   * compute does on start: a host that comes back never resurrects what it lost.
   */
  async destroyEvacuatedInstances(context: RequestContext): Promise<string[]> {
    const destroyed: string[] = [];
    for (const uuid of this.driver.uuids()) {
      const instance = await this.deps.db.instances.get(elevated(context), uuid).catch((error: unknown) => {
        if (isDbError(error, 'InstanceNotFound')) return undefined;
        throw error;
      });
      if (instance && instance.host === this.compute.host) continue;
      await this.driver.destroy(uuid);
      destroyed.push(uuid);
      this.deps.logger.info({ instance_id: uuid, instance_host: instance?.host ?? null }, 'destroyed a guest that belongs to another host now (evacuated)');
    }
    return destroyed;
  }

  periodicTasks(): PeriodicTask[] {
    const { periodicInterval, instanceBuildTimeout } = this.deps.config;
    const tasks: PeriodicTask[] = [
      { name: 'update_available_resource', intervalSeconds: periodicInterval, run: (ctx) => this.updateAvailableResource(ctx, true) },
      { name: 'destroy_evacuated_instances', intervalSeconds: periodicInterval, run: async (ctx) => void (await this.destroyEvacuatedInstances(ctx)) },
    ];
    if (instanceBuildTimeout > 0) {
      tasks.push({ name: 'check_instance_build_time', intervalSeconds: Math.min(periodicInterval, instanceBuildTimeout), run: (ctx) => this.checkBuildTime(ctx) });
    }
    return tasks;
  }

  /** Writes the hypervisor's capacity to compute_nodes; optionally tells the schedulers. */
  async updateAvailableResource(context: RequestContext, announce = false): Promise<void> {
    const capacity = this.driver.capacity();
    const node = await this.deps.db.computeNodes.upsert(context, { host: this.compute.host, ...capacity });
    if (!announce) return;
    await this.compute.scheduler.update_service_capabilities(context, {
      service_name: 'compute',
      host: this.compute.host,
      capabilities: {
        ...capacity,
        free_ram_mb: node.memory_mb - node.memory_mb_used,
        free_disk_gb: node.local_gb - node.local_gb_used,
        running_vms: node.running_vms,
      },
    });
  }

  /** Puts servers building on this host for longer than instance_build_timeout in ERROR. */
  async checkBuildTime(context: RequestContext): Promise<void> {
    const timeoutMs = this.deps.config.instanceBuildTimeout * 1000;
    const building = await this.deps.db.instances.listByHost(context, this.compute.host, { vm_state: VmState.BUILDING });
    const now = Date.now();
    for (const instance of building) {
      if (now - instance.created_at.getTime() < timeoutMs) continue;
      const log = this.deps.logger.child({ instance_id: instance.uuid });
      await failInstance(this.deps.db, context, instance.uuid, 'Instance build timed out. Set to error state.', this.compute.host, log);
    }
  }
}
