/**
 * Quotas: per-project limits over Nova's defaults, and the usage they are checked
 * against (servers, cores and RAM of the project's live servers, key pairs, ...).
 */
import type { DbContext } from './context.js';
import { modelQuery, softDeleteChanges } from './model-query.js';
import { utcNow } from './rows.js';
import { table, withTransaction, type DbSession } from './session.js';

/** Limits by resource name (`instances`, `cores`, `ram`, ...); -1 is unlimited. */
export type QuotaLimits = Record<string, number>;

/** The project's own limits (rows of `quotas`), without defaults. */
export async function getProjectQuotas(session: DbSession, ctx: DbContext, projectId: string): Promise<QuotaLimits> {
  const rows: Array<{ resource: string; hard_limit: number }> = await modelQuery(session, ctx, 'quotas').where('project_id', projectId);
  return Object.fromEntries(rows.map((row) => [row.resource, Number(row.hard_limit)]));
}

/** Sets some of a project's limits (replacing earlier values). */
export async function setProjectQuotas(session: DbSession, ctx: DbContext, projectId: string, limits: QuotaLimits): Promise<void> {
  await withTransaction(session, async (tx) => {
    const now = utcNow();
    for (const [resource, hardLimit] of Object.entries(limits)) {
      await modelQuery(tx, ctx, 'quotas').where({ project_id: projectId, resource }).update(softDeleteChanges(tx, now));
      await table(tx, 'quotas').insert({ project_id: projectId, resource, hard_limit: hardLimit, created_at: now, deleted: 0 });
    }
  });
}

/** Drops a project's own limits, so the defaults apply again. */
export async function resetProjectQuotas(session: DbSession, ctx: DbContext, projectId: string): Promise<void> {
  await modelQuery(session, ctx, 'quotas').where('project_id', projectId).update(softDeleteChanges(session, utcNow()));
}

/** What a project uses: live servers, their vCPUs and RAM. */
export interface ProjectUsage {
  instances: number;
  cores: number;
  ram: number;
}

/** The usage of a project's live (not deleted) servers. */
export async function getProjectUsage(session: DbSession, ctx: DbContext, projectId: string): Promise<ProjectUsage> {
  const row = (await modelQuery(session, ctx, 'instances')
    .where('instances.project_id', projectId)
    .select(session.knex.raw('count(*) as instances, coalesce(sum(vcpus), 0) as cores, coalesce(sum(memory_mb), 0) as ram'))
    .first()) as { instances: unknown; cores: unknown; ram: unknown } | undefined;
  return { instances: Number(row?.instances ?? 0), cores: Number(row?.cores ?? 0), ram: Number(row?.ram ?? 0) };
}

/** The quota db functions, to bind on a Db. */
export const quotaFunctions = {
  getForProject: getProjectQuotas,
  setForProject: setProjectQuotas,
  resetForProject: resetProjectQuotas,
  usage: getProjectUsage,
};
