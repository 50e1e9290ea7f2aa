/** Flavors (Nova's `instance_types`): the sizes a server can be booted with. */
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { modelQuery } from './model-query.js';
import { rowReader } from './rows.js';
import type { DbSession } from './session.js';

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
}

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
  const rows: unknown[] = await query;
  return rows.map(readFlavor);
}

/** The flavor db functions, to bind on a Db. */
export const flavorFunctions = {
  get: getFlavor,
  getByFlavorId: getFlavorByFlavorId,
  getByName: getFlavorByName,
  list: listFlavors,
};

async function findFlavor(
  session: DbSession,
  ctx: DbContext,
  column: 'id' | 'flavorid' | 'name',
  value: string | number,
): Promise<FlavorRow> {
  const row: unknown = await modelQuery(session, ctx, 'instance_types').where(column, value).first();
  if (!row) throw new NotFoundError('Flavor', value);
  return readFlavor(row);
}
