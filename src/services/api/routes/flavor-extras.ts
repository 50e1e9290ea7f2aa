/**
 * Flavor extra specs (`/flavors/{id}/os-extra_specs`: read by everyone, changed by admins)
 * and flavor access (`/flavors/{id}/os-flavor-access`, `addTenantAccess` and
 * `removeTenantAccess` actions; admins; private flavors only).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db, FlavorRow } from '../../../db/index.js';
import { badRequest, conflict, notFound } from '../faults.js';
import { contextOf, param, requireAdmin } from './context.js';

const SPEC_KEY = /^[\w.:-]{1,255}$/;

/** Registers the extra spec and flavor access routes. */
export function flavorExtraRoutes(app: FastifyInstance, db: Db): void {
  const flavorOf = (request: FastifyRequest): Promise<FlavorRow> => db.flavors.getByFlavorId(contextOf(request), param(request, 'flavor_id'));

  app.get('/flavors/:flavor_id/os-extra_specs', async (request) => {
    const flavor = await flavorOf(request);
    return { extra_specs: await db.flavorExtras.extraSpecs(contextOf(request), flavor.id) };
  });
  app.post('/flavors/:flavor_id/os-extra_specs', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-extra-specs:create');
    const flavor = await flavorOf(request);
    const specs = parseSpecs((request.body as { extra_specs?: unknown } | undefined)?.extra_specs);
    await db.flavorExtras.setExtraSpecs(ctx, flavor.id, specs);
    return { extra_specs: specs };
  });
  app.get('/flavors/:flavor_id/os-extra_specs/:key', async (request) => {
    const flavor = await flavorOf(request);
    const key = param(request, 'key');
    const specs = await db.flavorExtras.extraSpecs(contextOf(request), flavor.id);
    if (!(key in specs)) throw notFound(`Flavor ${flavor.flavorid} has no extra specs with key ${key}.`);
    return { [key]: specs[key] };
  });
  app.put('/flavors/:flavor_id/os-extra_specs/:key', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-extra-specs:update');
    const flavor = await flavorOf(request);
    const key = param(request, 'key');
    const specs = parseSpecs(request.body);
    if (Object.keys(specs).length !== 1 || !(key in specs)) throw badRequest('Request body and URI mismatch');
    await db.flavorExtras.setExtraSpecs(ctx, flavor.id, specs);
    return specs;
  });
  app.delete('/flavors/:flavor_id/os-extra_specs/:key', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-extra-specs:delete');
    const flavor = await flavorOf(request);
    const key = param(request, 'key');
    if (!(await db.flavorExtras.deleteExtraSpec(ctx, flavor.id, key))) throw notFound(`Flavor ${flavor.flavorid} has no extra specs with key ${key}.`);
    void reply.code(200);
    return '';
  });

  app.get('/flavors/:flavor_id/os-flavor-access', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-access');
    const flavor = await flavorOf(request);
    if (flavor.is_public) throw notFound('Access list not available for public flavors.');
    return { flavor_access: accessList(flavor, await db.flavorExtras.projects(ctx, flavor.id)) };
  });
  app.post('/flavors/:flavor_id/action', async (request) => {
    const body = (request.body ?? {}) as Record<string, { tenant?: unknown } | undefined>;
    const action = Object.keys(body)[0];
    if (action !== 'addTenantAccess' && action !== 'removeTenantAccess') throw badRequest(`There is no such action: ${String(action)}`);
    const ctx = requireAdmin(request, `os_compute_api:os-flavor-manage:${action === 'addTenantAccess' ? 'add' : 'remove'}-tenant-access`);
    const tenant = body[action]?.tenant;
    if (typeof tenant !== 'string' || tenant === '') throw badRequest(`Invalid input for field/attribute ${action}. 'tenant' is a required property`);
    const flavor = await flavorOf(request);
    if (flavor.is_public) throw conflict(`Can not ${action === 'addTenantAccess' ? 'add access to' : 'remove access from'} a public flavor.`);
    if (action === 'addTenantAccess') await db.flavorExtras.addProject(ctx, flavor.id, tenant);
    else if (!(await db.flavorExtras.removeProject(ctx, flavor.id, tenant))) throw notFound(`Flavor access not found for ${flavor.flavorid} / ${tenant} combination.`);
    return { flavor_access: accessList(flavor, await db.flavorExtras.projects(ctx, flavor.id)) };
  });
}

function accessList(flavor: FlavorRow, projects: readonly string[]): Array<{ flavor_id: string; tenant_id: string }> {
  return projects.map((tenant) => ({ flavor_id: flavor.flavorid, tenant_id: tenant }));
}

/** `{key: value}` with string keys and string (or number) values, as Nova accepts them. */
function parseSpecs(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest("Invalid input for field/attribute extra_specs. 'extra_specs' must be an object");
  const specs: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (!SPEC_KEY.test(key)) throw badRequest(`Invalid input for field/attribute extra_specs. Key '${key}' is not valid.`);
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw badRequest(`Invalid input for field/attribute ${key}. Value must be a string.`);
    if (String(raw).length > 255) throw badRequest(`Invalid input for field/attribute ${key}. Value is longer than 255 characters.`);
    specs[key] = String(raw);
  }
  return specs;
}
