/**
 * What every compute operation works with: the database, the driver, the other
 * services' clients, the notifier, and a few helpers (CAS state steps, resource
 * release) shared by the build, lifecycle and resize modules.
 */
import type { Db, InstanceChanges, InstanceRow, ResourceAmounts } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { ContractClient } from '../../rpc/contract.js';
import type { RequestContext } from '../../rpc/index.js';
import type { ServiceConfig } from '../config.js';
import type { computeContract } from './contract.js';
import type { networkContract } from '../network/contract.js';
import type { schedulerContract } from '../scheduler/contract.js';
import type { FakeDriver } from './fake-driver.js';
import type { InstanceNotifier } from './notifications.js';

/** The shared state of one compute host. */
export interface ComputeHost {
  host: string;
  db: Db;
  driver: FakeDriver;
  network: ContractClient<typeof networkContract.methods>;
  /** The compute services of other hosts (live migration asks the destination to take over). */
  computes: ContractClient<typeof computeContract.methods>;
  scheduler: ContractClient<typeof schedulerContract.methods>;
  notifier: InstanceNotifier;
  config: ServiceConfig;
  logger: Logger;
}

/**
 * One state step: a compare-and-swap of task_state (the update only happens when the
 * server is still in `expected`), logged with the request_id so a server's journey can
 * be followed across services. Given the row the caller holds (a build walking its
 * states), the step does not read the row back.
 */
export async function step(
  compute: ComputeHost,
  ctx: RequestContext,
  instance: string | InstanceRow,
  changes: InstanceChanges,
  expected: string | null | ReadonlyArray<string | null>,
): Promise<InstanceRow> {
  const options = { expectedTaskState: expected };
  const row =
    typeof instance === 'string'
      ? await compute.db.instances.update(ctx, instance, changes, options)
      : await compute.db.instances.transition(ctx, instance, changes, options);
  compute.logger.info(
    { request_id: ctx.requestId, instance_id: row.uuid, vm_state: row.vm_state, task_state: row.task_state, power_state: row.power_state },
    'state changed',
  );
  return row;
}

/** Gives an instance's resources back to this host's compute node; failures are logged. */
export async function releaseResources(compute: ComputeHost, ctx: RequestContext, amounts: ResourceAmounts): Promise<void> {
  try {
    await compute.db.computeNodes.release(ctx, compute.host, amounts);
  } catch (error) {
    compute.logger.error({ err: error, request_id: ctx.requestId, amounts }, 'could not release resources');
  }
}

/** Casts deallocate_for_instance; a failure to send is logged. */
export async function deallocateNetwork(compute: ComputeHost, ctx: RequestContext, instanceId: string): Promise<void> {
  try {
    await compute.network.deallocate_for_instance(ctx, { instance_id: instanceId });
  } catch (error) {
    compute.logger.error({ err: error, request_id: ctx.requestId, instance_id: instanceId }, 'could not ask the network service to release addresses');
  }
}
