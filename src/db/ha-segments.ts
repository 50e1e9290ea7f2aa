/**
 * Instance HA failover segments and the hosts in them (Masakari's `failover_segments`
 * and `hosts`). Names are unique; a duplicate is a DuplicateEntryError.
 */
import { firstOrNotFound } from './model-query.js';
import { randomUUID } from 'node:crypto';
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { rowReader, utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** A row of `ha_failover_segments`. */
export interface HaSegmentRow {
  id: number;
  uuid: string;
  name: string;
  service_type: string;
  description: string | null;
  recovery_method: string;
  enabled: boolean;
  created_at: Date;
  updated_at: Date | null;
}

/** A row of `ha_hosts`. */
export interface HaHostRow {
  id: number;
  uuid: string;
  name: string;
  type: string | null;
  control_attributes: string | null;
  reserved: boolean;
  on_maintenance: boolean;
  failover_segment_id: string;
  created_at: Date;
  updated_at: Date | null;
}

/** Columns of a new segment. */
export type NewHaSegment = Pick<HaSegmentRow, 'name' | 'service_type' | 'recovery_method'> & Partial<Pick<HaSegmentRow, 'description' | 'enabled'>>;
/** Columns of a segment that may change. */
export type HaSegmentChanges = Partial<Pick<HaSegmentRow, 'name' | 'service_type' | 'recovery_method' | 'description' | 'enabled'>>;
/** Columns of a new host. */
export type NewHaHost = Pick<HaHostRow, 'name' | 'failover_segment_id'> & Partial<Pick<HaHostRow, 'type' | 'control_attributes' | 'reserved' | 'on_maintenance'>>;
/** Columns of a host that may change. */
export type HaHostChanges = Partial<Pick<HaHostRow, 'name' | 'type' | 'control_attributes' | 'reserved' | 'on_maintenance'>>;

/** Filters of the lists. */
export interface HaSegmentFilters {
  recovery_method?: string;
  service_type?: string;
  enabled?: boolean;
}
export interface HaHostFilters {
  failover_segment_id?: string;
  type?: string;
  reserved?: boolean;
  on_maintenance?: boolean;
}

const readSegment = rowReader<HaSegmentRow>({ booleans: ['enabled'] });
const readHost = rowReader<HaHostRow>({ booleans: ['reserved', 'on_maintenance'] });

/** Creates a segment. */
export async function createHaSegment(session: DbSession, _ctx: DbContext, values: NewHaSegment): Promise<HaSegmentRow> {
  const row = { description: null, enabled: true, ...values, uuid: randomUUID(), created_at: utcNow(), updated_at: null };
  const [id] = await table(session, 'ha_failover_segments').insert(row);
  return readSegment({ ...row, id: Number(id) });
}

/** The segment with this uuid; HaSegmentNotFound otherwise. */
export async function getHaSegment(session: DbSession, _ctx: DbContext, uuid: string): Promise<HaSegmentRow> {
  return firstOrNotFound(table(session, 'ha_failover_segments').where('uuid', uuid), readSegment, () => segmentNotFound(uuid));
}

/** Segments matching the filters, by id. */
export async function listHaSegments(session: DbSession, _ctx: DbContext, filters: HaSegmentFilters = {}): Promise<HaSegmentRow[]> {
  const query = table(session, 'ha_failover_segments').orderBy('id');
  for (const [column, value] of Object.entries(filters)) if (value !== undefined) query.where(column, value);
  const rows: unknown[] = await query;
  return rows.map(readSegment);
}

/** Updates the row with this uuid and reads it back; `missing` when there is none. */
async function updateByUuid<T>(session: DbSession, tableName: string, uuid: string, changes: object, missing: () => Error, read: (tx: DbSession) => Promise<T>): Promise<T> {
  return withTransaction(session, async (tx) => {
    const updated = await table(tx, tableName).where('uuid', uuid).update({ ...changes, updated_at: utcNow() });
    if (updated === 0) throw missing();
    return read(tx);
  });
}

const segmentNotFound = (uuid: string) => new NotFoundError('HaSegment', uuid, `Failover segment with id ${uuid} could not be found.`);
const hostNotFound = (uuid: string) => new NotFoundError('HaHost', uuid, `Host with id ${uuid} could not be found.`);

/** Changes a segment; returns the new row. */
export async function updateHaSegment(session: DbSession, ctx: DbContext, uuid: string, changes: HaSegmentChanges): Promise<HaSegmentRow> {
  return updateByUuid(session, 'ha_failover_segments', uuid, changes, () => segmentNotFound(uuid), (tx) => getHaSegment(tx, ctx, uuid));
}

/** Deletes a segment and its hosts. */
export async function deleteHaSegment(session: DbSession, _ctx: DbContext, uuid: string): Promise<void> {
  await withTransaction(session, async (tx) => {
    const deleted = await table(tx, 'ha_failover_segments').where('uuid', uuid).delete();
    if (deleted === 0) throw segmentNotFound(uuid);
    await table(tx, 'ha_hosts').where('failover_segment_id', uuid).delete();
  });
}

/** Adds a host to a segment. */
export async function createHaHost(session: DbSession, _ctx: DbContext, values: NewHaHost): Promise<HaHostRow> {
  const row = { type: null, control_attributes: null, reserved: false, on_maintenance: false, ...values, uuid: randomUUID(), created_at: utcNow(), updated_at: null };
  const [id] = await table(session, 'ha_hosts').insert(row);
  return readHost({ ...row, id: Number(id) });
}

/** The host with this uuid; HaHostNotFound otherwise. */
export async function getHaHost(session: DbSession, _ctx: DbContext, uuid: string): Promise<HaHostRow> {
  return firstOrNotFound(table(session, 'ha_hosts').where('uuid', uuid), readHost, () => hostNotFound(uuid));
}

/** The host with this name, or undefined. */
export async function findHaHostByName(session: DbSession, _ctx: DbContext, name: string): Promise<HaHostRow | undefined> {
  const row: unknown = await table(session, 'ha_hosts').where('name', name).first();
  return row ? readHost(row) : undefined;
}

/** Hosts matching the filters, by id. */
export async function listHaHosts(session: DbSession, _ctx: DbContext, filters: HaHostFilters = {}): Promise<HaHostRow[]> {
  const query = table(session, 'ha_hosts').orderBy('id');
  for (const [column, value] of Object.entries(filters)) if (value !== undefined) query.where(column, value);
  const rows: unknown[] = await query;
  return rows.map(readHost);
}

/** Changes a host; returns the new row. */
export async function updateHaHost(session: DbSession, ctx: DbContext, uuid: string, changes: HaHostChanges): Promise<HaHostRow> {
  return updateByUuid(session, 'ha_hosts', uuid, changes, () => hostNotFound(uuid), (tx) => getHaHost(tx, ctx, uuid));
}

/** Deletes a host. */
export async function deleteHaHost(session: DbSession, _ctx: DbContext, uuid: string): Promise<void> {
  const deleted = await table(session, 'ha_hosts').where('uuid', uuid).delete();
  if (deleted === 0) throw hostNotFound(uuid);
}

/** The segment and host db functions, to bind on a Db. */
export const haSegmentFunctions = {
  create: createHaSegment,
  get: getHaSegment,
  list: listHaSegments,
  update: updateHaSegment,
  delete: deleteHaSegment,
  createHost: createHaHost,
  getHost: getHaHost,
  findHostByName: findHaHostByName,
  listHosts: listHaHosts,
  updateHost: updateHaHost,
  deleteHost: deleteHaHost,
};
