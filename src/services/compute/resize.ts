/**
 * Resize on the same host (Nova's resize with `allow_resize_to_same_host`): claim the
 * new flavor, "migrate" the disk, switch the server to the new flavor and wait in
 * VERIFY_RESIZE; confirm frees the old flavor, revert frees the new one and switches
 * back. The old and new flavors are recorded in the resize action's event details, so
 * confirm and revert work after a restart of the compute.
 */
import { isDbError, type InstanceRow } from '../../db/index.js';
import { instanceAmounts } from '../../db/compute-nodes.js';
import type { RequestContext } from '../../rpc/index.js';
import { errorMessage } from '../context.js';
import { TaskState, VmState } from '../states.js';
import { releaseResources, step, type ComputeHost } from './host.js';

const RESIZE_EVENT = 'compute_resize_instance';

/** The flavor columns of an instance. */
export type FlavorColumns = Pick<InstanceRow, 'instance_type_id' | 'memory_mb' | 'vcpus' | 'root_gb' | 'ephemeral_gb'>;

/** What a resize changed. */
export interface ResizeRecord {
  old: FlavorColumns;
  new: FlavorColumns;
}

function flavorColumns(row: FlavorColumns): FlavorColumns {
  return { instance_type_id: row.instance_type_id, memory_mb: row.memory_mb, vcpus: row.vcpus, root_gb: row.root_gb, ephemeral_gb: row.ephemeral_gb };
}

/** Resizes a server to `instanceTypeId` on this host. */
export async function resizeInstance(compute: ComputeHost, ctx: RequestContext, id: string, instanceTypeId: number): Promise<void> {
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id });
  const instance = await compute.db.instances.get(ctx, id);
  if (instance.task_state !== TaskState.RESIZE_PREP) return void log.info({ task_state: instance.task_state }, 'resize dropped: unexpected task state');
  const flavor = await compute.db.flavors.get(ctx, instanceTypeId);
  const next: FlavorColumns = { instance_type_id: flavor.id, memory_mb: flavor.memory_mb, vcpus: flavor.vcpus, root_gb: flavor.root_gb, ephemeral_gb: flavor.ephemeral_gb };
  await compute.notifier.send(ctx, 'resize.start', instance);
  try {
    await compute.db.computeNodes.claim(ctx, compute.host, instanceAmounts(next));
  } catch (error) {
    log.warn({ reason: errorMessage(error) }, 'resize refused: not enough resources on this host');
    await compute.db.instanceFaults.create(ctx, { instance_uuid: id, code: 400, message: `Resize failed: ${errorMessage(error)}`, host: compute.host });
    await step(compute, ctx, id, { task_state: null }, TaskState.RESIZE_PREP);
    await compute.notifier.send(ctx, 'resize.error', instance, { message: errorMessage(error) });
    return;
  }
  try {
    await step(compute, ctx, id, { task_state: TaskState.RESIZE_MIGRATING }, TaskState.RESIZE_PREP);
    await compute.driver.migrateDisk();
    await step(compute, ctx, id, { task_state: TaskState.RESIZE_FINISH }, TaskState.RESIZE_MIGRATING);
    await recordResize(compute, ctx, id, { old: flavorColumns(instance), new: next });
    const resized = await step(compute, ctx, id, { ...next, vm_state: VmState.RESIZED, task_state: null }, TaskState.RESIZE_FINISH);
    await compute.notifier.send(ctx, 'resize.end', resized);
  } catch (error) {
    await releaseResources(compute, ctx, instanceAmounts(next));
    log.warn({ reason: errorMessage(error) }, 'resize failed');
    if (!isDbError(error, 'InstanceNotFound')) {
      await compute.db.instances.update(ctx, id, { task_state: null }).catch(() => undefined);
    }
  }
}

/** Keeps the new flavor; frees the old one. */
export async function confirmResize(compute: ComputeHost, ctx: RequestContext, id: string): Promise<void> {
  const record = await resizeRecord(compute, ctx, id);
  if (record) await releaseResources(compute, ctx, instanceAmounts(record.old));
  const row = await step(compute, ctx, id, { vm_state: VmState.ACTIVE, task_state: null }, TaskState.RESIZE_CONFIRMING);
  await compute.notifier.send(ctx, 'resize.confirm.end', row);
}

/** Switches back to the old flavor; frees the new one. */
export async function revertResize(compute: ComputeHost, ctx: RequestContext, id: string): Promise<void> {
  const record = await resizeRecord(compute, ctx, id);
  if (!record) {
    compute.logger.warn({ request_id: ctx.requestId, instance_id: id }, 'no resize record; keeping the current flavor');
    await step(compute, ctx, id, { vm_state: VmState.ACTIVE, task_state: null }, TaskState.RESIZE_REVERTING);
    return;
  }
  await compute.driver.migrateDisk();
  await releaseResources(compute, ctx, instanceAmounts(record.new));
  const row = await step(compute, ctx, id, { ...record.old, vm_state: VmState.ACTIVE, task_state: null }, TaskState.RESIZE_REVERTING);
  await compute.notifier.send(ctx, 'resize.revert.end', row);
}

async function recordResize(compute: ComputeHost, ctx: RequestContext, id: string, record: ResizeRecord): Promise<void> {
  const actions = compute.db.instanceActions;
  try {
    await actions.startEvent(ctx, id, RESIZE_EVENT, compute.host);
  } catch (error) {
    if (!isDbError(error, 'InstanceActionNotFound')) throw error;
    await actions.start(ctx, id, 'resize');
    await actions.startEvent(ctx, id, RESIZE_EVENT, compute.host);
  }
  await actions.finishEvent(ctx, id, RESIZE_EVENT, { result: 'Success', details: JSON.stringify(record) });
}

/** The latest resize of a server, from its action events; undefined when there is none. */
export async function resizeRecord(compute: ComputeHost, ctx: RequestContext, id: string): Promise<ResizeRecord | undefined> {
  const actions = await compute.db.instanceActions.list(ctx, id);
  for (const action of actions) {
    const events = await compute.db.instanceActions.listEvents(ctx, action.id);
    const event = events.reverse().find((candidate) => candidate.event === RESIZE_EVENT && candidate.details);
    if (event?.details) return JSON.parse(event.details) as ResizeRecord;
  }
  return undefined;
}
