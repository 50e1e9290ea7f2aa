/** /limits and /os-quota-sets (show, detail, defaults, update, revert), by microversion. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db, QuotaLimits } from '../../../db/index.js';
import { badRequest, forbidden } from '../faults.js';
import { absoluteLimits, effectiveQuotas, pickResources, projectUsage, quotaResources } from '../quotas.js';
import { contextOf, param, query, requireAdmin } from './context.js';

/** Registers the quota routes. */
export function quotaRoutes(app: FastifyInstance, db: Db, defaults: QuotaLimits): void {
  app.get('/limits', async (request) => {
    const ctx = contextOf(request);
    const asked = query(request, 'tenant_id');
    const projectId = asked && ctx.isAdmin ? asked : (ctx.projectId ?? '');
    const [limits, usage] = await Promise.all([effectiveQuotas(db, ctx, projectId, defaults), projectUsage(db, ctx, projectId, request.microversion)]);
    return { limits: { rate: [], absolute: absoluteLimits(limits, usage, request.microversion) } };
  });

  app.get('/os-quota-sets/:tenant/defaults', async (request) => {
    contextOf(request);
    return { quota_set: { id: param(request, 'tenant'), ...pickResources(defaults, request.microversion) } };
  });

  app.get('/os-quota-sets/:tenant', async (request) => {
    const projectId = readableProject(request);
    const limits = await effectiveQuotas(db, contextOf(request), projectId, defaults);
    return { quota_set: { id: projectId, ...pickResources(limits, request.microversion) } };
  });

  app.get('/os-quota-sets/:tenant/detail', async (request) => {
    const projectId = readableProject(request);
    const ctx = contextOf(request);
    const [limits, usage] = await Promise.all([effectiveQuotas(db, ctx, projectId, defaults), projectUsage(db, ctx, projectId, request.microversion)]);
    const detail = Object.fromEntries(
      Object.entries(pickResources(limits, request.microversion)).map(([resource, limit]) => [resource, { in_use: usage[resource] ?? 0, limit, reserved: 0 }]),
    );
    return { quota_set: { id: projectId, ...detail } };
  });

  app.put('/os-quota-sets/:tenant', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-quota-sets:update');
    const projectId = param(request, 'tenant');
    const { changes, force } = parseQuotaUpdate(request.body, quotaResources(request.microversion));
    if (!force) {
      const usage = await projectUsage(db, ctx, projectId, request.microversion);
      for (const [resource, limit] of Object.entries(changes)) {
        const used = usage[resource] ?? 0;
        if (limit >= 0 && limit < used) throw badRequest(`Quota limit ${limit} for ${resource} must be greater than or equal to already used and reserved ${used}.`);
      }
    }
    await db.quotas.setForProject(ctx, projectId, changes);
    return { quota_set: pickResources(await effectiveQuotas(db, ctx, projectId, defaults), request.microversion) };
  });

  app.delete('/os-quota-sets/:tenant', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-quota-sets:delete');
    await db.quotas.resetForProject(ctx, param(request, 'tenant'));
    void reply.code(202);
    return '';
  });
}

/** The project of /os-quota-sets/{tenant}: any for an admin, only its own otherwise (403). */
function readableProject(request: FastifyRequest): string {
  const ctx = contextOf(request);
  const projectId = param(request, 'tenant');
  if (!ctx.isAdmin && projectId !== ctx.projectId) throw forbidden("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
  return projectId;
}

/** `{"quota_set": {resource: int >= -1, ..., "force"?: bool}}`; unknown keys are a 400. */
function parseQuotaUpdate(body: unknown, allowed: readonly string[]): { changes: Record<string, number>; force: boolean } {
  const set = (body as { quota_set?: unknown } | undefined)?.quota_set;
  if (typeof set !== 'object' || set === null || Array.isArray(set)) throw badRequest("Invalid input for field/attribute quota_set. Value: None. 'quota_set' is a required property");
  const changes: Record<string, number> = {};
  let force = false;
  for (const [key, value] of Object.entries(set)) {
    if (key === 'force') {
      force = value === true || value === 'true' || value === 'True';
      continue;
    }
    if (!allowed.includes(key)) throw badRequest(`Invalid input for field/attribute quota_set. Additional properties are not allowed ('${key}' was unexpected)`);
    const limit = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < -1) throw badRequest(`Invalid input for field/attribute ${key}. Value: ${String(value)}. It must be an integer >= -1.`);
    changes[key] = limit;
  }
  return { changes, force };
}
