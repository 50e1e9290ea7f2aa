/** /servers: create, list, detail, show, update, delete, and /servers/{id}/ips. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { InstanceFilters } from '../../../db/index.js';
import { vmStatesForStatus } from '../../states.js';
import type { Db } from '../../../db/index.js';
import type { ActionDeps } from '../action-kit.js';
import type { ComputeApi } from '../compute-api.js';
import { badRequest, forbidden, notFound } from '../faults.js';
import { createServerBody, parseBody, updateServerBody } from '../schemas.js';
import { generateAdminPass } from '../action-kit.js';
import { isAtLeast } from '../microversion.js';
import { performAction } from '../server-actions.js';
import { addressesView, links, serverSummary, serverView } from '../views.js';
import { baseUrl, contextOf, param, query } from './context.js';

/** Registers the server routes; actions get what they need through `deps`. */
export function serverRoutes(app: FastifyInstance, deps: ActionDeps): void {
  const { api, db } = deps;
  app.get('/servers', async (request) => {
    const instances = await listServers(db, request);
    return { servers: instances.map((instance) => serverSummary(instance, baseUrl(request))) };
  });

  app.get('/servers/detail', async (request) => {
    const ctx = contextOf(request);
    const instances = await listServers(db, request);
    const details = await api.details(ctx, instances);
    return { servers: instances.map((instance, i) => serverView(instance, details[i]!, baseUrl(request), request.microversion)) };
  });

  app.post('/servers', async (request, reply) => {
    const ctx = contextOf(request);
    const { server } = parseBody(createServerBody, request.body);
    refuseBefore(request, '2.19', 'description', server.description);
    refuseBefore(request, '2.52', 'tags', server.tags);
    const created = await api.create(ctx, server);
    const first = created[0]!;
    const base = baseUrl(request);
    reply.code(202).header('location', `${base}/servers/${first.uuid}`);
    return {
      server: {
        id: first.uuid,
        links: links(base, 'servers', first.uuid),
        'OS-DCF:diskConfig': 'MANUAL',
        security_groups: (server.security_groups?.length ? server.security_groups : [{ name: 'default' }]).map(({ name }) => ({ name })),
        adminPass: server.adminPass ?? generateAdminPass(),
      },
    };
  });

  app.get('/servers/:id', async (request) => {
    const ctx = contextOf(request);
    const instance = await db.instances.get(ctx, param(request, 'id'));
    const [details] = await api.details(ctx, [instance]);
    return { server: serverView(instance, details!, baseUrl(request), request.microversion) };
  });

  app.put('/servers/:id', async (request) => {
    const ctx = contextOf(request);
    const { server } = parseBody(updateServerBody, request.body);
    refuseBefore(request, '2.19', 'description', server.description);
    const changes: Record<string, string | null> = {};
    if (server.description !== undefined) changes.display_description = server.description;
    if (server.name !== undefined) changes.display_name = server.name;
    if (server.accessIPv4 !== undefined) changes.access_ip_v4 = server.accessIPv4 || null;
    if (server.accessIPv6 !== undefined) changes.access_ip_v6 = server.accessIPv6 || null;
    const instance = await db.instances.update(ctx, param(request, 'id'), changes);
    const [details] = await api.details(ctx, [instance]);
    return { server: serverView(instance, details!, baseUrl(request), request.microversion) };
  });

  app.delete('/servers/:id', async (request, reply) => {
    await api.delete(contextOf(request), param(request, 'id'));
    return reply.code(204).send();
  });

  app.post('/servers/:id/action', async (request, reply) => {
    const result = await performAction(deps, contextOf(request), param(request, 'id'), request.body, baseUrl(request), request.microversion);
    for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
    reply.code(result.status);
    return result.body === undefined ? reply.send() : result.body;
  });

  app.get('/servers/:id/ips', async (request) => {
    return { addresses: await addresses(api, db, request) };
  });

  app.get('/servers/:id/ips/:network', async (request) => {
    const label = param(request, 'network');
    const all = await addresses(api, db, request);
    if (!all[label]) throw notFound(`Instance is not a member of specified network ${label}.`);
    return { [label]: all[label] };
  });
}

async function listServers(db: Db, request: FastifyRequest) {
  const ctx = contextOf(request);
  const filters: InstanceFilters = {};
  const allTenants = ['1', 'true', 'True'].includes(query(request, 'all_tenants') ?? '');
  // Admin-only filters: Nova refuses all_tenants by policy (get_all_tenants).
  if (allTenants && !ctx.isAdmin) throw forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.");
  const host = query(request, 'host');
  if (host && !ctx.isAdmin) throw forbidden("Policy doesn't allow os_compute_api:servers:index:host to be performed.");
  if (!allTenants) filters.project_id = ctx.projectId ?? '';
  const name = query(request, 'name');
  if (name) filters.name = name;
  const status = query(request, 'status');
  if (status) {
    const states = vmStatesForStatus(status);
    if (states.length === 0) return [];
    filters.vm_state = states;
  }
  if (host) filters.host = host;
  const limit = query(request, 'limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit)) throw badRequest('limit must be a non-negative integer.');
    filters.limit = Number(limit);
  }
  const marker = query(request, 'marker');
  if (marker) filters.marker = marker;
  try {
    return await db.instances.list(ctx, filters);
  } catch (error) {
    if (marker && (error as { code?: string }).code === 'MarkerNotFound') throw badRequest(`marker [${marker}] not found`);
    throw error;
  }
}

async function addresses(api: ComputeApi, db: Db, request: FastifyRequest): Promise<Record<string, unknown[]>> {
  const ctx = contextOf(request);
  const instance = await db.instances.get(ctx, param(request, 'id'));
  const [details] = await api.details(ctx, [instance]);
  return addressesView(details!.ips, details!.networkLabels, details!.floatingIps);
}

/** A field that only exists from `version` on is refused before it, as Nova's schemas do. */
function refuseBefore(request: FastifyRequest, version: string, field: string, value: unknown): void {
  if (value !== undefined && !isAtLeast(request.microversion, version)) {
    throw badRequest(`Invalid input for field/attribute server. Additional properties are not allowed ('${field}' was unexpected)`);
  }
}
