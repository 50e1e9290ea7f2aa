/**
 * Evacuation, on the destination host (Nova's `rebuild_instance` with `recreate`): the
 * server's host is down, so this host claims its resources, takes it over (a CAS on its
 * task_state and host), moves its addresses here, gives the dead host's claim back, and
 * spawns it again from its image with the same id, addresses, metadata and key.
 */
import { isDbError, type InstanceRow } from '../../db/index.js';
import { instanceAmounts } from '../../db/compute-nodes.js';
import type { RequestContext } from '../../rpc/index.js';
import { errorMessage } from '../context.js';
import { failInstance } from '../instance-errors.js';
import { PowerState, TaskState, VmState } from '../states.js';
import { bootInfo } from './build.js';
import { releaseResources, step, type ComputeHost } from './host.js';

/** What evacuate_instance carries. */
export interface EvacuateRequest {
  instance_id: string;
  source_host: string;
  image_ref?: string | null;
}

/** Rebuilds an evacuated server on this host. Never throws: every outcome is a state. */
export async function evacuateInstance(compute: ComputeHost, ctx: RequestContext, request: EvacuateRequest): Promise<void> {
  const id = request.instance_id;
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id, source_host: request.source_host });
  let instance: InstanceRow;
  try {
    instance = await compute.db.instances.get(ctx, id);
  } catch (error) {
    return void log.info({ reason: errorMessage(error) }, 'evacuation dropped: the server is gone');
  }
  if (instance.task_state !== TaskState.REBUILDING || instance.host !== request.source_host) {
    return void log.info({ task_state: instance.task_state, instance_host: instance.host }, 'evacuation dropped: the server changed meanwhile');
  }
  try {
    await compute.db.computeNodes.claim(ctx, compute.host, instanceAmounts(instance));
  } catch (error) {
    await failInstance(compute.db, ctx, id, `Evacuation to ${compute.host} failed: ${errorMessage(error)}`, compute.host, log);
    return;
  }
  await compute.notifier.send(ctx, 'rebuild.start', instance);
  try {
    instance = await compute.db.instances.update(
      ctx,
      id,
      { host: compute.host, task_state: TaskState.REBUILD_SPAWNING },
      { expectedTaskState: TaskState.REBUILDING, expectedHost: request.source_host },
    );
    await releaseResources({ ...compute, host: request.source_host }, ctx, instanceAmounts(instance));
    const network = await compute.network.setup_networks_on_host(ctx, { instance_id: id, host: compute.host });
    const metadata = await compute.db.instanceMetadata.get(ctx, id);
    const imageRef = request.image_ref ?? instance.image_ref;
    await compute.driver.spawn(id, imageRef, metadata, bootInfo(instance, network.fixed_ips));
    instance = await step(
      compute,
      ctx,
      id,
      { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING, image_ref: imageRef, launched_at: new Date() },
      TaskState.REBUILD_SPAWNING,
    );
    log.info({ instance_host: compute.host, fixed_ips: network.fixed_ips.map((ip) => ip.address) }, 'server evacuated here and ACTIVE');
    await compute.notifier.send(ctx, 'rebuild.end', instance);
  } catch (error) {
    if (isDbError(error, 'UnexpectedTaskState') || isDbError(error, 'InstanceNotFound')) {
      await releaseResources(compute, ctx, instanceAmounts(instance));
      return void log.info({ reason: errorMessage(error) }, 'evacuation stopped: the server changed meanwhile');
    }
    await compute.notifier.send(ctx, 'rebuild.error', instance, { message: errorMessage(error) });
    await failInstance(compute.db, ctx, id, `Evacuation failed: ${errorMessage(error)}`, compute.host, log);
  }
}
