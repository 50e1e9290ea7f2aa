/**
 * GET /os-aggregates (admin): this cloud has no host aggregates, so the list is empty; it
 * exists because `openstack hypervisor show` lists aggregates to say which a host is in.
 */
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from './context.js';

/** Registers the aggregate list. */
export function aggregateRoutes(app: FastifyInstance): void {
  app.get('/os-aggregates', async (request) => {
    requireAdmin(request, 'os_compute_api:os-aggregates:index');
    return { aggregates: [] };
  });
}
