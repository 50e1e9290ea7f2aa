/**
 * What an instance HA workflow has done, kept in the database so another engine can
 * resume it: its steps (Masakari's recovery_workflow_details) and one vmove per server
 * it moves, unique per (notification, instance) so nothing is moved twice.
 */
import { firstOrNotFound } from './model-query.js';
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { rowReader, utcNow } from './rows.js';
import { table, type DbSession } from './session.js';

/** States of a workflow step (taskflow's). */
export type HaStepState = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILURE' | 'REVERTED';

/** One progress line of a step. */
export interface HaProgressDetail {
  timestamp: string;
  message: string;
  progress: string;
}

/** A row of `ha_workflow_steps`. */
export interface HaStepRow {
  notification_uuid: string;
  name: string;
  position: number;
  state: HaStepState;
  progress: number;
  progress_details: HaProgressDetail[];
}

/** Statuses and types of a vmove (Masakari's). */
export type HaVmoveStatus = 'pending' | 'ongoing' | 'succeeded' | 'failed' | 'ignored';

/** A row of `ha_vmoves`. */
export interface HaVmoveRow {
  id: number;
  uuid: string;
  notification_uuid: string;
  instance_uuid: string;
  instance_name: string | null;
  source_host: string;
  dest_host: string | null;
  start_time: Date | null;
  end_time: Date | null;
  status: HaVmoveStatus;
  type: string;
  message: string | null;
  prior_vm_state: string | null;
  prior_locked: boolean | null;
  created_at: Date;
  updated_at: Date | null;
}

const readStepRaw = rowReader<Omit<HaStepRow, 'progress_details'> & { progress_details: string }>({});
const readStep = (raw: unknown): HaStepRow => {
  const row = readStepRaw(raw);
  return { notification_uuid: row.notification_uuid, name: row.name, position: Number(row.position), state: row.state, progress: Number(row.progress), progress_details: JSON.parse(row.progress_details) as HaProgressDetail[] };
};
const readVmoveRaw = rowReader<HaVmoveRow>({ dates: ['start_time', 'end_time'] });
const readVmove = (raw: unknown): HaVmoveRow => {
  const row = readVmoveRaw(raw);
  return { ...row, prior_locked: row.prior_locked === null ? null : Boolean(row.prior_locked) };
};

/** `2026-12-07 18:00:00.123456`, as Masakari stamps progress lines. */
function progressTimestamp(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 23)}000`;
}

/** The steps of a workflow, in order. */
export async function listHaSteps(session: DbSession, _ctx: DbContext, notificationUuid: string): Promise<HaStepRow[]> {
  const rows: unknown[] = await table(session, 'ha_workflow_steps').where('notification_uuid', notificationUuid).orderBy('position');
  return rows.map(readStep);
}

/**
 * Records progress of a step (creating it at `position` the first time): its state,
 * progress (0..1) and, when given, one more progress line.
 */
export async function recordHaStep(
  session: DbSession,
  _ctx: DbContext,
  notificationUuid: string,
  step: { name: string; position: number; state: HaStepState; progress: number; message?: string },
): Promise<void> {
  const now = utcNow();
  const existing: unknown = await table(session, 'ha_workflow_steps').where({ notification_uuid: notificationUuid, name: step.name }).first();
  const details = existing ? readStep(existing).progress_details : [];
  if (step.message) details.push({ timestamp: progressTimestamp(now), message: step.message, progress: String(step.progress) });
  const values = { state: step.state, progress: step.progress, progress_details: JSON.stringify(details), updated_at: now };
  if (existing) {
    await table(session, 'ha_workflow_steps').where({ notification_uuid: notificationUuid, name: step.name }).update(values);
  } else {
    await table(session, 'ha_workflow_steps').insert({ ...values, notification_uuid: notificationUuid, name: step.name, position: step.position, created_at: now });
  }
}

/** The vmove of this instance in this workflow, created `pending` the first time. */
export async function ensureHaVmove(
  session: DbSession,
  _ctx: DbContext,
  values: Pick<HaVmoveRow, 'notification_uuid' | 'instance_uuid' | 'instance_name' | 'source_host' | 'type'>,
): Promise<HaVmoveRow> {
  const find = () => table(session, 'ha_vmoves').where({ notification_uuid: values.notification_uuid, instance_uuid: values.instance_uuid }).first() as Promise<unknown>;
  const existing = await find();
  if (existing) return readVmove(existing);
  const now = utcNow();
  const row = { ...values, uuid: randomUUID(), dest_host: null, start_time: null, end_time: null, status: 'pending', message: null, prior_vm_state: null, prior_locked: null, created_at: now, updated_at: null };
  await table(session, 'ha_vmoves').insert(row);
  return readVmove(await find());
}

/** Changes a vmove (status, dest_host, times, message). */
export async function updateHaVmove(
  session: DbSession,
  _ctx: DbContext,
  uuid: string,
  changes: Partial<Pick<HaVmoveRow, 'status' | 'dest_host' | 'start_time' | 'end_time' | 'message' | 'prior_vm_state' | 'prior_locked'>>,
): Promise<void> {
  const updated = await table(session, 'ha_vmoves').where('uuid', uuid).update({ ...changes, updated_at: utcNow() });
  if (updated === 0) throw new NotFoundError('HaVmove', uuid, `No vmove with id ${uuid}.`);
}

/** The vmoves of a notification, by id, optionally filtered. */
export async function listHaVmoves(session: DbSession, _ctx: DbContext, notificationUuid: string, filters: { status?: string; type?: string } = {}): Promise<HaVmoveRow[]> {
  const query = table(session, 'ha_vmoves').where('notification_uuid', notificationUuid).orderBy('id');
  if (filters.status) query.where('status', filters.status);
  if (filters.type) query.where('type', filters.type);
  const rows: unknown[] = await query;
  return rows.map(readVmove);
}

/** The vmove with this uuid in this notification; HaVmoveNotFound otherwise. */
export async function getHaVmove(session: DbSession, _ctx: DbContext, notificationUuid: string, uuid: string): Promise<HaVmoveRow> {
  return firstOrNotFound(table(session, 'ha_vmoves').where({ notification_uuid: notificationUuid, uuid }), readVmove, () => new NotFoundError('HaVmove', uuid, `No vmove with id ${uuid}.`));
}

/** The workflow db functions, to bind on a Db. */
export const haWorkflowFunctions = {
  listSteps: listHaSteps,
  recordStep: recordHaStep,
  ensureVmove: ensureHaVmove,
  updateVmove: updateHaVmove,
  listVmoves: listHaVmoves,
  getVmove: getHaVmove,
};
