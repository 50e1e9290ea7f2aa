/**
 * Instances (Nova's `instance_*` db functions). Every state change of a server is an
 * UPDATE here; `update` can be a compare-and-swap on `task_state` (Nova's
 * `expected_task_state`) so two workers cannot both move one instance.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DbContext } from './context.js';
import { NotFoundError, UnexpectedTaskStateError } from './errors.js';
import { deleteAllKeyValues, INSTANCE_METADATA, writeKeyValues, type Metadata } from './key-value.js';
import { modelQuery, softDeleteChanges, type ScopeOptions, firstOrNotFound } from './model-query.js';
import { escapeLike, rowReader, utcNow } from './rows.js';
import { retryOnDeadlock, table, withTransaction, type DbSession } from './session.js';

/** A row of `instances`. */
export interface InstanceRow {
  id: number;
  uuid: string;
  display_name: string | null;
  hostname: string | null;
  project_id: string | null;
  user_id: string | null;
  image_ref: string | null;
  instance_type_id: number | null;
  key_name: string | null;
  availability_zone: string | null;
  host: string | null;
  vm_state: string | null;
  task_state: string | null;
  power_state: number;
  memory_mb: number | null;
  vcpus: number | null;
  root_gb: number | null;
  ephemeral_gb: number | null;
  access_ip_v4: string | null;
  access_ip_v6: string | null;
  progress: number;
  launched_at: Date | null;
  terminated_at: Date | null;
  /** Whether the server is locked against actions of non-admins (microversion 2.9). */
  locked: boolean;
  /** Who locked it: `owner` or `admin`. */
  locked_by: string | null;
  locked_reason: string | null;
  /** The server's description (microversion 2.19). */
  display_description: string | null;
  /** The public key of `key_name` at boot time. */
  key_data: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** Columns a caller may set on update. */
export type InstanceChanges = Partial<Omit<InstanceRow, 'id' | 'uuid' | 'created_at' | 'updated_at' | 'deleted_at' | 'deleted'>>;

/**
 * Columns of a new instance, plus its metadata and the ids of its security groups (Nova's
 * `instance_create` takes both in its values). `uuid` is generated, and project and user
 * come from the context, when absent.
 */
export type NewInstance = InstanceChanges & { uuid?: string; metadata?: Metadata; securityGroupIds?: readonly number[] };

/** `task_state` values an update expects; `null` matches an instance with no task. */
export type ExpectedTaskState = string | null | ReadonlyArray<string | null>;

/** Options of {@link updateInstance}. */
export interface InstanceUpdateOptions {
  /** Only update when `task_state` is (one of) this; otherwise UnexpectedTaskStateError. */
  expectedTaskState?: ExpectedTaskState;
  /** Only update when `host` is this (null: no host); otherwise UnexpectedTaskStateError. */
  expectedHost?: string | null;
}

/** Filters of {@link listInstances}. Several filters combine with AND. */
export interface InstanceFilters {
  project_id?: string;
  host?: string;
  /** Substring of `display_name`. */
  name?: string;
  vm_state?: string | readonly string[];
  task_state?: string | null;
  /** At most this many rows. */
  limit?: number;
  /** uuid of the last instance of the previous page; the page starts after it. */
  marker?: string;
}

const SCOPE: ScopeOptions = { projectColumn: 'project_id' };
const readInstance = rowReader<InstanceRow>({ dates: ['launched_at', 'terminated_at'], booleans: ['locked'] });

const NEW_INSTANCE_DEFAULTS = {
  display_name: null, hostname: null, image_ref: null, instance_type_id: null, key_name: null,
  availability_zone: null, host: null, vm_state: 'building', task_state: 'scheduling', power_state: 0,
  memory_mb: null, vcpus: null, root_gb: null, ephemeral_gb: null, access_ip_v4: null, access_ip_v6: null,
  progress: 0, launched_at: null, terminated_at: null,
  locked: false, locked_by: null, locked_reason: null, display_description: null, key_data: null,
} satisfies Partial<InstanceRow>;

/**
 * Inserts an instance (vm_state 'building', task_state 'scheduling' unless given), its
 * metadata and its security group associations, in one transaction when there is more
 * than the row, and returns its row.
 */
export async function createInstance(session: DbSession, ctx: DbContext, values: NewInstance): Promise<InstanceRow> {
  const { metadata, securityGroupIds, ...columns } = values;
  const row = {
    ...NEW_INSTANCE_DEFAULTS,
    ...columns,
    uuid: values.uuid ?? randomUUID(),
    project_id: values.project_id ?? ctx.projectId ?? null,
    user_id: values.user_id ?? ctx.userId ?? null,
    created_at: utcNow(),
    updated_at: null,
    deleted_at: null,
    deleted: 0,
  };
  const hasMetadata = metadata !== undefined && Object.keys(metadata).length > 0;
  const hasGroups = securityGroupIds !== undefined && securityGroupIds.length > 0;
  const insert = async (tx: DbSession): Promise<InstanceRow> => {
    const [id] = await table(tx, 'instances').insert(withoutNulls(row));
    if (hasMetadata) await writeKeyValues(tx, INSTANCE_METADATA, row.uuid, metadata, { replace: false });
    if (hasGroups) {
      const associations = securityGroupIds.map((groupId) => ({ instance_uuid: row.uuid, security_group_id: groupId, created_at: row.created_at, deleted: 0 }));
      await table(tx, 'security_group_instance_association').insert(associations);
    }
    return readInstance({ ...row, id: Number(id) });
  };
  // One commit for the row and what belongs to it; a bare row needs no transaction.
  return hasMetadata || hasGroups ? withTransaction(session, insert) : insert(session);
}

/** The instance with this uuid, as the context may see it; InstanceNotFound otherwise. */
export async function getInstance(session: DbSession, ctx: DbContext, uuid: string): Promise<InstanceRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'instances', SCOPE).where('uuid', uuid), readInstance, () => new NotFoundError('Instance', uuid));
}

