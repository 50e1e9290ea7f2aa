/**
 * Instance HA notifications and the engine's claim on them. A COMPUTE_HOST failure is
 * claimed once per (host, epoch) by a unique key, so the second report of one failure is
 * stored `ignored` in the same transaction: no lock service needed. An engine takes a
 * notification by compare-and-swap (status and lease) and renews its lease while it works;
 * a lease that runs out lets another engine take the workflow over.
 */
import { firstOrNotFound } from './model-query.js';
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { DuplicateEntryError, NotFoundError } from './errors.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** Statuses of a notification (Masakari's). */
export type HaNotificationStatus = 'new' | 'running' | 'finished' | 'error' | 'failed' | 'ignored';

/** A row of `ha_notifications` (payload parsed). */
export interface HaNotificationRow {
  id: number;
  notification_uuid: string;
  type: string;
  hostname: string;
  generated_time: Date;
  payload: Record<string, unknown>;
  source_host_uuid: string | null;
  failover_segment_uuid: string | null;
  status: HaNotificationStatus;
  message: string | null;
  engine: string | null;
  lease_until: Date | null;
  attempts: number;
  created_at: Date;
  updated_at: Date | null;
}

/** Columns of a new notification. */
export interface NewHaNotification {
  type: string;
  hostname: string;
  generated_time: Date;
  payload: Record<string, unknown>;
  source_host_uuid: string | null;
  failover_segment_uuid: string | null;
  status?: HaNotificationStatus;
  message?: string | null;
}

/** Filters of {@link listHaNotifications}. */
export interface HaNotificationFilters {
  status?: string;
  type?: string;
  source_host_uuid?: string;
  hostname?: string;
  generatedSince?: Date;
}

const readRaw = rowReader<Omit<HaNotificationRow, 'payload'> & { payload: string }>({ dates: ['generated_time', 'lease_until'] });
const readNotification = (raw: unknown): HaNotificationRow => {
  const row = readRaw(raw);
  return { ...row, attempts: Number(row.attempts), payload: JSON.parse(row.payload) as Record<string, unknown> };
};
const notFound = (uuid: string) => new NotFoundError('HaNotification', uuid, `No notification with id ${uuid}.`);

/**
 * Stores a notification. With `failure` (a host failure's identity), claims it first: when
 * another notification already claimed it, this one is stored `ignored` with a reason.
 */
export async function createHaNotification(
  session: DbSession,
  _ctx: DbContext,
  values: NewHaNotification,
  failure?: { epoch: string },
): Promise<HaNotificationRow> {
  const now = utcNow();
  const uuid = randomUUID();
  return withTransaction(session, async (tx) => {
    let { status = 'new', message = null } = values;
    if (failure && status === 'new') {
      const claimed = await claimFailure(tx, values.hostname, failure.epoch, uuid, now);
      if (claimed !== uuid) {
        status = 'ignored';
        message = `Duplicate of notification ${claimed}: this failure of host ${values.hostname} is already being recovered.`;
      }
    }
    const row = { ...values, status, message, payload: JSON.stringify(values.payload), notification_uuid: uuid, engine: null, lease_until: null, attempts: 0, created_at: now, updated_at: null };
    const [id] = await table(tx, 'ha_notifications').insert(row);
    return readNotification({ ...row, id: Number(id) });
  });
}

/** Inserts the (host, epoch) claim; returns the notification that holds it. */
async function claimFailure(tx: DbSession, hostname: string, epoch: string, uuid: string, now: Date): Promise<string> {
  const existing = (await table(tx, 'ha_failure_claims').where({ hostname, epoch }).first()) as { notification_uuid: string } | undefined;
  if (existing) return existing.notification_uuid;
  try {
    // A savepoint: a losing insert must not abort the surrounding transaction.
    await tx.knex.transaction(async (nested) => nested('ha_failure_claims').insert({ hostname, epoch, notification_uuid: uuid, created_at: now }));
    return uuid;
  } catch (error) {
    const translated = error instanceof DuplicateEntryError || /duplicate|unique/i.test(String((error as Error).message));
    if (!translated) throw error;
    // A locking read sees the winner's committed row, which the transaction's snapshot may not.
    const query = table(tx, 'ha_failure_claims').where({ hostname, epoch });
    if (tx.dialect !== 'sqlite') query.forShare();
    const winner = (await query.first()) as { notification_uuid: string } | undefined;
    return winner?.notification_uuid ?? 'unknown';
  }
}

