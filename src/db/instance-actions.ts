/**
 * Instance actions and their events: the per-instance event log behind
 * `nova instance-action-list`. An action is keyed by the request that started it, so
 * the context's request_id ties events to their action.
 */
import { withReadDeleted, type DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { getInstance } from './instances.js';
import { modelQuery, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `instance_actions`. */
export interface InstanceActionRow {
  id: number;
  instance_uuid: string;
  action: string;
  request_id: string | null;
  user_id: string | null;
  project_id: string | null;
  start_time: Date | null;
  finish_time: Date | null;
  message: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** A row of `instance_actions_events`. */
export interface InstanceActionEventRow {
  id: number;
  action_id: number;
  event: string;
  start_time: Date | null;
  finish_time: Date | null;
  result: string | null;
  traceback: string | null;
  host: string | null;
  details: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** How an event ended. */
export interface EventOutcome {
  result: 'Success' | 'Error' | string;
  traceback?: string | null;
  details?: string | null;
}

const readAction = rowReader<InstanceActionRow>({ dates: ['start_time', 'finish_time'] });
const readEvent = rowReader<InstanceActionEventRow>({ dates: ['start_time', 'finish_time'] });

/** Starts an action ("create", "reboot", ...) on an instance, for the context's request. */
export async function startInstanceAction(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
  action: string,
): Promise<InstanceActionRow> {
  const now = utcNow();
  const row = {
    instance_uuid: instanceUuid,
    action,
    request_id: ctx.requestId ?? null,
    user_id: ctx.userId ?? null,
    project_id: ctx.projectId ?? null,
    start_time: now,
    finish_time: null,
    message: null,
    created_at: now,
    updated_at: null,
    deleted_at: null,
    deleted: 0,
  };
  const [id] = await table(session, 'instance_actions').insert(row);
  return readAction({ ...row, id: Number(id) });
}

/** Ends the context's request's action on an instance; an optional message (e.g. "Error"). */
export async function finishInstanceAction(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
  message: string | null = null,
): Promise<InstanceActionRow> {
  return withTransaction(session, async (tx) => {
    const action = await actionOfRequest(tx, ctx, instanceUuid);
    const now = utcNow();
    await table(tx, 'instance_actions').where('id', action.id).update({ finish_time: now, message, updated_at: now });
    return { ...action, finish_time: now, message, updated_at: now };
  });
}

/** The actions of an instance the context may see, newest first. */
export async function listInstanceActions(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
): Promise<InstanceActionRow[]> {
  await getInstance(session, withReadDeleted(ctx, 'yes'), instanceUuid);
  const rows: unknown[] = await modelQuery(session, ctx, 'instance_actions', { readDeleted: 'no' })
    .where('instance_uuid', instanceUuid)
    .orderBy('id', 'desc');
  return rows.map(readAction);
}

/** Records the start of an event (e.g. "compute_run_instance") of the context's request's action. */
export async function startInstanceActionEvent(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
  event: string,
  host: string | null = null,
): Promise<InstanceActionEventRow> {
  return withTransaction(session, async (tx) => {
    const action = await actionOfRequest(tx, ctx, instanceUuid);
    const now = utcNow();
    const row = {
      action_id: action.id,
      event,
      start_time: now,
      finish_time: null,
      result: null,
      traceback: null,
      host,
      details: null,
      created_at: now,
      updated_at: null,
      deleted_at: null,
      deleted: 0,
    };
    const [id] = await table(tx, 'instance_actions_events').insert(row);
    return readEvent({ ...row, id: Number(id) });
  });
}

/** Records how the latest unfinished event of that name ended; an error marks the action "Error". */
export async function finishInstanceActionEvent(
  session: DbSession,
  ctx: DbContext,
  instanceUuid: string,
  event: string,
  outcome: EventOutcome,
): Promise<InstanceActionEventRow> {
  return withTransaction(session, async (tx) => {
    const action = await actionOfRequest(tx, ctx, instanceUuid);
    const started: unknown = await modelQuery(tx, ctx, 'instance_actions_events', { readDeleted: 'no' })
      .where({ action_id: action.id, event })
      .whereNull('finish_time')
      .orderBy('id', 'desc')
      .first();
    if (!started) throw new NotFoundError('InstanceAction', `${event} of request ${String(ctx.requestId)}`);
    const now = utcNow();
    const changes = { finish_time: now, result: outcome.result, traceback: outcome.traceback ?? null, details: outcome.details ?? null, updated_at: now };
    const eventRow = readEvent(started);
    await table(tx, 'instance_actions_events').where('id', eventRow.id).update(changes);
    if (outcome.result === 'Error') await table(tx, 'instance_actions').where('id', action.id).update({ message: 'Error', updated_at: now });
    return { ...eventRow, ...changes };
  });
}

/** The events of an action, oldest first; the action's instance must be visible to the context. */
export async function listInstanceActionEvents(
  session: DbSession,
  ctx: DbContext,
  actionId: number,
): Promise<InstanceActionEventRow[]> {
  const action: { instance_uuid: string } | undefined = await modelQuery(session, ctx, 'instance_actions', { readDeleted: 'no' })
    .where('id', actionId)
    .first('instance_uuid');
  if (!action) throw new NotFoundError('InstanceAction', actionId);
  await getInstance(session, withReadDeleted(ctx, 'yes'), action.instance_uuid);
  const rows: unknown[] = await modelQuery(session, ctx, 'instance_actions_events', { readDeleted: 'no' })
    .where('action_id', actionId)
    .orderBy('id');
  return rows.map(readEvent);
}

/** The instance action db functions, to bind on a Db. */
export const instanceActionFunctions = {
  start: startInstanceAction,
  finish: finishInstanceAction,
  list: listInstanceActions,
  startEvent: startInstanceActionEvent,
  finishEvent: finishInstanceActionEvent,
  listEvents: listInstanceActionEvents,
};

async function actionOfRequest(session: DbSession, ctx: DbContext, instanceUuid: string): Promise<InstanceActionRow> {
  const query = modelQuery(session, ctx, 'instance_actions', { readDeleted: 'no' })
    .where({ instance_uuid: instanceUuid, request_id: ctx.requestId ?? null })
    .orderBy('id', 'desc');
  return firstOrNotFound(query, readAction, () => new NotFoundError('InstanceAction', `request ${String(ctx.requestId)} on instance ${instanceUuid}`));
}
