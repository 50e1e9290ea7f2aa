/**
 * Building a server (Nova's `_build_and_run_instance`): networking (a call to the
 * network service), spawning (the driver), then active/running; block_device_mapping,
 * which this driver would only pass through, costs no commit of its own. Each step is a
 * CAS on task_state, so a delete that came in meanwhile wins. A failed
 * spawn frees what the attempt took (addresses, the claim) and goes back to the
 * scheduler, which tries another host or gives up after `scheduler_max_attempts`.
 */
import { markActiveSpanFailed } from '../telemetry/span-events.js';
import { isDbError, UnexpectedTaskStateError, type InstanceRow } from '../../db/index.js';
import { instanceAmounts } from '../../db/compute-nodes.js';
import type { RequestContext } from '../../rpc/index.js';
import { errorMessage } from '../context.js';
import type { FixedIpInfo } from '../network/contract.js';
import type { FilterProperties, RequestSpec } from '../build-request.js';
import { PowerState, TaskState, VmState } from '../states.js';
import type { BootInfo } from './fake-console.js';
import { deallocateNetwork, releaseResources, step, type ComputeHost } from './host.js';

/** The arguments of run_instance. */
export interface BuildRequest {
  instance_id: string;
  request_spec: RequestSpec;
  filter_properties: FilterProperties;
}

/** Builds one server placed on this host. Never throws: every outcome is a state. */
export async function buildInstance(compute: ComputeHost, ctx: RequestContext, request: BuildRequest): Promise<void> {
  const id = request.instance_id;
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id });
  let instance: InstanceRow;
  try {
    // Only a build still placed on this host: a stale run_instance (redelivered after
    // the build was taken over by another host) must not start a second build.
    instance = await compute.db.instances.update(ctx, id, { task_state: TaskState.NETWORKING }, { expectedTaskState: TaskState.SCHEDULING, expectedHost: compute.host });
    log.info({ vm_state: instance.vm_state, task_state: instance.task_state, power_state: instance.power_state }, 'state changed');
  } catch (error) {
    log.info({ reason: errorMessage(error) }, 'server no longer waits to be built here; dropped');
    return;
  }
  await compute.notifier.send(ctx, 'create.start', instance);
  let fixedIps: FixedIpInfo[] = [];
  try {
    log.info('calling network.allocate_for_instance');
    const [network, metadata] = await Promise.all([
      compute.network.allocate_for_instance(ctx, { instance_id: id, host: compute.host, project_id: instance.project_id }),
      request.request_spec.instance_properties?.metadata ?? compute.db.instanceMetadata.get(ctx, id),
    ]);
    fixedIps = network.fixed_ips;
    log.info({ fixed_ips: fixedIps.map((ip) => ip.address) }, 'network allocated');
    // block_device_mapping would only be passed through here (the fake driver has no
    // volumes to attach), so the build goes from networking to spawning in one commit.
    instance = await step(compute, ctx, instance, { task_state: TaskState.SPAWNING }, TaskState.NETWORKING);
    await compute.driver.spawn(id, instance.image_ref, metadata, bootInfo(instance, fixedIps));
    instance = await step(
      compute,
      ctx,
      instance,
      { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING, launched_at: new Date() },
      TaskState.SPAWNING,
    );
    log.info({ vm_state: instance.vm_state, fixed_ips: fixedIps.map((ip) => ip.address) }, 'server is ACTIVE; sent compute.instance.create.end');
    await compute.notifier.send(ctx, 'create.end', instance, { fixed_ips: fixedIps });
  } catch (error) {
    await handleBuildFailure(compute, ctx, request, instance, error);
  }
}

/** What the guest gets at boot: its hostname, addresses and the key pair it was booted with. */
export function bootInfo(instance: InstanceRow, fixedIps: ReadonlyArray<Pick<FixedIpInfo, 'address'>>): BootInfo {
  return { hostname: instance.hostname, keyName: instance.key_name, keyData: instance.key_data, addresses: fixedIps.map((ip) => ip.address) };
}

async function handleBuildFailure(
  compute: ComputeHost,
  ctx: RequestContext,
  request: BuildRequest,
  instance: InstanceRow,
  error: unknown,
): Promise<void> {
  const id = request.instance_id;
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id });
  await compute.driver.destroy(id);
  await deallocateNetwork(compute, ctx, id);
  if (error instanceof UnexpectedTaskStateError || isDbError(error, 'InstanceNotFound')) {
    // Deleted (or otherwise taken over) during the build: the delete frees the claim.
    log.info({ reason: errorMessage(error) }, 'build stopped: the server changed meanwhile');
    return;
  }
  const reason = errorMessage(error);
  log.warn({ reason }, `build failed: ${reason}; rescheduling`);
  markActiveSpanFailed('reschedule', reason, { 'nova.instance_id': id, 'nova.host': compute.host });
  await compute.notifier.send(ctx, 'create.error', instance, { message: reason });
  await releaseResources(compute, ctx, instanceAmounts(instance));
  try {
    await compute.db.instanceFaults.create(ctx, { instance_uuid: id, code: 500, message: reason, host: compute.host });
    await compute.db.instances.update(
      ctx,
      id,
      { host: null, task_state: TaskState.SCHEDULING },
      { expectedTaskState: [TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING] },
    );
    const retry = request.filter_properties.retry ?? { num_attempts: 1, hosts: [compute.host] };
    await compute.scheduler.run_instance(ctx, {
      instance_id: id,
      request_spec: request.request_spec,
      filter_properties: { ...request.filter_properties, retry: { ...retry, exc: reason } },
    });
    log.info({ attempts: retry.num_attempts, tried: retry.hosts }, 'build sent back to the scheduler');
  } catch (rescheduleError) {
    log.error({ err: rescheduleError }, 'could not reschedule the build');
  }
}