/**
 * Updates an instance and returns its row read right after. With `expectedTaskState`,
 * the update is one conditional UPDATE: when another worker moved the instance first,
 * nothing changes and UnexpectedTaskStateError names the expected and the actual state.
 * The UPDATE is atomic on its own, so no transaction is opened (two round trips, not
 * four); the row returned may already include a later writer's change.
 */
export async function updateInstance(
  session: DbSession,
  ctx: DbContext,
  uuid: string,
  changes: InstanceChanges,
  options: InstanceUpdateOptions = {},
): Promise<InstanceRow> {
  const updated = await conditionalUpdate(session, ctx, uuid, changes, options, utcNow());
  const row = await getInstance(session, ctx, uuid);
  if (updated === 0) throwUnexpected(uuid, row, options);
  return row;
}

/**
 * A compare-and-swap from a row the caller holds (a state step of a build): one
 * conditional UPDATE, and the row returned is `current` with the changes applied, so no
 * second round trip reads it back. When the instance moved meanwhile, it is read once
 * to say how (UnexpectedTaskStateError), or InstanceNotFound.
 */
export async function transitionInstance(
  session: DbSession,
  ctx: DbContext,
  current: InstanceRow,
  changes: InstanceChanges,
  options: InstanceUpdateOptions = {},
): Promise<InstanceRow> {
  const now = utcNow();
  const updated = await conditionalUpdate(session, ctx, current.uuid, changes, options, now);
  if (updated === 0) throwUnexpected(current.uuid, await getInstance(session, ctx, current.uuid), options);
  return { ...current, ...(withoutKeys(changes) as Partial<InstanceRow>), updated_at: now };
}

function conditionalUpdate(
  session: DbSession,
  ctx: DbContext,
  uuid: string,
  changes: InstanceChanges,
  options: InstanceUpdateOptions,
  now: Date,
): Promise<number> {
  const expected = options.expectedTaskState === undefined ? undefined : toStateList(options.expectedTaskState);
  return retryOnDeadlock(session, () => {
    const query = modelQuery(session, ctx, 'instances', SCOPE).where('uuid', uuid);
    if (expected) whereStateIn(query, 'task_state', expected);
    if (options.expectedHost === null) query.whereNull('host');
    else if (options.expectedHost !== undefined) query.where('host', options.expectedHost);
    return query.update({ ...withoutKeys(changes), updated_at: now });
  });
}

/** After a conditional UPDATE changed nothing: the CAS lost (or, unconditional, nothing to do). */
function throwUnexpected(uuid: string, row: InstanceRow, options: InstanceUpdateOptions): void {
  const expected = options.expectedTaskState === undefined ? undefined : toStateList(options.expectedTaskState);
  if (expected || options.expectedHost !== undefined) {
    throw new UnexpectedTaskStateError(uuid, expected ?? [row.task_state], row.task_state);
  }
}

