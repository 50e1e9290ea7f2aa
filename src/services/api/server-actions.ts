/**
 * POST /servers/{id}/action: one table of every action (lifecycle here; operations and
 * network actions in their own modules). The dispatcher checks that exactly one known
 * action is named and exists at the request's microversion, the admin policy, the lock,
 * and the body, then runs the handler. Lifecycle handlers check the vm_state, set the
 * task_state with a CAS from "no task" (so two actions cannot race), record the
 * instance action, and cast to the compute that runs the server.
 */
import { z } from 'zod';
import type { InstanceChanges } from '../../db/index.js';
import type { RequestContext } from '../../rpc/index.js';
import { TaskState, VmState } from '../states.js';
import { action, begin, generateAdminPass, notFoundAs400, requireState, type ActionResult, type ActionSpec } from './action-kit.js';
import { refuseIfLocked, type ComputeApi } from './compute-api.js';
import { ApiFault, badRequest, conflict, forbidden } from './faults.js';
import { formatMicroversion, inRange, type Microversion } from './microversion.js';
import { networkActions } from './network-actions.js';
import { operationActions } from './operation-actions.js';
import { actionBodies, parseBody } from './schemas.js';
import { serverView } from './views.js';

export type { ActionResult } from './action-kit.js';

const noBody = z.null().or(z.object({}));

/**
 * An action without arguments that checks the vm_state, sets `task` and casts `method`
 * (which takes only the instance id) to the server's compute.
 */
function taskCast(spec: {
  action: string;
  states: readonly string[];
  task: string;
  method: 'stop_instance' | 'start_instance' | 'confirm_resize' | 'revert_resize';
  status?: number;
}): ActionSpec<typeof noBody> {
  return action({
    schema: noBody,
    lockChecked: true,
    run: async (call) => {
      requireState(call.instance, spec.action, spec.states);
      await begin(call, spec.action, { task_state: spec.task });
      await call.host()[spec.method](call.ctx, { instance_id: call.instance.uuid });
      return { status: spec.status ?? 202 };
    },
  });
}

