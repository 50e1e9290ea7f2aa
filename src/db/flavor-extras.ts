/** Flavor extra specs (`os-extra_specs`) and the projects a private flavor is shared with (`os-flavor-access`). */
import type { DbContext } from './context.js';
import type { Metadata } from './key-value.js';
import { modelQuery, softDeleteChanges } from './model-query.js';
import { utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** The extra specs of a flavor (by its internal id). */
export async function getFlavorExtraSpecs(session: DbSession, ctx: DbContext, flavorId: number): Promise<Metadata> {
  const rows: Array<{ key: string; value: string | null }> = await modelQuery(session, ctx, 'instance_type_extra_specs').where('instance_type_id', flavorId).orderBy('key');
  return Object.fromEntries(rows.map((row) => [row.key, row.value ?? '']));
}

/** Extra specs of several flavors at once, by internal id. */
export async function getManyFlavorExtraSpecs(session: DbSession, ctx: DbContext, flavorIds: readonly number[]): Promise<Map<number, Metadata>> {
  const result = new Map<number, Metadata>(flavorIds.map((id) => [id, {}]));
  if (flavorIds.length === 0) return result;
  const rows: Array<{ instance_type_id: number; key: string; value: string | null }> = await modelQuery(session, ctx, 'instance_type_extra_specs')
    .whereIn('instance_type_id', [...flavorIds])
    .orderBy('key');
  for (const row of rows) (result.get(Number(row.instance_type_id)) ?? {})[row.key] = row.value ?? '';
  return result;
}

/** Creates or replaces the given specs of a flavor. */
export async function setFlavorExtraSpecs(session: DbSession, ctx: DbContext, flavorId: number, specs: Metadata): Promise<void> {
  await withTransaction(session, async (tx) => {
    const now = utcNow();
    for (const [key, value] of Object.entries(specs)) {
      await modelQuery(tx, ctx, 'instance_type_extra_specs').where({ instance_type_id: flavorId, key }).update(softDeleteChanges(tx, now));
      await table(tx, 'instance_type_extra_specs').insert({ instance_type_id: flavorId, key, value, created_at: now, deleted: 0 });
    }
  });
}

/** Deletes one spec; false when the flavor has none by that key. */
export async function deleteFlavorExtraSpec(session: DbSession, ctx: DbContext, flavorId: number, key: string): Promise<boolean> {
  return (await modelQuery(session, ctx, 'instance_type_extra_specs').where({ instance_type_id: flavorId, key }).update(softDeleteChanges(session, utcNow()))) > 0;
}

/** Projects a flavor is shared with. */
export async function listFlavorProjects(session: DbSession, ctx: DbContext, flavorId: number): Promise<string[]> {
  const rows: Array<{ project_id: string }> = await modelQuery(session, ctx, 'instance_type_projects').where('instance_type_id', flavorId).orderBy('project_id');
  return rows.map((row) => row.project_id);
}

/** Shares a flavor with a project (idempotent). */
export async function addFlavorProject(session: DbSession, ctx: DbContext, flavorId: number, projectId: string): Promise<void> {
  const existing: unknown = await modelQuery(session, ctx, 'instance_type_projects').where({ instance_type_id: flavorId, project_id: projectId }).first();
  if (!existing) await table(session, 'instance_type_projects').insert({ instance_type_id: flavorId, project_id: projectId, created_at: utcNow(), deleted: 0 });
}

/** Stops sharing a flavor with a project; false when it was not shared. */
export async function removeFlavorProject(session: DbSession, ctx: DbContext, flavorId: number, projectId: string): Promise<boolean> {
  return (await modelQuery(session, ctx, 'instance_type_projects').where({ instance_type_id: flavorId, project_id: projectId }).update(softDeleteChanges(session, utcNow()))) > 0;
}

/** The flavor extras db functions, to bind on a Db. */
export const flavorExtraFunctions = {
  extraSpecs: getFlavorExtraSpecs,
  manyExtraSpecs: getManyFlavorExtraSpecs,
  setExtraSpecs: setFlavorExtraSpecs,
  deleteExtraSpec: deleteFlavorExtraSpec,
  projects: listFlavorProjects,
  addProject: addFlavorProject,
  removeProject: removeFlavorProject,
};