/** Instances the context may see, newest first, filtered and paged. */
export async function listInstances(
  session: DbSession,
  ctx: DbContext,
  filters: InstanceFilters = {},
): Promise<InstanceRow[]> {
  const query = modelQuery(session, ctx, 'instances', SCOPE).orderBy('id', 'desc');
  if (filters.project_id !== undefined) query.where('project_id', filters.project_id);
  if (filters.host !== undefined) query.where('host', filters.host);
  if (filters.name !== undefined) {
    query.whereRaw('?? like ? escape ?', ['display_name', `%${escapeLike(filters.name)}%`, '\\']);
  }
  if (filters.vm_state !== undefined) query.whereIn('vm_state', toStateList(filters.vm_state));
  if (filters.task_state !== undefined) whereStateIn(query, 'task_state', [filters.task_state]);
  if (filters.marker !== undefined) query.where('id', '<', await markerId(session, ctx, filters.marker));
  if (filters.limit !== undefined) query.limit(filters.limit);
  const rows: unknown[] = await query;
  return rows.map(readInstance);
}

/** Instances of one project (Nova's `instance_get_all_by_project`, with filters). */
export async function listInstancesByProject(
  session: DbSession,
  ctx: DbContext,
  projectId: string,
  filters: Omit<InstanceFilters, 'project_id'> = {},
): Promise<InstanceRow[]> {
  return listInstances(session, ctx, { ...filters, project_id: projectId });
}

/** Instances placed on one compute host (Nova's `instance_get_all_by_host`). */
export async function listInstancesByHost(
  session: DbSession,
  ctx: DbContext,
  host: string,
  filters: Omit<InstanceFilters, 'host'> = {},
): Promise<InstanceRow[]> {
  return listInstances(session, ctx, { ...filters, host });
}

/**
 * Soft-deletes an instance and its metadata (deleted = id, deleted_at = now) and returns
 * the deleted row. Later reads only find it with read_deleted 'yes' or 'only'.
 */
export async function destroyInstance(session: DbSession, ctx: DbContext, uuid: string): Promise<InstanceRow> {
  return withTransaction(session, async (tx) => {
    const instance = await getInstance(tx, ctx, uuid);
    const now = utcNow();
    await table(tx, 'instances').where('id', instance.id).update(softDeleteChanges(tx, now));
    await deleteAllKeyValues(tx, INSTANCE_METADATA, uuid);
    return { ...instance, deleted: instance.id, deleted_at: now, updated_at: now };
  });
}

/** The instance db functions, to bind on a Db. */
export const instanceFunctions = {
  create: createInstance,
  get: getInstance,
  update: updateInstance,
  transition: transitionInstance,
  list: listInstances,
  listByProject: listInstancesByProject,
  listByHost: listInstancesByHost,
  destroy: destroyInstance,
};

async function markerId(session: DbSession, ctx: DbContext, marker: string): Promise<number> {
  const row: { id: number } | undefined = await modelQuery(session, ctx, 'instances', {
    ...SCOPE,
    readDeleted: 'yes',
  })
    .where('uuid', marker)
    .first('id');
  if (!row) throw new NotFoundError('Marker', marker);
  return row.id;
}

function toStateList(states: ExpectedTaskState | readonly string[]): Array<string | null> {
  return Array.isArray(states) ? [...(states as Array<string | null>)] : [states as string | null];
}

/** `column IN (...)`, where a null in the list also matches NULL. */
function whereStateIn(query: Knex.QueryBuilder, column: string, states: ReadonlyArray<string | null>): void {
  const values = states.filter((s): s is string => s !== null);
  const matchesNull = values.length < states.length;
  query.where((inner) => {
    if (values.length > 0) inner.orWhereIn(column, values);
    if (matchesNull) inner.orWhereNull(column);
    if (states.length === 0) inner.whereRaw('1 = 0');
  });
}

/** Drops keys no caller may change even if a loosely typed object carries them. */
function withoutKeys(changes: InstanceChanges): Record<string, unknown> {
  const { id: _id, uuid: _uuid, deleted: _deleted, created_at: _created, ...rest } = changes as Record<string, unknown>;
  return rest;
}

/** The columns that carry a value: NULL is every nullable column's default, so the INSERT stays short. */
function withoutNulls(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null && value !== undefined));
}