const lifecycleActions = {
  reboot: action({
    schema: actionBodies.reboot,
    lockChecked: true,
    run: async (call, args) => {
      const hard = args.type === 'HARD';
      requireState(call.instance, 'reboot', hard ? [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR] : [VmState.ACTIVE]);
      await begin(call, 'reboot', { task_state: hard ? TaskState.REBOOTING_HARD : TaskState.REBOOTING }, hard ? [null, TaskState.REBOOTING] : [null]);
      await call.host().reboot_instance(call.ctx, { instance_id: call.instance.uuid, reboot_type: hard ? 'HARD' : 'SOFT' });
      return { status: 202 };
    },
  }),
  'os-stop': taskCast({ action: 'stop', states: [VmState.ACTIVE, VmState.ERROR], task: TaskState.POWERING_OFF, method: 'stop_instance' }),
  'os-start': taskCast({ action: 'start', states: [VmState.STOPPED], task: TaskState.POWERING_ON, method: 'start_instance' }),
  rebuild: action({
    schema: actionBodies.rebuild,
    lockChecked: true,
    run: async (call, args) => {
      const { api, ctx, instance } = call;
      requireState(instance, 'rebuild', [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR]);
      await api.deps.db.images.get(ctx, args.imageRef).catch(notFoundAs400(`Can not find requested image ${args.imageRef}.`));
      const changes: InstanceChanges = { task_state: TaskState.REBUILDING, image_ref: args.imageRef };
      if (args.name !== undefined) changes.display_name = args.name;
      if (args.accessIPv4 !== undefined) changes.access_ip_v4 = args.accessIPv4;
      if (args.accessIPv6 !== undefined) changes.access_ip_v6 = args.accessIPv6;
      const updated = await begin(call, 'rebuild', changes);
      if (args.metadata) await api.deps.db.instanceMetadata.update(ctx, instance.uuid, args.metadata, { replace: true });
      // As Nova: the guest gets the password asked for, or a generated one, answered once here.
      const adminPass = args.adminPass ?? generateAdminPass();
      await call.host().rebuild_instance(ctx, { instance_id: instance.uuid, image_ref: args.imageRef, admin_password: adminPass });
      const [details] = await api.details(ctx, [updated]);
      return { status: 202, body: { server: { ...serverView(updated, details!, call.base, call.microversion), adminPass } } };
    },
  }),
  resize: action({
    schema: actionBodies.resize,
    lockChecked: true,
    run: async (call, args) => {
      const { api, ctx, instance } = call;
      requireState(instance, 'resize', [VmState.ACTIVE, VmState.STOPPED]);
      const flavor = await api.deps.db.flavors.getByFlavorId(ctx, args.flavorRef).catch(notFoundAs400(`Flavor ${args.flavorRef} could not be found.`));
      if (flavor.id === instance.instance_type_id) throw badRequest('When resizing, instances must change flavor!');
      await begin(call, 'resize', { task_state: TaskState.RESIZE_PREP });
      await call.host().resize_instance(ctx, { instance_id: instance.uuid, instance_type_id: flavor.id });
      return { status: 202 };
    },
  }),
  confirmResize: taskCast({ action: 'confirmResize', states: [VmState.RESIZED], task: TaskState.RESIZE_CONFIRMING, method: 'confirm_resize', status: 204 }),
  revertResize: taskCast({ action: 'revertResize', states: [VmState.RESIZED], task: TaskState.RESIZE_REVERTING, method: 'revert_resize' }),
  changePassword: action({
    schema: actionBodies.changePassword,
    lockChecked: true,
    run: async (call, args) => {
      requireState(call.instance, 'changePassword', [VmState.ACTIVE]);
      await begin(call, 'changePassword', { task_state: TaskState.UPDATING_PASSWORD });
      await call.host().set_admin_password(call.ctx, { instance_id: call.instance.uuid, new_pass: args.adminPass });
      return { status: 202 };
    },
  }),
  createImage: action({
    schema: actionBodies.createImage,
    lockChecked: true,
    run: async (call, args) => {
      const { api, ctx, instance } = call;
      requireState(instance, 'createImage', [VmState.ACTIVE, VmState.STOPPED]);
      await begin(call, 'createImage', { task_state: TaskState.IMAGE_SNAPSHOT });
      const image = await api.deps.db.images.create(ctx, {
        name: args.name,
        // Glance's first status; the compute moves it to saving, then active with its size.
        status: 'queued',
        disk_format: 'qcow2',
        container_format: 'bare',
        min_disk: instance.root_gb ?? 0,
        is_public: false,
      });
      await api.deps.db.images.updateMetadata(ctx, image.uuid, { ...(args.metadata ?? {}), instance_uuid: instance.uuid, image_type: 'snapshot' });
      await call.host().snapshot_instance(ctx, { instance_id: instance.uuid, image_id: image.uuid });
      return { status: 202, headers: { location: `${call.base}/images/${image.uuid}` } };
    },
  }),
} satisfies Record<string, ActionSpec<any>>;

/** Every server action, by the name its body uses. */
const ACTIONS: Record<string, ActionSpec<any>> = { ...lifecycleActions, ...operationActions, ...networkActions };

/** Runs the one action named in `body`. */
export async function performAction(api: ComputeApi, ctx: RequestContext, id: string, body: unknown, base: string, microversion: Microversion): Promise<ActionResult> {
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw badRequest('The action body must be an object with exactly one action, e.g. {"reboot": {"type": "SOFT"}}.');
  }
  const [name, value] = Object.entries(body)[0]!;
  const spec = Object.hasOwn(ACTIONS, name) ? ACTIONS[name]! : undefined;
  if (!spec) throw badRequest(`There is no such action: ${name}`);
  if (spec.versions && !inRange(microversion, spec.versions)) {
    throw new ApiFault(404, `API version ${formatMicroversion(microversion)} is not supported on this method (action ${name}).`);
  }
  const instance = await api.deps.db.instances.get(ctx, id);
  if (spec.adminPolicy && !ctx.isAdmin) throw forbidden(`Policy doesn't allow ${spec.adminPolicy} to be performed.`);
  if (spec.lockChecked) refuseIfLocked(ctx, instance);
  const args = parseBody(spec.schema, value, name);
  const host = () => {
    if (!instance.host) throw conflict(`Cannot '${name}' instance ${id}: it is not on any host.`);
    return api.deps.compute.prepare({ server: instance.host });
  };
  return spec.run({ api, ctx, instance, base, microversion, host }, args);
}
