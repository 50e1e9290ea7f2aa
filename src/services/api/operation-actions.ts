/**
 * Server actions for operators and owners: lock/unlock (reason from 2.73), os-resetState
 * (admin), evacuate (admin; only while the server's compute is down; the scheduler picks
 * a host unless one is named), os-migrateLive (admin; the source compute must be up) and
 * os-getConsoleOutput.
 */
import { z } from 'zod';
import { isDbError } from '../../db/index.js';
import { TaskState, VmState } from '../states.js';
import { action, begin, generateAdminPass, requireState, type ActionCall, type ActionSpec } from './action-kit.js';
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

/** The operation actions, by body name. */
export const operationActions = {
  lock: action({
    schema: z.null().or(z.strictObject({ locked_reason: z.string().max(255).optional() })),
    lockChecked: false,
    run: async (call, args) => {
      const { api, ctx, instance } = call;
      if (args?.locked_reason !== undefined && !isAtLeast(call.microversion, '2.73')) {
        throw badRequest("Invalid input for field/attribute lock. Additional properties are not allowed ('locked_reason' was unexpected)");
      }
      const lockedBy = instance.project_id === ctx.projectId ? 'owner' : 'admin';
      await api.deps.db.instances.update(ctx, instance.uuid, { locked: true, locked_by: lockedBy, locked_reason: args?.locked_reason ?? null });
      await api.deps.db.instanceActions.start(ctx, instance.uuid, 'lock');
      return { status: 202 };
    },
  }),
  unlock: action({
    schema: z.null().or(z.object({})),
    lockChecked: false,
    run: async (call) => {
      const { api, ctx, instance } = call;
      if (instance.locked && instance.locked_by === 'admin' && !ctx.isAdmin) {
        throw forbidden("Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.");
      }
      await api.deps.db.instances.update(ctx, instance.uuid, { locked: false, locked_by: null, locked_reason: null });
      await api.deps.db.instanceActions.start(ctx, instance.uuid, 'unlock');
      return { status: 202 };
    },
  }),
  'os-resetState': action({
    schema: z.strictObject({ state: z.enum(['active', 'error']) }),
    adminPolicy: 'os_compute_api:os-admin-actions:reset_state',
    lockChecked: false,
    run: async (call, args) => {
      const { api, ctx, instance } = call;
      await api.deps.db.instances.update(ctx, instance.uuid, { vm_state: args.state === 'active' ? VmState.ACTIVE : VmState.ERROR, task_state: null });
      await api.deps.db.instanceActions.start(ctx, instance.uuid, 'resetState');
      api.deps.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, vm_state: args.state }, 'server state reset by an admin');
      return { status: 202 };
    },
  }),
  evacuate: action({
    schema: evacuateBody,
    adminPolicy: 'os_compute_api:os-evacuate',
    lockChecked: false,
    run: (call, args) => evacuate(call, args),
  }),
  'os-migrateLive': action({
    schema: migrateLiveBody,
    adminPolicy: 'os_compute_api:os-migrate-server:migrate_live',
    lockChecked: true,
    run: (call, args) => migrateLive(call, args.host ?? undefined),
  }),
  'os-getConsoleOutput': action({
    schema: z.null().or(z.looseObject({ length: consoleLength.optional() })),
    lockChecked: false,
    run: async (call, args) => {
      const length = args?.length ?? null;
      const { output } = await call.host().get_console_output(call.ctx, { instance_id: call.instance.uuid, tail_length: length === -1 ? null : length });
      return { status: 200, body: { output } };
    },
  }),
} satisfies Record<string, ActionSpec<any>>;

async function evacuate(call: ActionCall, args: z.output<typeof evacuateBody>) {
  const { api, ctx, instance, microversion } = call;
  if (args.onSharedStorage !== undefined && isAtLeast(microversion, '2.14')) {
    throw badRequest("Invalid input for field/attribute evacuate. Additional properties are not allowed ('onSharedStorage' was unexpected)");
  }
  requireState(instance, 'evacuate', [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR]);
  const source = instance.host;
  if (!source) throw conflict(`Cannot 'evacuate' instance ${instance.uuid}: it is not on any host.`);
  if (await api.computeUp(ctx, source)) throw badRequest(`Compute service of ${source} is still in use.`);
  if (args.host === source) throw badRequest("The target host can't be the same one.");
  const destination = args.host ?? (await pickHost(call, source));
  if (args.host) {
    try {
      await api.deps.db.services.getByHostAndBinary(ctx, args.host, 'nova-compute');
    } catch (error) {
      if (isDbError(error, 'ServiceNotFound')) throw new ApiFault(404, `Compute host ${args.host} not found.`);
      throw error;
    }
  }
  await begin(call, 'evacuate', { task_state: TaskState.REBUILDING });
  await api.deps.compute.prepare({ server: destination }).evacuate_instance(ctx, { instance_id: instance.uuid, source_host: source, image_ref: instance.image_ref });
  api.deps.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, source_host: source, destination }, 'evacuation cast to the destination');
  if (isAtMost(microversion, '2.13')) return { status: 200, body: { adminPass: args.adminPass ?? generateAdminPass() } };
  return { status: 200 };
}

/** Live migration: the source compute must be up; the destination is named or the scheduler's pick. */
async function migrateLive(call: ActionCall, host: string | undefined) {
  const { api, ctx, instance } = call;
  requireState(instance, 'os-migrateLive', [VmState.ACTIVE]);
  const source = instance.host;
  if (!source) throw conflict(`Cannot 'os-migrateLive' instance ${instance.uuid}: it is not on any host.`);
  if (!(await api.computeUp(ctx, source))) throw badRequest(`Compute service of ${source} is unavailable at this time.`);
  if (host === source) throw badRequest(`The target host can't be the same one.`);
  if (host && !(await api.computeUp(ctx, host))) throw badRequest(`Compute service of ${host} is unavailable at this time.`);
  const destination = host ?? (await pickHost(call, source));
  await begin(call, 'live-migration', { task_state: TaskState.MIGRATING });
  await call.host().live_migration(ctx, { instance_id: instance.uuid, dest: destination });
  api.deps.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, source_host: source, destination }, 'live migration cast to the source');
  return { status: 202 };
}

/** The scheduler's best host for the server other than `source`; 400 when none fits. */
async function pickHost(call: ActionCall, source: string): Promise<string> {
  const { api, ctx, instance } = call;
  const flavor = await api.deps.db.flavors.get(ctx, instance.instance_type_id ?? 0);
  const requestSpec = {
    instance_type: {
      id: flavor.id, flavorid: flavor.flavorid, name: flavor.name, memory_mb: instance.memory_mb ?? flavor.memory_mb,
      vcpus: instance.vcpus ?? flavor.vcpus, root_gb: instance.root_gb ?? flavor.root_gb, ephemeral_gb: instance.ephemeral_gb ?? flavor.ephemeral_gb,
    },
    image_ref: instance.image_ref,
    project_id: instance.project_id,
  };
  const { hosts } = await api.deps.scheduler.select_destinations(ctx, { request_spec: requestSpec, filter_properties: { retry: { num_attempts: 1, hosts: [source] } } });
  const host = hosts.find((candidate) => candidate.host !== source);
  if (!host) throw badRequest('No valid host was found. There are not enough hosts available.');
  return host.host;
}
