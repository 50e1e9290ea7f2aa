/**
 * What every server action is made of (one table row per action: its body schema, the
 * microversions it exists at, its policy, whether a lock refuses it, the vm_states it
 * starts from and the task_state it sets, and its handler), and the helpers handlers
 * share. {@link actionTable} type-checks each row's handler and states against the
 * row's own schema.
 */
import { randomInt } from 'node:crypto';
import type { z } from 'zod';
import { isDbError, type Db, type InstanceChanges, type InstanceRow } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { ContractClient } from '../../rpc/contract.js';
import type { RequestContext } from '../../rpc/index.js';
import type { computeContract } from '../compute/contract.js';
import type { ApiClients, ComputeApi } from './compute-api.js';
import { conflict } from './faults.js';
import type { Microversion, MicroversionRange } from './microversion.js';
import { parseBody } from './schemas.js';

/** What an action answers. */
export interface ActionResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What the action handlers work with, given to the server routes explicitly. */
export interface ActionDeps {
  api: ComputeApi;
  db: Db;
  clients: ApiClients;
  logger: Logger;
}

/** Everything a handler gets besides its parsed body. */
export interface ActionCall extends ActionDeps {
  ctx: RequestContext;
  instance: InstanceRow;
  base: string;
  microversion: Microversion;
  /** The compute that runs the server; 409 when it is on no host. */
  host(): ContractClient<typeof computeContract.methods>;
  /**
   * Sets the row's task_state (with `changes`) by a CAS from its `fromTask`, and records
   * the instance action: 409 when another action got there first. Only for rows with `states`.
   */
  begin(changes?: InstanceChanges): Promise<InstanceRow>;
}

/** Where an action may start and the task it runs under. */
export interface TaskStates {
  /** The name recorded as the instance action and shown in conflicts (e.g. `stop` for os-stop). */
  action: string;
  /** vm_states the server must be in; 409 otherwise (checked before the handler runs). */
  vmStates: readonly string[];
  /** task_state `begin()` sets. */
  task: string;
  /** task_states `begin()` may move from; default only "no task". */
  fromTask?: ReadonlyArray<string | null>;
}

/** A handler: the call and the body its schema parsed. */
export type ActionHandler<S extends z.ZodType> = (call: ActionCall, args: z.output<S>) => Promise<ActionResult>;

/** One server action (one row of the table). */
export interface ActionSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Microversions the action exists at; outside, "no such action" (404 from its removal on). */
  versions?: MicroversionRange;
  /** Admin-only under this policy name (403 otherwise). */
  adminPolicy?: string;
  /** Whether a locked server refuses it from non-admins (Nova's check_instance_lock). */
  lockChecked: boolean;
  /** The states of an action that runs as a task; a function when they depend on the body. */
  states?: TaskStates | ((args: z.output<S>) => TaskStates);
  run: ActionHandler<S>;
}

/** A table of actions by body name, each row checked against its own schema. */
export type ActionTable<T extends Record<string, z.ZodType>> = { readonly [K in keyof T]: ActionSpec<T[K]> };

/** One row of the table, its body type closed over: what the dispatcher runs. */
export interface BoundAction {
  readonly versions: MicroversionRange | undefined;
  readonly adminPolicy: string | undefined;
  readonly lockChecked: boolean;
  /** Parses the body (400 naming the field) into the action's task states and its run. */
  parse(body: unknown, name: string): { states: TaskStates | undefined; run(call: ActionCall): Promise<ActionResult> };
}

/**
 * Declares the action table. Each row's `run` and `states` get the output type of that
 * row's `schema`, so a handler written for another body does not compile. Returns the
 * rows by name, each bound to its schema (no cast between a body and its handler).
 */
export function actionTable<T extends Record<string, z.ZodType>>(table: ActionTable<T>): ReadonlyMap<string, BoundAction> {
  return new Map(Object.entries<ActionSpec<T[keyof T]>>(table).map(([name, spec]) => [name, bind(spec)]));
}

function bind<S extends z.ZodType>(spec: ActionSpec<S>): BoundAction {
  return {
    versions: spec.versions,
    adminPolicy: spec.adminPolicy,
    lockChecked: spec.lockChecked,
    parse: (body, name) => {
      const args = parseBody(spec.schema, body, name);
      return { states: typeof spec.states === 'function' ? spec.states(args) : spec.states, run: (call) => spec.run(call, args) };
    },
  };
}

/** 409 unless the server is in one of `allowed` vm_states. */
export function requireState(instance: InstanceRow, action: string, allowed: readonly string[]): void {
  if (!allowed.includes(instance.vm_state ?? '')) {
    throw conflict(`Cannot '${action}' instance ${instance.uuid} while it is in vm_state ${instance.vm_state}`);
  }
}

/** Sets the task_state with a CAS from `states.fromTask` (default: no task) and records the action. */
export async function beginTask(deps: ActionDeps, ctx: RequestContext, instance: InstanceRow, states: TaskStates, changes: InstanceChanges = {}): Promise<InstanceRow> {
  let updated: InstanceRow;
  try {
    updated = await deps.db.instances.update(ctx, instance.uuid, { ...changes, task_state: states.task }, { expectedTaskState: states.fromTask ?? [null] });
  } catch (error) {
    if (isDbError(error, 'UnexpectedTaskState')) {
      throw conflict(`Cannot '${states.action}' instance ${instance.uuid} while it is in task_state ${instance.task_state}`);
    }
    throw error;
  }
  await deps.db.instanceActions.start(ctx, instance.uuid, states.action);
  deps.logger.info({ request_id: ctx.requestId, instance_id: instance.uuid, action: states.action, task_state: updated.task_state }, 'server action accepted');
  return updated;
}

/** A fresh administrator password for a server (12 unambiguous characters). */
export function generateAdminPass(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('');
}
