/**
 * Services: one row per running binary on a host, with the heartbeat (report_count,
 * updated_at) that tells the scheduler which hosts are alive.
 */
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { modelQuery, softDeleteChanges, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { retryOnDeadlock, table, withTransaction, type DbSession } from './session.js';

/** A row of `services`. */
export interface ServiceRow {
  id: number;
  /** The id os-services shows from microversion 2.53. */
  uuid: string;
  host: string;
  binary: string;
  topic: string;
  report_count: number;
  disabled: boolean;
  disabled_reason: string | null;
  /** Set by an operator (`force-down`): the service counts as down whatever its heartbeat. */
  forced_down: boolean;
  availability_zone: string;
  last_seen_up: Date | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** Columns of a new service. */
export interface NewService {
  host: string;
  binary: string;
  topic: string;
  availability_zone?: string;
  disabled?: boolean;
  disabled_reason?: string | null;
}

/** Columns an operator may change (`nova service-disable`). */
export type ServiceChanges = Partial<Pick<ServiceRow, 'disabled' | 'disabled_reason' | 'availability_zone' | 'forced_down'>>;

/** Filters of {@link listServices}. */
export interface ServiceFilters {
  host?: string;
  binary?: string;
  topic?: string;
  disabled?: boolean;
}

/** Nova's default `service_down_time`, in seconds. */
export const DEFAULT_SERVICE_DOWN_TIME_SECONDS = 60;

const readService = rowReader<ServiceRow>({ dates: ['last_seen_up'], booleans: ['disabled', 'forced_down'] });

/** Registers a service (report_count 0) and returns its row. */
export async function createService(session: DbSession, _ctx: DbContext, values: NewService): Promise<ServiceRow> {
  const row = {
    availability_zone: 'nova',
    disabled: false,
    disabled_reason: null,
    ...values,
    uuid: randomUUID(),
    forced_down: false,
    report_count: 0,
    last_seen_up: null,
    created_at: utcNow(),
    updated_at: null,
    deleted_at: null,
    deleted: 0,
  };
  const [id] = await table(session, 'services').insert(row);
  return readService({ ...row, id: Number(id) });
}

/** The service with this id; ServiceNotFound otherwise. */
export async function getService(session: DbSession, ctx: DbContext, id: number): Promise<ServiceRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'services').where('id', id), readService, () => new NotFoundError('Service', id));
}

/** The service with this uuid (os-services from 2.53); ServiceNotFound otherwise. */
export async function getServiceByUuid(session: DbSession, ctx: DbContext, uuid: string): Promise<ServiceRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'services').where('uuid', uuid), readService, () => new NotFoundError('Service', uuid));
}

/** The service of `binary` on `host` (e.g. nova-compute on compute1); ServiceNotFound otherwise. */
export async function getServiceByHostAndBinary(
  session: DbSession,
  ctx: DbContext,
  host: string,
  binary: string,
): Promise<ServiceRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'services').where({ host, binary }), readService, () => new NotFoundError('Service', `${binary} on ${host}`));
}

/** Services matching the filters, by host then binary. */
export async function listServices(session: DbSession, ctx: DbContext, filters: ServiceFilters = {}): Promise<ServiceRow[]> {
  const query = modelQuery(session, ctx, 'services').orderBy([{ column: 'host' }, { column: 'binary' }]);
  for (const column of ['host', 'binary', 'topic', 'disabled'] as const) {
    if (filters[column] !== undefined) query.where(column, filters[column]);
  }
  const rows: unknown[] = await query;
  return rows.map(readService);
}

/** Changes a service (e.g. disables it with a reason) and returns the new row. */
export async function updateService(
  session: DbSession,
  ctx: DbContext,
  id: number,
  changes: ServiceChanges,
): Promise<ServiceRow> {
  return withTransaction(session, async (tx) => {
    const updated = await modelQuery(tx, ctx, 'services').where('id', id).update({ ...changes, updated_at: utcNow() });
    if (updated === 0) throw new NotFoundError('Service', id);
    return getService(tx, ctx, id);
  });
}

/**
 * Records a heartbeat: report_count + 1 in the same statement (no lost increments),
 * updated_at and last_seen_up set to `now`. Returns the row read right after.
 */
export async function recordServiceHeartbeat(
  session: DbSession,
  ctx: DbContext,
  id: number,
  now: Date = utcNow(),
): Promise<ServiceRow> {
  const updated = await retryOnDeadlock(session, () =>
    modelQuery(session, ctx, 'services')
      .where('id', id)
      .update({ report_count: session.knex.raw('?? + 1', ['report_count']), updated_at: now, last_seen_up: now }),
  );
  if (updated === 0) throw new NotFoundError('Service', id);
  return getService(session, ctx, id);
}

/**
 * Records one heartbeat for each of `ids` in a single statement (the services of one
 * process: a process hosting 250 compute hosts writes one UPDATE per report_interval,
 * not 250 UPDATEs and 250 reads). Returns how many rows it updated; a deleted service
 * is simply not counted.
 */
export async function recordServiceHeartbeats(session: DbSession, ctx: DbContext, ids: readonly number[], now: Date = utcNow()): Promise<number> {
  if (ids.length === 0) return 0;
  return retryOnDeadlock(session, () =>
    modelQuery(session, ctx, 'services')
      .whereIn('id', [...ids])
      .update({ report_count: session.knex.raw('?? + 1', ['report_count']), updated_at: now, last_seen_up: now }),
  );
}

/** Soft-deletes a service (`nova service-delete`). */
export async function destroyService(session: DbSession, ctx: DbContext, id: number): Promise<void> {
  const updated = await modelQuery(session, ctx, 'services').where('id', id).update(softDeleteChanges(session, utcNow()));
  if (updated === 0) throw new NotFoundError('Service', id);
}

/**
 * Whether a service is up, as Nova's db servicegroup driver decides it: not forced down,
 * and its last heartbeat (updated_at, or created_at before the first one) is at most
 * `serviceDownTimeSeconds` away from `now`.
 */
export function isServiceUp(
  service: Pick<ServiceRow, 'updated_at' | 'created_at'> & { forced_down?: boolean },
  now: Date = new Date(),
  serviceDownTimeSeconds: number = DEFAULT_SERVICE_DOWN_TIME_SECONDS,
): boolean {
  if (service.forced_down) return false;
  const lastHeartbeat = service.updated_at ?? service.created_at;
  const elapsedSeconds = Math.abs(now.getTime() - lastHeartbeat.getTime()) / 1000;
  return elapsedSeconds <= serviceDownTimeSeconds;
}

/** The service db functions, to bind on a Db. */
export const serviceFunctions = {
  create: createService,
  get: getService,
  getByUuid: getServiceByUuid,
  getByHostAndBinary: getServiceByHostAndBinary,
  list: listServices,
  update: updateService,
  heartbeat: recordServiceHeartbeat,
  heartbeatMany: recordServiceHeartbeats,
  destroy: destroyService,
};
