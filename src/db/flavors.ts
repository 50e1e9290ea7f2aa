/** Flavors (Nova's `instance_types`): the sizes a server can be booted with. */
import type { Knex } from 'knex';
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { modelQuery, softDeleteChanges, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, type DbSession } from './session.js';

/** A row of `instance_types`. */
export interface FlavorRow {
  id: number;
  name: string;
  flavorid: string;
  memory_mb: number;
  vcpus: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  is_public: boolean;
  disabled: boolean;
  /** Free text (Compute API 2.55). */
  description: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** Filters of {@link listFlavors}, like `nova flavor-list --min-ram`. */
export interface FlavorFilters {
  min_memory_mb?: number;
  min_root_gb?: number;
  /** Include disabled flavors. Default false. */
  include_disabled?: boolean;
  /**
   * true: public flavors (plus, for a non-admin, the private ones shared with its
   * project); false: private ones only (a non-admin: those shared with it); undefined: both.
   * Default: every flavor the context may use.
   */
  is_public?: boolean;
}

/** Columns of a new flavor. */
export type NewFlavor = Pick<FlavorRow, 'name' | 'flavorid' | 'memory_mb' | 'vcpus' | 'root_gb'> &
  Partial<Pick<FlavorRow, 'ephemeral_gb' | 'swap' | 'rxtx_factor' | 'is_public' | 'description'>>;

const readFlavor = rowReader<FlavorRow>({ booleans: ['is_public', 'disabled'] });

/** The flavor with this id (1..5 are m1.tiny..m1.xlarge); FlavorNotFound otherwise. */
export async function getFlavor(session: DbSession, ctx: DbContext, id: number): Promise<FlavorRow> {
  return findFlavor(session, ctx, 'id', id);
}

/** The flavor with this API flavorid (a string, e.g. "1"); FlavorNotFound otherwise. */
export async function getFlavorByFlavorId(session: DbSession, ctx: DbContext, flavorid: string): Promise<FlavorRow> {
  return findFlavor(session, ctx, 'flavorid', flavorid);
}

/** The flavor with this name (e.g. "m1.small"); FlavorNotFound otherwise. */
export async function getFlavorByName(session: DbSession, ctx: DbContext, name: string): Promise<FlavorRow> {
  return findFlavor(session, ctx, 'name', name);
}

/** Flavors, smallest first (by memory, then id). */
export async function listFlavors(session: DbSession, ctx: DbContext, filters: FlavorFilters = {}): Promise<FlavorRow[]> {
  const query = modelQuery(session, ctx, 'instance_types').orderBy([{ column: 'memory_mb' }, { column: 'id' }]);
  if (filters.min_memory_mb !== undefined) query.where('memory_mb', '>=', filters.min_memory_mb);
  if (filters.min_root_gb !== undefined) query.where('root_gb', '>=', filters.min_root_gb);
  if (!filters.include_disabled) query.where('disabled', false);
  applyFlavorVisibility(session, ctx, query, filters.is_public);
  const rows: unknown[] = await query;
  return rows.map(readFlavor);
}

/** Non-admins reach public flavors and the private ones shared with their project (Nova's rule). */
function applyFlavorVisibility(session: DbSession, ctx: DbContext, query: Knex.QueryBuilder, isPublic: boolean | undefined): void {
  const shared = session.knex('instance_type_projects').select('instance_type_id').where({ project_id: ctx.projectId ?? '', deleted: 0 });
  if (isPublic === true) {
    if (ctx.isAdmin) query.where('is_public', true);
    else query.where((scope) => scope.where('is_public', true).orWhereIn('id', shared));
  } else if (isPublic === false) {
    query.where('is_public', false);
    if (!ctx.isAdmin) query.whereIn('id', shared);
  } else if (!ctx.isAdmin) {
    query.where((scope) => scope.where('is_public', true).orWhereIn('id', shared));
  }
}

/** Creates a flavor; DuplicateEntry when its name or flavorid is taken. */
export async function createFlavor(session: DbSession, _ctx: DbContext, values: NewFlavor): Promise<FlavorRow> {
  const row = { ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: true, description: null, ...values, disabled: false, created_at: utcNow(), deleted: 0 };
  const [id] = await table(session, 'instance_types').insert(row);
  return readFlavor({ ...row, id: Number(id), updated_at: null, deleted_at: null });
}

/** Changes a flavor's description (the only mutable field, as in Nova 2.55). */
export async function updateFlavorDescription(session: DbSession, ctx: DbContext, id: number, description: string | null): Promise<FlavorRow> {
  await modelQuery(session, ctx, 'instance_types').where('id', id).update({ description, updated_at: utcNow() });
  return getFlavor(session, ctx, id);
}

/** Soft-deletes a flavor (servers keep their copy of it). */
export async function destroyFlavor(session: DbSession, ctx: DbContext, id: number): Promise<void> {
  const updated = await modelQuery(session, ctx, 'instance_types').where('id', id).update(softDeleteChanges(session, utcNow()));
  if (updated === 0) throw new NotFoundError('Flavor', id);
}

/** The flavor db functions, to bind on a Db. */
export const flavorFunctions = {
  get: getFlavor,
  getByFlavorId: getFlavorByFlavorId,
  getByName: getFlavorByName,
  list: listFlavors,
  create: createFlavor,
  updateDescription: updateFlavorDescription,
  destroy: destroyFlavor,
};

async function findFlavor(
  session: DbSession,
  ctx: DbContext,
  column: 'id' | 'flavorid' | 'name',
  value: string | number,
): Promise<FlavorRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'instance_types').where(column, value), readFlavor, () => new NotFoundError('Flavor', value));
}
