/** Admin-only: /os-services (list, enable, disable) and /os-hypervisors (list, detail, show). */
import type { FastifyInstance } from 'fastify';
import { isServiceUp, type Db, type ServiceRow } from '../../../db/index.js';
import type { ServiceConfig } from '../../config.js';
import { notFound, parseBodyFault } from '../faults.js';
import { hypervisorView, serviceView } from '../views.js';
import { param, query, requireAdmin } from './context.js';

/** Registers the admin routes. */
export function adminRoutes(app: FastifyInstance, db: Db, config: ServiceConfig): void {
  const up = (service: ServiceRow | undefined) => (service ? isServiceUp(service, new Date(), config.serviceDownTime) : false);

  app.get('/os-services', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-services:list');
    const filters: { host?: string; binary?: string } = {};
    const host = query(request, 'host');
    const binary = query(request, 'binary');
    if (host) filters.host = host;
    if (binary) filters.binary = binary;
    const services = await db.services.list(ctx, filters);
    return { services: services.map((service) => serviceView(service, up(service))) };
  });

  for (const action of ['enable', 'disable'] as const) {
    app.put(`/os-services/${action}`, async (request) => {
      const ctx = requireAdmin(request, `os_compute_api:os-services:update`);
      const body = (request.body ?? {}) as { host?: unknown; binary?: unknown; disabled_reason?: unknown };
      if (typeof body.host !== 'string' || typeof body.binary !== 'string') throw parseBodyFault('host and binary are required strings.');
      const [service] = await db.services.list(ctx, { host: body.host, binary: body.binary });
      if (!service) throw notFound(`Service ${body.binary} on host ${body.host} could not be found.`);
      const reason = action === 'disable' && typeof body.disabled_reason === 'string' ? body.disabled_reason : null;
      const updated = await db.services.update(ctx, service.id, { disabled: action === 'disable', disabled_reason: reason });
      return { service: { host: updated.host, binary: updated.binary, status: updated.disabled ? 'disabled' : 'enabled', ...(reason ? { disabled_reason: reason } : {}) } };
    });
  }

  const hypervisors = async (ctxPolicy: string, detail: boolean, request: Parameters<typeof requireAdmin>[0]) => {
    const ctx = requireAdmin(request, ctxPolicy);
    const [nodes, services] = await Promise.all([db.computeNodes.list(ctx), db.services.list(ctx, { binary: 'nova-compute' })]);
    const byHost = new Map(services.map((service) => [service.host, service]));
    return nodes.map((node) => hypervisorView(node, byHost.get(node.host), up(byHost.get(node.host)), detail));
  };
  app.get('/os-hypervisors', async (request) => ({ hypervisors: await hypervisors('os_compute_api:os-hypervisors:list', false, request) }));
  app.get('/os-hypervisors/detail', async (request) => ({
    hypervisors: await hypervisors('os_compute_api:os-hypervisors:list-detail', true, request),
  }));
  app.get('/os-hypervisors/:id', async (request) => {
    const all = await hypervisors('os_compute_api:os-hypervisors:show', true, request);
    const id = param(request, 'id');
    const found = all.find((view) => String(view.id) === id);
    if (!found) throw notFound(`Hypervisor with ID '${id}' could not be found.`);
    return { hypervisor: found };
  });
}
