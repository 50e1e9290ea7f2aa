/**
 * POST /servers/{id}/action: reboot, rebuild, resize, confirmResize, revertResize,
 * changePassword, createImage, os-start, os-stop. Each checks the vm_state, sets the
 * task_state with a CAS from "no task" (so two actions cannot race), records the
 * instance action, and casts to the compute that runs the server.
 */
import { isDbError, type InstanceChanges, type InstanceRow } from '../../db/index.js';
import type { RequestContext } from '../../rpc/index.js';
import { TaskState, VmState } from '../states.js';
import type { ComputeApi } from './compute-api.js';
import { badRequest, conflict } from './faults.js';
import { actionBodies, parseBody, type ActionName } from './schemas.js';
import { serverView } from './views.js';

/** What an action answers. */
export interface ActionResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Runs the one action named in `body`. */
export async function performAction(api: ComputeApi, ctx: RequestContext, id: string, body: unknown, base: string): Promise<ActionResult> {
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw badRequest('The action body must be an object with exactly one action, e.g. {"reboot": {"type": "SOFT"}}.');
  }
  const [name, value] = Object.entries(body)[0]!;
  if (!Object.hasOwn(actionBodies, name)) throw badRequest(`There is no such action: ${name}`);
  const action = name as ActionName;
  const instance = await api.deps.db.instances.get(ctx, id);
  const compute = instance.host ? api.deps.compute.prepare({ server: instance.host }) : undefined;
  const needHost = () => {
    if (!compute) throw conflict(`Cannot '${action}' instance ${id}: it is not on any host.`);
    return compute;
  };
  const args = parseBody(actionBodies[action] as never, value, action) as Record<string, unknown>;
  const idArg = { instance_id: id };
  switch (action) {
    case 'reboot': {
      const hard = args.type === 'HARD';
      requireState(instance, action, hard ? [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR] : [VmState.ACTIVE]);
      await begin(api, ctx, instance, action, { task_state: hard ? TaskState.REBOOTING_HARD : TaskState.REBOOTING }, hard ? [null, TaskState.REBOOTING] : [null]);
      await needHost().reboot_instance(ctx, { ...idArg, reboot_type: hard ? 'HARD' : 'SOFT' });
      return { status: 202 };
    }
    case 'os-stop':
      requireState(instance, 'stop', [VmState.ACTIVE, VmState.ERROR]);
      await begin(api, ctx, instance, 'stop', { task_state: TaskState.POWERING_OFF });
      await needHost().stop_instance(ctx, idArg);
      return { status: 202 };
    case 'os-start':
      requireState(instance, 'start', [VmState.STOPPED]);
      await begin(api, ctx, instance, 'start', { task_state: TaskState.POWERING_ON });
      await needHost().start_instance(ctx, idArg);
      return { status: 202 };
    case 'rebuild': {
      requireState(instance, action, [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR]);
      const imageRef = String(args.imageRef);
      await api.deps.db.images.get(ctx, imageRef).catch(notFoundAs400(`Can not find requested image ${imageRef}.`));
      const changes: InstanceChanges = { task_state: TaskState.REBUILDING, image_ref: imageRef };
      if (typeof args.name === 'string') changes.display_name = args.name;
      if (typeof args.accessIPv4 === 'string') changes.access_ip_v4 = args.accessIPv4;
      if (typeof args.accessIPv6 === 'string') changes.access_ip_v6 = args.accessIPv6;
      const updated = await begin(api, ctx, instance, action, changes);
      if (args.metadata) await api.deps.db.instanceMetadata.update(ctx, id, args.metadata as Record<string, string>, { replace: true });
      await needHost().rebuild_instance(ctx, { ...idArg, image_ref: imageRef });
      const [details] = await api.details(ctx, [updated]);
      return { status: 202, body: { server: { ...serverView(updated, details!, base), adminPass: args.adminPass ?? undefined } } };
    }
    case 'resize': {
      requireState(instance, action, [VmState.ACTIVE, VmState.STOPPED]);
      const flavor = await api.deps.db.flavors.getByFlavorId(ctx, String(args.flavorRef)).catch(notFoundAs400(`Flavor ${String(args.flavorRef)} could not be found.`));
      if (flavor.id === instance.instance_type_id) throw badRequest('When resizing, instances must change flavor!');
      await begin(api, ctx, instance, action, { task_state: TaskState.RESIZE_PREP });
      await needHost().resize_instance(ctx, { ...idArg, instance_type_id: flavor.id });
      return { status: 202 };
    }
    case 'confirmResize':
      requireState(instance, action, [VmState.RESIZED]);
      await begin(api, ctx, instance, 'confirmResize', { task_state: TaskState.RESIZE_CONFIRMING });
      await needHost().confirm_resize(ctx, idArg);
      return { status: 204 };
    case 'revertResize':
      requireState(instance, action, [VmState.RESIZED]);
      await begin(api, ctx, instance, 'revertResize', { task_state: TaskState.RESIZE_REVERTING });
      await needHost().revert_resize(ctx, idArg);
      return { status: 202 };
    case 'changePassword':
      requireState(instance, action, [VmState.ACTIVE]);
      await begin(api, ctx, instance, 'changePassword', { task_state: TaskState.UPDATING_PASSWORD });
      await needHost().set_admin_password(ctx, { ...idArg, new_pass: String(args.adminPass) });
      return { status: 202 };
    case 'createImage': {
      requireState(instance, action, [VmState.ACTIVE, VmState.STOPPED]);
      await begin(api, ctx, instance, 'createImage', { task_state: TaskState.IMAGE_SNAPSHOT });
      const image = await api.deps.db.images.create(ctx, {
        name: String(args.name),
        status: 'active',
        disk_format: 'qcow2',
        container_format: 'bare',
        min_disk: instance.root_gb ?? 0,
        is_public: false,
      });
      const metadata = { ...((args.metadata as Record<string, string>) ?? {}), instance_uuid: id, image_type: 'snapshot' };
      await api.deps.db.images.updateMetadata(ctx, image.uuid, metadata);
      await needHost().snapshot_instance(ctx, { ...idArg, image_id: image.uuid });
      return { status: 202, headers: { location: `${base}/images/${image.uuid}` } };
    }
  }
}

function requireState(instance: InstanceRow, action: string, allowed: readonly string[]): void {
  if (!allowed.includes(instance.vm_state ?? '')) {
    throw conflict(`Cannot '${action}' instance ${instance.uuid} while it is in vm_state ${instance.vm_state}`);
  }
}

/** Sets the task_state with a CAS from `from` (default: no task) and records the action. */
async function begin(
  api: ComputeApi,
  ctx: RequestContext,
  instance: InstanceRow,
  action: string,
  changes: InstanceChanges,
  from: ReadonlyArray<string | null> = [null],
): Promise<InstanceRow> {
  let updated: InstanceRow;
  try {
    updated = await api.deps.db.instances.update(ctx, instance.uuid, changes, { expectedTaskState: from });
  } catch (error) {
    if (isDbError(error, 'UnexpectedTaskState')) {
      throw conflict(`Cannot '${action}' instance ${instance.uuid} while it is in task_state ${instance.task_state}`);
    }
    throw error;
  }
  await api.deps.db.instanceActions.start(ctx, instance.uuid, action);
  api.deps.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, action, task_state: updated.task_state }, 'server action accepted');
  return updated;
}

function notFoundAs400(message: string): (error: unknown) => never {
  return (error) => {
    if (isDbError(error) && error.code.endsWith('NotFound')) throw badRequest(message);
    throw error;
  };
}
