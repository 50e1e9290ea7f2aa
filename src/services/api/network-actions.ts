/**
 * The handlers and bodies of a server's network-side actions: addSecurityGroup/
 * removeSecurityGroup (the group by name, or by id as openstackclient sends it) and
 * addFloatingIp/removeFloatingIp, which the network service carries out over RPC. Their
 * rows are in server-actions.ts.
 */
import { z } from 'zod';
import { isDbError } from '../../db/index.js';
import { RemoteError } from '../../rpc/index.js';
import { elevated } from '../context.js';
import type { ActionCall, ActionResult } from './action-kit.js';
import { ApiFault, badRequest, notFound } from './faults.js';

/** The bodies of the network actions. */
export const networkBodies = {
  securityGroup: z.strictObject({ name: z.string().trim().min(1).max(255) }),
  addFloatingIp: z.looseObject({ address: z.ipv4(), fixed_address: z.ipv4().optional() }),
  removeFloatingIp: z.looseObject({ address: z.ipv4() }),
};

export async function addFloatingIp(call: ActionCall, args: z.output<typeof networkBodies.addFloatingIp>): Promise<ActionResult> {
  await floatingIpOfProject(call, args.address);
  if ((await call.db.fixedIps.listByInstance(elevated(call.ctx), call.instance.uuid)).length === 0) {
    throw badRequest('Unable to associate floating IP to fixed IP for instance. Instance has no fixed IPv4 addresses to associate.');
  }
  await remote(() =>
    call.clients.network.associate_floating_ip(call.ctx, { instance_id: call.instance.uuid, floating_address: args.address, fixed_address: args.fixed_address ?? null }),
  );
  return { status: 202 };
}

export async function removeFloatingIp(call: ActionCall, args: z.output<typeof networkBodies.removeFloatingIp>): Promise<ActionResult> {
  await floatingIpOfProject(call, args.address);
  await remote(() => call.clients.network.disassociate_floating_ip(call.ctx, { instance_id: call.instance.uuid, floating_address: args.address })).catch((error) => {
    if (error instanceof ApiFault && error.status === 400) throw new ApiFault(409, `Floating IP ${args.address} is not associated with instance ${call.instance.uuid}.`);
    throw error;
  });
  return { status: 202 };
}

/** addSecurityGroup / removeSecurityGroup: the group by name or id, 202. */
export function securityGroupChange(change: 'addToInstance' | 'removeFromInstance') {
  return async (call: ActionCall, args: z.output<typeof networkBodies.securityGroup>): Promise<ActionResult> => {
    const group = await projectGroup(call, args.name);
    await call.db.securityGroups[change](elevated(call.ctx), call.instance.uuid, group);
    return { status: 202 };
  };
}

/** The id of the server's project's group named (or with id) `name`; 404 otherwise. */
async function projectGroup(call: ActionCall, name: string): Promise<number> {
  const project = call.instance.project_id ?? '';
  if (name === 'default') await call.db.securityGroups.ensureDefault(elevated(call.ctx), project);
  return (await call.db.securityGroups.getByNameOrId(elevated(call.ctx), project, name)).id;
}

async function floatingIpOfProject(call: ActionCall, address: string): Promise<void> {
  try {
    const row = await call.db.floatingIps.getByAddress(call.ctx, address);
    if (row.project_id !== call.instance.project_id) throw notFound(`floating IP not found for address ${address}.`);
  } catch (error) {
    if (isDbError(error, 'FloatingIpNotFound')) throw notFound(`floating IP not found for address ${address}.`);
    throw error;
  }
}

const REMOTE_STATUS: Record<string, number> = {
  NotFoundError: 404,
  NoMoreFloatingIpsError: 404,
  NoMoreFixedIpsError: 400,
  InvalidRequestError: 400,
};

/**
 * Runs a network service call, turning the db errors it answers with (NotFound,
 * NoMoreFloatingIps, InvalidRequest) into the API's faults with their message.
 */
export async function remote<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RemoteError && REMOTE_STATUS[error.excType]) throw new ApiFault(REMOTE_STATUS[error.excType]!, error.value);
    throw error;
  }
}
