/**
 * What every server action is made of (one table row per action: its body schema, the
 * microversions it exists at, its policy, whether a lock refuses it, and its handler),
 * and the helpers handlers share: state checks and the task_state CAS that records the
 * instance action.
 */
import { randomInt } from 'node:crypto';
import type { z } from 'zod';
import { isDbError, type InstanceChanges, type InstanceRow } from '../../db/index.js';
import type { ContractClient } from '../../rpc/contract.js';
import type { RequestContext } from '../../rpc/index.js';
import type { computeContract } from '../compute/contract.js';
import type { ComputeApi } from './compute-api.js';
import { badRequest, conflict } from './faults.js';
import type { Microversion, MicroversionRange } from './microversion.js';

/** What an action answers. */
export interface ActionResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Everything a handler gets besides its parsed body. */
export interface ActionCall {
  api: ComputeApi;
  ctx: RequestContext;
  instance: InstanceRow;
  base: string;
  microversion: Microversion;
  /** The compute that runs the server; 409 when it is on no host. */
  host(): ContractClient<typeof computeContract.methods>;
}

/** One server action. */
export interface ActionSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Microversions the action exists at; outside, "no such action" (404 from its removal on). */
  versions?: MicroversionRange;
  /** Admin-only under this policy name (403 otherwise). */
  adminPolicy?: string;
  /** Whether a locked server refuses it from non-admins (Nova's check_instance_lock). */
  lockChecked: boolean;
  run(call: ActionCall, args: z.output<S>): Promise<ActionResult>;
}

/** Declares an action with its body type inferred from the schema. */
export function action<S extends z.ZodType>(spec: ActionSpec<S>): ActionSpec<S> {
  return spec;
}

/** 409 unless the server is in one of `allowed` vm_states. */
export function requireState(instance: InstanceRow, action: string, allowed: readonly string[]): void {
  if (!allowed.includes(instance.vm_state ?? '')) {
    throw conflict(`Cannot '${action}' instance ${instance.uuid} while it is in vm_state ${instance.vm_state}`);
  }
}

/** Sets the task_state with a CAS from `from` (default: no task) and records the action. */
export async function begin(
  call: ActionCall,
  action: string,
  changes: InstanceChanges,
  from: ReadonlyArray<string | null> = [null],
): Promise<InstanceRow> {
  const { api, ctx, instance } = call;
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

/** A NotFound from a lookup in the request body is a 400, as Nova answers. */
export function notFoundAs400(message: string): (error: unknown) => never {
  return (error) => {
    if (isDbError(error) && error.code.endsWith('NotFound')) throw badRequest(message);
    throw error;
  };
}

/** A fresh administrator password for a server (12 unambiguous characters). */
export function generateAdminPass(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('');
}
