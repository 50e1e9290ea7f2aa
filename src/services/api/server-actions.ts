/**
 * POST /servers/{id}/action: the one table of every server action. A row is the action's
 * body schema, the microversions it exists at, its policy, whether a lock refuses it, the
 * vm_states it starts from and the task_state it sets, and its handler (in
 * lifecycle-actions.ts, operation-actions.ts or network-actions.ts). `actionTable`
 * checks each row's handler against its own schema. The dispatcher checks that exactly
 * one known action is named and exists at the request's microversion, the policy, the
 * lock, the body and the vm_state, then runs the handler; `call.begin()` sets the task
 * with a CAS (so two actions cannot race) and records the instance action.
 */
import { z } from 'zod';
import type { RequestContext } from '../../rpc/index.js';
import { TaskState, VmState } from '../states.js';
import { actionTable, beginTask, requireState, type ActionDeps, type ActionResult } from './action-kit.js';
import { refuseIfLocked } from './compute-api.js';
import { ApiFault, badRequest, conflict, forbidden } from './faults.js';
import { castTo, changePassword, createImage, rebuild, reboot, resize } from './lifecycle-actions.js';
import { formatMicroversion, inRange, type Microversion } from './microversion.js';
import { addFloatingIp, networkBodies, removeFloatingIp, securityGroupChange } from './network-actions.js';
import { consoleOutput, evacuate, lock, migrateLive, operationBodies, resetState, unlock } from './operation-actions.js';
import { actionBodies } from './schemas.js';

export type { ActionResult } from './action-kit.js';

const noBody = z.null().or(z.object({}));
const ACTIVE_OR_STOPPED = [VmState.ACTIVE, VmState.STOPPED];

/** Every server action, by the name its body uses. */
export const SERVER_ACTIONS = actionTable({
  reboot: {
    schema: actionBodies.reboot,
    lockChecked: true,
    states: (args) =>
      args.type === 'HARD'
        ? { action: 'reboot', vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR], task: TaskState.REBOOTING_HARD, fromTask: [null, TaskState.REBOOTING] }
        : { action: 'reboot', vmStates: [VmState.ACTIVE], task: TaskState.REBOOTING },
    run: reboot,
  },
  'os-stop': { schema: noBody, lockChecked: true, states: { action: 'stop', vmStates: [VmState.ACTIVE, VmState.ERROR], task: TaskState.POWERING_OFF }, run: castTo('stop_instance') },
  'os-start': { schema: noBody, lockChecked: true, states: { action: 'start', vmStates: [VmState.STOPPED], task: TaskState.POWERING_ON }, run: castTo('start_instance') },
  rebuild: { schema: actionBodies.rebuild, lockChecked: true, states: { action: 'rebuild', vmStates: [...ACTIVE_OR_STOPPED, VmState.ERROR], task: TaskState.REBUILDING }, run: rebuild },
  resize: { schema: actionBodies.resize, lockChecked: true, states: { action: 'resize', vmStates: ACTIVE_OR_STOPPED, task: TaskState.RESIZE_PREP }, run: resize },
  confirmResize: {
    schema: noBody,
    lockChecked: true,
    states: { action: 'confirmResize', vmStates: [VmState.RESIZED], task: TaskState.RESIZE_CONFIRMING },
    run: castTo('confirm_resize', 204),
  },
  revertResize: { schema: noBody, lockChecked: true, states: { action: 'revertResize', vmStates: [VmState.RESIZED], task: TaskState.RESIZE_REVERTING }, run: castTo('revert_resize') },
  changePassword: {
    schema: actionBodies.changePassword,
    lockChecked: true,
    states: { action: 'changePassword', vmStates: [VmState.ACTIVE], task: TaskState.UPDATING_PASSWORD },
    run: changePassword,
  },
  createImage: { schema: actionBodies.createImage, lockChecked: true, states: { action: 'createImage', vmStates: ACTIVE_OR_STOPPED, task: TaskState.IMAGE_SNAPSHOT }, run: createImage },
  lock: { schema: operationBodies.lock, lockChecked: false, run: lock },
  unlock: { schema: operationBodies.unlock, lockChecked: false, run: unlock },
  'os-resetState': { schema: operationBodies.resetState, adminPolicy: 'os_compute_api:os-admin-actions:reset_state', lockChecked: false, run: resetState },
  evacuate: {
    schema: operationBodies.evacuate,
    adminPolicy: 'os_compute_api:os-evacuate',
    lockChecked: false,
    states: { action: 'evacuate', vmStates: [...ACTIVE_OR_STOPPED, VmState.ERROR], task: TaskState.REBUILDING },
    run: evacuate,
  },
  'os-migrateLive': {
    schema: operationBodies.migrateLive,
    adminPolicy: 'os_compute_api:os-migrate-server:migrate_live',
    lockChecked: true,
    states: { action: 'live-migration', vmStates: [VmState.ACTIVE], task: TaskState.MIGRATING },
    run: migrateLive,
  },
  'os-getConsoleOutput': { schema: operationBodies.consoleOutput, lockChecked: false, run: consoleOutput },
  addSecurityGroup: { schema: networkBodies.securityGroup, lockChecked: false, run: securityGroupChange('addToInstance') },
  removeSecurityGroup: { schema: networkBodies.securityGroup, lockChecked: false, run: securityGroupChange('removeFromInstance') },
  addFloatingIp: { schema: networkBodies.addFloatingIp, versions: { max: '2.43' }, lockChecked: false, run: addFloatingIp },
  removeFloatingIp: { schema: networkBodies.removeFloatingIp, versions: { max: '2.43' }, lockChecked: false, run: removeFloatingIp },
});

/** Runs the one action named in `body`. */
export async function performAction(deps: ActionDeps, ctx: RequestContext, id: string, body: unknown, base: string, microversion: Microversion): Promise<ActionResult> {
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw badRequest('The action body must be an object with exactly one action, e.g. {"reboot": {"type": "SOFT"}}.');
  }
  const [name, value] = Object.entries(body)[0]!;
  const spec = SERVER_ACTIONS.get(name);
  if (!spec) throw badRequest(`There is no such action: ${name}`);
  if (spec.versions && !inRange(microversion, spec.versions)) {
    throw new ApiFault(404, `API version ${formatMicroversion(microversion)} is not supported on this method (action ${name}).`);
  }
  const instance = await deps.db.instances.get(ctx, id);
  if (spec.adminPolicy && !ctx.isAdmin) throw forbidden(`Policy doesn't allow ${spec.adminPolicy} to be performed.`);
  if (spec.lockChecked) refuseIfLocked(ctx, instance);
  const { states, run } = spec.parse(value, name);
  if (states) requireState(instance, states.action, states.vmStates);
  const host = () => {
    if (!instance.host) throw conflict(`Cannot '${name}' instance ${id}: it is not on any host.`);
    return deps.clients.compute.prepare({ server: instance.host });
  };
  const begin = (changes = {}) => {
    if (!states) throw new Error(`action ${name} has no task states to begin`);
    return beginTask(deps, ctx, instance, states, changes);
  };
  return run({ ...deps, ctx, instance, base, microversion, host, begin });
}
