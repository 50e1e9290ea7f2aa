/**
 * The handlers and bodies of the actions for operators and owners: lock/unlock (reason
 * from 2.73), os-resetState, evacuate (only while the server's compute is down; the
 * scheduler picks a host unless one is named), os-migrateLive (the source compute must
 * be up) and os-getConsoleOutput. Their rows (policy, states) are in server-actions.ts.
 */
import { z } from 'zod';
import { isDbError } from '../../db/index.js';
import { VmState } from '../states.js';
import { generateAdminPass, type ActionCall, type ActionResult } from './action-kit.js';
import { ApiFault, badRequest, conflict, forbidden } from './faults.js';
import { isAtLeast, isAtMost } from './microversion.js';

const consoleLength = z.union([z.number().int().min(-1), z.string().regex(/^-?\d+$/).transform(Number).pipe(z.number().int().min(-1)), z.null()]);

const evacuateBody = z.looseObject({
  host: z.string().min(1).max(255).optional(),
  adminPass: z.string().optional(),
  onSharedStorage: z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])]).optional(),
  force: z.boolean().optional(),
});

const migrateLiveBody = z.looseObject({
  host: z.string().min(1).max(255).nullish(),
  block_migration: z.union([z.boolean(), z.literal('auto'), z.enum(['true', 'false', 'True', 'False'])]).optional(),
  disk_over_commit: z.union([z.boolean(), z.string()]).optional(),
  force: z.boolean().optional(),
});

/** The bodies of the operation actions. */
export const operationBodies = {
  lock: z.null().or(z.strictObject({ locked_reason: z.string().max(255).optional() })),
  unlock: z.null().or(z.object({})),
  resetState: z.strictObject({ state: z.enum(['active', 'error']) }),
  evacuate: evacuateBody,
  migrateLive: migrateLiveBody,
  consoleOutput: z.null().or(z.looseObject({ length: consoleLength.optional() })),
};

export async function lock(call: ActionCall, args: z.output<typeof operationBodies.lock>): Promise<ActionResult> {
  const { db, ctx, instance } = call;
  if (args?.locked_reason !== undefined && !isAtLeast(call.microversion, '2.73')) {
    throw badRequest("Invalid input for field/attribute lock. Additional properties are not allowed ('locked_reason' was unexpected)");
  }
  const lockedBy = instance.project_id === ctx.projectId ? 'owner' : 'admin';
  await db.instances.update(ctx, instance.uuid, { locked: true, locked_by: lockedBy, locked_reason: args?.locked_reason ?? null });
  await db.instanceActions.start(ctx, instance.uuid, 'lock');
  return { status: 202 };
}

export async function unlock(call: ActionCall): Promise<ActionResult> {
  const { db, ctx, instance } = call;
  if (instance.locked && instance.locked_by === 'admin' && !ctx.isAdmin) {
    throw forbidden("Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.");
  }
  await db.instances.update(ctx, instance.uuid, { locked: false, locked_by: null, locked_reason: null });
  await db.instanceActions.start(ctx, instance.uuid, 'unlock');
  return { status: 202 };
}

export async function resetState(call: ActionCall, args: z.output<typeof operationBodies.resetState>): Promise<ActionResult> {
  const { db, ctx, instance } = call;
  await db.instances.update(ctx, instance.uuid, { vm_state: args.state === 'active' ? VmState.ACTIVE : VmState.ERROR, task_state: null });
  await db.instanceActions.start(ctx, instance.uuid, 'resetState');
  call.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, vm_state: args.state }, 'server state reset by an admin');
  return { status: 202 };
}

export async function consoleOutput(call: ActionCall, args: z.output<typeof operationBodies.consoleOutput>): Promise<ActionResult> {
  const length = args?.length ?? null;
  const { output } = await call.host().get_console_output(call.ctx, { instance_id: call.instance.uuid, tail_length: length === -1 ? null : length });
  return { status: 200, body: { output } };
}

/** Evacuation: only while the server's compute is down; the destination is named or the scheduler's pick. */
export async function evacuate(call: ActionCall, args: z.output<typeof evacuateBody>): Promise<ActionResult> {
  const { api, ctx, instance, microversion } = call;
  if (args.onSharedStorage !== undefined && isAtLeast(microversion, '2.14')) {
    throw badRequest("Invalid input for field/attribute evacuate. Additional properties are not allowed ('onSharedStorage' was unexpected)");
  }
  const source = instance.host;
  if (!source) throw conflict(`Cannot 'evacuate' instance ${instance.uuid}: it is not on any host.`);
  if (await api.computeUp(ctx, source)) throw badRequest(`Compute service of ${source} is still in use.`);
  if (args.host === source) throw badRequest("The target host can't be the same one.");
  const destination = args.host ?? (await pickHost(call, source));
  if (args.host) {
    try {
      await call.db.services.getByHostAndBinary(ctx, args.host, 'nova-compute');
    } catch (error) {
      if (isDbError(error, 'ServiceNotFound')) throw new ApiFault(404, `Compute host ${args.host} not found.`);
      throw error;
    }
  }
  await call.begin();
  await call.clients.compute.prepare({ server: destination }).evacuate_instance(ctx, { instance_id: instance.uuid, source_host: source, image_ref: instance.image_ref });
  call.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, source_host: source, destination }, 'evacuation cast to the destination');
  if (isAtMost(microversion, '2.13')) return { status: 200, body: { adminPass: args.adminPass ?? generateAdminPass() } };
  return { status: 200 };
}

/** Live migration: the source compute must be up; the destination is named or the scheduler's pick. */
export async function migrateLive(call: ActionCall, args: z.output<typeof migrateLiveBody>): Promise<ActionResult> {
  const { api, ctx, instance } = call;
  const host = args.host ?? undefined;
  const source = instance.host;
  if (!source) throw conflict(`Cannot 'os-migrateLive' instance ${instance.uuid}: it is not on any host.`);
  if (!(await api.computeUp(ctx, source))) throw badRequest(`Compute service of ${source} is unavailable at this time.`);
  if (host === source) throw badRequest(`The target host can't be the same one.`);
  if (host && !(await api.computeUp(ctx, host))) throw badRequest(`Compute service of ${host} is unavailable at this time.`);
  const destination = host ?? (await pickHost(call, source));
  await call.begin();
  await call.host().live_migration(ctx, { instance_id: instance.uuid, dest: destination });
  call.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, source_host: source, destination }, 'live migration cast to the source');
  return { status: 202 };
}

/** The scheduler's best host for the server other than `source`; 400 when none fits. */
async function pickHost(call: ActionCall, source: string): Promise<string> {
  const { db, ctx, instance } = call;
  const flavor = await db.flavors.get(ctx, instance.instance_type_id ?? 0);
  const requestSpec = {
    instance_type: {
      id: flavor.id, flavorid: flavor.flavorid, name: flavor.name, memory_mb: instance.memory_mb ?? flavor.memory_mb,
      vcpus: instance.vcpus ?? flavor.vcpus, root_gb: instance.root_gb ?? flavor.root_gb, ephemeral_gb: instance.ephemeral_gb ?? flavor.ephemeral_gb,
    },
    image_ref: instance.image_ref,
    project_id: instance.project_id,
  };
  const { hosts } = await call.clients.scheduler.select_destinations(ctx, { request_spec: requestSpec, filter_properties: { retry: { num_attempts: 1, hosts: [source] } } });
  const host = hosts.find((candidate) => candidate.host !== source);
  if (!host) throw badRequest('No valid host was found. There are not enough hosts available.');
  return host.host;
}
