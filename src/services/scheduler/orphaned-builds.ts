/**
 * Builds orphaned by a dead compute host. A compute killed mid-build leaves its servers
 * in BUILDING with `host` set to it, and its unacknowledged run_instance casts wait in
 * `compute.<host>`, a queue nobody else reads. Nova would leave them until that host
 * restarts; here the scheduler takes them over once the host's service is down (no
 * heartbeat for service_down_time): a CAS on (task_state, host) moves each back to
 * scheduling without a host, the dead host's claim and addresses are given back, a fault
 * records why, and the build is scheduled again with the dead host excluded. A stale
 * cast the dead host later receives is dropped by the compute's own CAS on its host.
 */
import { isDbError, isServiceUp, type Db, type InstanceRow } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { ContractClient } from '../../rpc/contract.js';
import type { RequestContext } from '../../rpc/index.js';
import type { networkContract } from '../network/contract.js';
import { TaskState, VmState } from '../states.js';
import type { RequestSpec } from '../build-request.js';

/** What the takeover needs. */
export interface OrphanedBuildsDeps {
  db: Db;
  logger: Logger;
  serviceDownTime: number;
  network: ContractClient<typeof networkContract.methods>;
  /** Schedules the build again (the scheduler's own run_instance). */
  reschedule(ctx: RequestContext, instanceId: string, spec: RequestSpec, retry: { num_attempts: number; hosts: string[]; exc: string }): Promise<void>;
}

/**
 * Takes over the builds of compute hosts that are down. After a database outage (a
 * failed sweep) and at start-up it waits service_down_time before judging: every
 * heartbeat is stale then, and the live services need a report_interval to catch up.
 */
export class OrphanedBuildSweeper {
  private quietUntil: number;

  constructor(private readonly deps: OrphanedBuildsDeps) {
    this.quietUntil = Date.now() + deps.serviceDownTime * 1000;
  }

  /** One sweep; returns how many builds were taken over. */
  async sweep(ctx: RequestContext): Promise<number> {
    try {
      if (Date.now() < this.quietUntil) {
        await this.deps.db.services.list(ctx, {});
        return 0;
      }
      return await rescheduleOrphanedBuilds(this.deps, ctx);
    } catch (error) {
      if (isDbError(error, 'DbConnectionError')) this.quietUntil = Date.now() + this.deps.serviceDownTime * 1000;
      throw error;
    }
  }
}

/** Takes over the builds of compute hosts that are down; returns how many. */
export async function rescheduleOrphanedBuilds(deps: OrphanedBuildsDeps, ctx: RequestContext): Promise<number> {
  const services = await deps.db.services.list(ctx, { binary: 'nova-compute' });
  const now = new Date();
  const downHosts = services.filter((service) => !isServiceUp(service, now, deps.serviceDownTime)).map((service) => service.host);
  let taken = 0;
  for (const host of downHosts) {
    const building = await deps.db.instances.listByHost(ctx, host, { vm_state: VmState.BUILDING });
    for (const instance of building) {
      if (await takeOver(deps, ctx, host, instance)) taken++;
    }
  }
  return taken;
}

async function takeOver(deps: OrphanedBuildsDeps, ctx: RequestContext, host: string, instance: InstanceRow): Promise<boolean> {
  const log = deps.logger.child({ instance_id: instance.uuid, dead_host: host });
  const reason = `Compute host ${host} went down while building the server; rescheduled.`;
  try {
    await deps.db.instances.update(
      ctx,
      instance.uuid,
      { host: null, task_state: TaskState.SCHEDULING },
      { expectedTaskState: instance.task_state, expectedHost: host },
    );
  } catch (error) {
    if (isDbError(error, 'UnexpectedTaskState') || isDbError(error, 'InstanceNotFound')) return false;
    throw error;
  }
  await deps.db.computeNodes
    .release(ctx, host, { memory_mb: instance.memory_mb ?? 0, vcpus: instance.vcpus ?? 0, local_gb: (instance.root_gb ?? 0) + (instance.ephemeral_gb ?? 0) })
    .catch((error: unknown) => log.error({ err: error }, 'could not release the dead host\'s claim'));
  await deps.network
    .deallocate_for_instance(ctx, { instance_id: instance.uuid })
    .catch((error: unknown) => log.error({ err: error }, 'could not release the addresses of the orphaned build'));
  await deps.db.instanceFaults.create(ctx, { instance_uuid: instance.uuid, code: 500, message: reason, host }).catch(() => undefined);
  const flavor = await deps.db.flavors.get(ctx, instance.instance_type_id ?? 0).catch(() => undefined);
  const spec: RequestSpec = {
    instance_type: {
      id: instance.instance_type_id ?? 0,
      flavorid: flavor?.flavorid ?? String(instance.instance_type_id ?? ''),
      name: flavor?.name ?? '',
      memory_mb: instance.memory_mb ?? 0,
      vcpus: instance.vcpus ?? 0,
      root_gb: instance.root_gb ?? 0,
      ephemeral_gb: instance.ephemeral_gb ?? 0,
    },
    image_ref: instance.image_ref,
    availability_zone: instance.availability_zone,
    project_id: instance.project_id,
  };
  log.warn({ task_state: instance.task_state }, `build orphaned by ${host}; rescheduling`);
  await deps.reschedule(ctx, instance.uuid, spec, { num_attempts: 1, hosts: [host], exc: reason });
  return true;
}