/** Whether a notification already claimed this failure of the host. */
export async function haFailureClaimed(session: DbSession, _ctx: DbContext, hostname: string, epoch: string): Promise<boolean> {
  return (await table(session, 'ha_failure_claims').where({ hostname, epoch }).first()) !== undefined;
}

/** The notification with this uuid; HaNotificationNotFound otherwise. */
export async function getHaNotification(session: DbSession, _ctx: DbContext, uuid: string): Promise<HaNotificationRow> {
  return firstOrNotFound(table(session, 'ha_notifications').where('notification_uuid', uuid), readNotification, () => notFound(uuid));
}

/** Notifications matching the filters, newest first (or as sorted), at most `limit`. */
export async function listHaNotifications(
  session: DbSession,
  _ctx: DbContext,
  filters: HaNotificationFilters = {},
  page: { limit?: number; sortKey?: string; sortDir?: 'asc' | 'desc' } = {},
): Promise<HaNotificationRow[]> {
  const query = table(session, 'ha_notifications').orderBy([{ column: page.sortKey ?? 'created_at', order: page.sortDir ?? 'desc' }, { column: 'id', order: page.sortDir ?? 'desc' }]);
  for (const column of ['status', 'type', 'source_host_uuid', 'hostname'] as const) if (filters[column] !== undefined) query.where(column, filters[column]);
  if (filters.generatedSince) query.where('generated_time', '>=', filters.generatedSince);
  if (page.limit !== undefined) query.limit(page.limit);
  const rows: unknown[] = await query;
  return rows.map(readNotification);
}

/**
 * Takes a notification for `engine` until `now + leaseSeconds`: only when it is new, in
 * error, or running under a lease that ran out (compare-and-swap). True when taken.
 */
export async function claimHaNotification(session: DbSession, _ctx: DbContext, uuid: string, engine: string, leaseSeconds: number, now: Date = utcNow()): Promise<boolean> {
  const updated = await table(session, 'ha_notifications')
    .where('notification_uuid', uuid)
    .where((q) => q.whereIn('status', ['new', 'error']).orWhere((running) => running.where('status', 'running').where('lease_until', '<', now)))
    .update({ status: 'running', engine, lease_until: new Date(now.getTime() + leaseSeconds * 1000), attempts: session.knex.raw('?? + 1', ['attempts']), updated_at: now });
  return updated === 1;
}

/** Extends `engine`'s lease; false when the engine no longer holds the notification. */
export async function renewHaNotificationLease(session: DbSession, _ctx: DbContext, uuid: string, engine: string, leaseSeconds: number, now: Date = utcNow()): Promise<boolean> {
  const updated = await table(session, 'ha_notifications')
    .where({ notification_uuid: uuid, engine, status: 'running' })
    .update({ lease_until: new Date(now.getTime() + leaseSeconds * 1000), updated_at: now });
  return updated === 1;
}

/** Ends `engine`'s run with a status (finished, error, failed, ignored) and message; false when it no longer held it. */
export async function finishHaNotification(session: DbSession, _ctx: DbContext, uuid: string, engine: string, status: HaNotificationStatus, message: string | null): Promise<boolean> {
  const updated = await table(session, 'ha_notifications')
    .where({ notification_uuid: uuid, engine, status: 'running' })
    .update({ status, message, lease_until: null, updated_at: utcNow() });
  return updated === 1;
}

/** Uuids an engine may take now: new ones older than `newAfterSeconds`, errors, and running ones whose lease ran out. */
export async function listClaimableHaNotifications(session: DbSession, _ctx: DbContext, newAfterSeconds: number, now: Date = utcNow()): Promise<string[]> {
  const rows = (await table(session, 'ha_notifications')
    .select('notification_uuid')
    .where((q) =>
      q
        .where((fresh) => fresh.where('status', 'new').where('created_at', '<', new Date(now.getTime() - newAfterSeconds * 1000)))
        .orWhere('status', 'error')
        .orWhere((running) => running.where('status', 'running').where('lease_until', '<', now)),
    )
    .orderBy('id')
    .limit(50)) as Array<{ notification_uuid: string }>;
  return rows.map((row) => row.notification_uuid);
}

/** The notification db functions, to bind on a Db. */
export const haNotificationFunctions = {
  create: createHaNotification,
  get: getHaNotification,
  list: listHaNotifications,
  claim: claimHaNotification,
  renewLease: renewHaNotificationLease,
  finish: finishHaNotification,
  listClaimable: listClaimableHaNotifications,
  failureClaimed: haFailureClaimed,
};
