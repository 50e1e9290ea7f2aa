/**
 * The handlers of the lifecycle actions (reboot, os-stop, os-start, rebuild, resize,
 * confirmResize, revertResize, changePassword, createImage). The table in
 * server-actions.ts has checked the vm_state before they run; each sets its task_state
 * with `call.begin()` and casts to the compute that runs the server.
 */
import type { z } from 'zod';
import type { InstanceChanges } from '../../db/index.js';
import { generateAdminPass, type ActionCall, type ActionHandler, type ActionResult } from './action-kit.js';
import { badRequest, notFoundAs400 } from './faults.js';
import type { actionBodies } from './schemas.js';
import { serverView } from './views.js';

/** Sets the row's task, then sends the compute that runs the server what `cast` sends. */
async function beginThenCast(call: ActionCall, cast: (compute: ReturnType<ActionCall['host']>) => Promise<void>, status = 202): Promise<ActionResult> {
  await call.begin();
  await cast(call.host());
  return { status };
}

/** A handler that casts `method`, which takes only the instance id; answers `status`. */
export function castTo(method: 'stop_instance' | 'start_instance' | 'confirm_resize' | 'revert_resize', status = 202): ActionHandler<z.ZodType> {
  return (call) => beginThenCast(call, (compute) => compute[method](call.ctx, { instance_id: call.instance.uuid }), status);
}

export function reboot(call: ActionCall, args: z.output<typeof actionBodies.reboot>): Promise<ActionResult> {
  return beginThenCast(call, (compute) => compute.reboot_instance(call.ctx, { instance_id: call.instance.uuid, reboot_type: args.type }));
}

export function changePassword(call: ActionCall, args: z.output<typeof actionBodies.changePassword>): Promise<ActionResult> {
  return beginThenCast(call, (compute) => compute.set_admin_password(call.ctx, { instance_id: call.instance.uuid, new_pass: args.adminPass }));
}

export async function rebuild(call: ActionCall, args: z.output<typeof actionBodies.rebuild>): Promise<ActionResult> {
  const { db, ctx, instance } = call;
  await db.images.get(ctx, args.imageRef).catch(notFoundAs400(`Can not find requested image ${args.imageRef}.`));
  const changes: InstanceChanges = { image_ref: args.imageRef };
  if (args.name !== undefined) changes.display_name = args.name;
  if (args.accessIPv4 !== undefined) changes.access_ip_v4 = args.accessIPv4;
  if (args.accessIPv6 !== undefined) changes.access_ip_v6 = args.accessIPv6;
  const updated = await call.begin(changes);
  if (args.metadata) await db.instanceMetadata.update(ctx, instance.uuid, args.metadata, { replace: true });
  // As Nova: the guest gets the password asked for, or a generated one, answered once here.
  const adminPass = args.adminPass ?? generateAdminPass();
  await call.host().rebuild_instance(ctx, { instance_id: instance.uuid, image_ref: args.imageRef, admin_password: adminPass });
  const [details] = await call.api.details(ctx, [updated]);
  return { status: 202, body: { server: { ...serverView(updated, details!, call.base, call.microversion), adminPass } } };
}

export async function resize(call: ActionCall, args: z.output<typeof actionBodies.resize>): Promise<ActionResult> {
  const { db, ctx, instance } = call;
  const flavor = await db.flavors.getByFlavorId(ctx, args.flavorRef).catch(notFoundAs400(`Flavor ${args.flavorRef} could not be found.`));
  if (flavor.id === instance.instance_type_id) throw badRequest('When resizing, instances must change flavor!');
  await call.begin();
  await call.host().resize_instance(ctx, { instance_id: instance.uuid, instance_type_id: flavor.id });
  return { status: 202 };
}

/** Registers the image (Glance's `queued`) and asks the compute to upload the disk into it. */
export async function createImage(call: ActionCall, args: z.output<typeof actionBodies.createImage>): Promise<ActionResult> {
  const { db, ctx, instance } = call;
  await call.begin();
  const image = await db.images.create(ctx, {
    name: args.name,
    status: 'queued',
    disk_format: 'qcow2',
    container_format: 'bare',
    min_disk: instance.root_gb ?? 0,
    is_public: false,
  });
  await db.images.updateMetadata(ctx, image.uuid, { ...(args.metadata ?? {}), instance_uuid: instance.uuid, image_type: 'snapshot' });
  await call.host().snapshot_instance(ctx, { instance_id: instance.uuid, image_id: image.uuid });
  return { status: 202, headers: { location: `${call.base}/images/${image.uuid}` } };
}
