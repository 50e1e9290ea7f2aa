/**
 * Compute operations on a running server: terminate, reboot, stop, start, rebuild,
 * snapshot and password changes. The API set the task_state before casting; each
 * operation moves the server on with a CAS from that state and sends
 * `compute.instance.<action>.start/end`. A failed operation puts the server in ERROR
 * with a fault.
 */
import { isDbError, type InstanceRow } from '../../db/index.js';
import { instanceAmounts } from '../../db/compute-nodes.js';
import type { RequestContext } from '../../rpc/index.js';
import { errorMessage } from '../context.js';
import { failInstance } from '../instance-errors.js';
import { PowerState, TaskState, VmState } from '../states.js';
import { deallocateNetwork, releaseResources, step, type ComputeHost } from './host.js';
import { resizeRecord } from './resize.js';

/** Destroys a server: driver, addresses, claim, then the row (soft delete). */
export async function terminateInstance(compute: ComputeHost, ctx: RequestContext, id: string): Promise<void> {
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id });
  let instance: InstanceRow;
  try {
    instance = await compute.db.instances.get(ctx, id);
  } catch (error) {
    if (isDbError(error, 'InstanceNotFound')) return void log.info('server already deleted');
    throw error;
  }
  await compute.notifier.send(ctx, 'delete.start', instance);
  await compute.driver.destroy(id);
  await deallocateNetwork(compute, ctx, id);
  if (instance.host === compute.host) {
    await releaseResources(compute, ctx, instanceAmounts(instance));
    if (instance.vm_state === VmState.RESIZED) {
      const record = await resizeRecord(compute, ctx, id);
      if (record) await releaseResources(compute, ctx, instanceAmounts(record.old));
    }
  }
  const deleted = await compute.db.instances.update(ctx, id, {
    vm_state: VmState.DELETED,
    task_state: null,
    power_state: PowerState.NOSTATE,
    terminated_at: new Date(),
  });
  await compute.db.instances.destroy(ctx, id);
  log.info({ vm_state: VmState.DELETED }, 'server deleted');
  await compute.notifier.send(ctx, 'delete.end', deleted);
}

/** The shape of a simple operation: expected task_state, driver work, final changes. */
interface Operation {
  event: string;
  expected: string | readonly string[];
  run: (instance: InstanceRow) => Promise<Partial<InstanceRow> | void>;
  final: Partial<InstanceRow>;
  /** task_state the final CAS expects, when `run` moved it on; default `expected`. */
  finalExpected?: string;
}

/** Runs one operation with notifications, CAS and error handling. */
async function operate(compute: ComputeHost, ctx: RequestContext, id: string, operation: Operation): Promise<void> {
  const log = compute.logger.child({ request_id: ctx.requestId, instance_id: id, action: operation.event });
  let instance: InstanceRow;
  try {
    instance = await compute.db.instances.get(ctx, id);
  } catch (error) {
    if (isDbError(error, 'InstanceNotFound')) return void log.info('server deleted before the operation ran');
    throw error;
  }
  const expected = typeof operation.expected === 'string' ? [operation.expected] : operation.expected;
  if (!expected.includes(instance.task_state ?? '')) {
    return void log.info({ task_state: instance.task_state, expected }, 'server is not in the expected task state; operation dropped');
  }
  await compute.notifier.send(ctx, `${operation.event}.start`, instance);
  try {
    const more = (await operation.run(instance)) ?? {};
    instance = await step(compute, ctx, id, { ...more, ...operation.final }, operation.finalExpected ?? [...expected]);
    await compute.notifier.send(ctx, `${operation.event}.end`, instance);
  } catch (error) {
    if (isDbError(error, 'UnexpectedTaskState') || isDbError(error, 'InstanceNotFound')) {
      return void log.info({ reason: errorMessage(error) }, 'server changed during the operation');
    }
    await compute.notifier.send(ctx, `${operation.event}.error`, instance, { message: errorMessage(error) });
    await failInstance(compute.db, ctx, id, `${operation.event} failed: ${errorMessage(error)}`, compute.host, log);
  }
}

export function rebootInstance(compute: ComputeHost, ctx: RequestContext, id: string, rebootType: 'SOFT' | 'HARD'): Promise<void> {
  return operate(compute, ctx, id, {
    event: 'reboot',
    expected: rebootType === 'HARD' ? [TaskState.REBOOTING_HARD, TaskState.REBOOTING] : [TaskState.REBOOTING],
    run: async () => ({ power_state: await compute.driver.reboot(id) }),
    final: { vm_state: VmState.ACTIVE, task_state: null },
  });
}

export function stopInstance(compute: ComputeHost, ctx: RequestContext, id: string): Promise<void> {
  return operate(compute, ctx, id, {
    event: 'power_off',
    expected: TaskState.POWERING_OFF,
    run: async () => ({ power_state: await compute.driver.powerOff(id) }),
    final: { vm_state: VmState.STOPPED, task_state: null },
  });
}

export function startInstance(compute: ComputeHost, ctx: RequestContext, id: string): Promise<void> {
  return operate(compute, ctx, id, {
    event: 'power_on',
    expected: TaskState.POWERING_ON,
    run: async () => ({ power_state: await compute.driver.powerOn(id) }),
    final: { vm_state: VmState.ACTIVE, task_state: null },
  });
}

/** Re-creates the guest from `imageRef`; a given `adminPassword` becomes the new guest's. */
export function rebuildInstance(compute: ComputeHost, ctx: RequestContext, id: string, imageRef: string, adminPassword?: string | null): Promise<void> {
  return operate(compute, ctx, id, {
    event: 'rebuild',
    expected: TaskState.REBUILDING,
    run: async () => {
      await step(compute, ctx, id, { task_state: TaskState.REBUILD_SPAWNING }, TaskState.REBUILDING);
      await compute.driver.rebuild(id, imageRef, { adminPassword });
      return { image_ref: imageRef, power_state: PowerState.RUNNING, launched_at: new Date() };
    },
    final: { vm_state: VmState.ACTIVE, task_state: null },
    finalExpected: TaskState.REBUILD_SPAWNING,
  });
}

/**
 * Uploads the server's disk into image `imageId`, which the API registered as `queued`:
 * `saving` while it uploads, then `active` with its size (Glance's statuses).
 */
export function snapshotInstance(compute: ComputeHost, ctx: RequestContext, id: string, imageId: string): Promise<void> {
  return operate(compute, ctx, id, {
    event: 'snapshot',
    expected: TaskState.IMAGE_SNAPSHOT,
    run: async (instance) => {
      await step(compute, ctx, id, { task_state: TaskState.IMAGE_UPLOADING }, TaskState.IMAGE_SNAPSHOT);
      await compute.db.images.update(ctx, imageId, { status: 'saving' });
      const size = await compute.driver.snapshot(id, instance.root_gb ?? 0);
      await compute.db.images.update(ctx, imageId, { status: 'active', size });
    },
    final: { task_state: null },
    finalExpected: TaskState.IMAGE_UPLOADING,
  });
}

/** Sets the guest's administrator password to `newPass`. */
export function setAdminPassword(compute: ComputeHost, ctx: RequestContext, id: string, newPass: string): Promise<void> {
  return operate(compute, ctx, id, {
    event: 'set_admin_password',
    expected: TaskState.UPDATING_PASSWORD,
    run: async () => {
      await compute.driver.setAdminPassword(id, newPass);
    },
    final: { task_state: null },
  });
}
